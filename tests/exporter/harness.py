"""Run a real exporter (in this event loop, HTTP on a free loopback port) for tests."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiohttp import web

from exporter.app import Exporter
from exporter.server import make_app


def closed_port() -> int:
    """A loopback port on which nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def tcp_listener() -> AsyncIterator[int]:
    """A TCP port that accepts connections (and closes them)."""

    async def handle(_reader, writer):
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def running_exporter(
    config_path: Path, **kwargs
) -> AsyncIterator[tuple[Exporter, httpx.AsyncClient]]:
    kwargs.setdefault("watch_interval", 0.1)
    exporter = Exporter(config_path, **kwargs)
    exporter.load_initial()
    runner = web.AppRunner(make_app(exporter))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    await exporter.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield exporter, client
    finally:
        await exporter.stop()
        await runner.cleanup()


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)


def sample(metrics_text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a text exposition, or None if absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{want}}} " if labels else f"{name} "
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
        if (
            labels
            and line.startswith(f"{name}{{")
            and all(f'{k}="{v}"' in line.split("}")[0] for k, v in labels.items())
        ):
            return float(line.rsplit(" ", 1)[1])
    return None
