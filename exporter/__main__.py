"""``upwatch-exporter``: probe the sites of a site list and export the results.

upwatch-exporter --config sites.yml --listen 127.0.0.1:9115 [--shard I/N] [--location NAME]
upwatch-exporter --check-config sites.yml
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import sys

from exporter import config, logs
from exporter.config import ConfigError
from exporter.logs import log
from exporter.shard import parse_shard, shard_of
from exporter.sinks import influx as influx_sink


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT, such as 127.0.0.1:9115")
    return host.strip("[]") or "127.0.0.1", int(port)


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _location(text: str) -> str:
    try:
        return config.check_location(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (--location or UPWATCH_LOCATION)") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="upwatch-exporter",
        description="Probe the sites of a site list and export the results for Prometheus.",
    )
    p.add_argument("--config", metavar="FILE", help="the site list (sites.yml)")
    p.add_argument(
        "--check-config", metavar="FILE", help="validate FILE, print any errors and exit"
    )
    p.add_argument(
        "--listen", type=_listen, default=("127.0.0.1", 9115), metavar="HOST:PORT",
        help="address to serve /metrics on (default 127.0.0.1:9115)",
    )  # fmt: skip
    p.add_argument(
        "--shard", type=_shard, default=(1, 1), metavar="I/N",
        help="probe only shard I of N (1..N) of the sites, by a hash of their id",
    )  # fmt: skip
    p.add_argument(
        "--location", type=_location, default=os.environ.get("UPWATCH_LOCATION") or None,
        metavar="NAME",
        help="where this exporter probes from (e.g. eu): a location label on every "
        "per-site series, for the quorum of SiteDown (default: $UPWATCH_LOCATION, else none)",
    )  # fmt: skip
    p.add_argument(
        "--max-concurrency", type=int, default=1000, metavar="N",
        help="most probes in flight at once (default 1000)",
    )  # fmt: skip
    p.add_argument(
        "--watch-interval", type=float, default=1.0, metavar="SECONDS",
        help="how often to look for changes to the site list file (default 1)",
    )  # fmt: skip
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    influx_sink.add_options(p)
    return p


def check_config(path: str, shard: tuple[int, int]) -> int:
    try:
        site_list = config.load_file(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    n = len(site_list.sites)
    msg = f"{path}: OK, {n} site{'s' if n != 1 else ''}"
    if shard[1] > 1:
        mine = sum(1 for s in site_list.sites if shard_of(s.id, shard[1]) == shard[0])
        msg += f" ({mine} in shard {shard[0]}/{shard[1]})"
    print(msg)
    return 0


def _raise_nofile_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    del soft


async def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from exporter.app import Exporter
    from exporter.server import make_app

    exporter = Exporter(
        args.config,
        shard=args.shard,
        max_concurrency=args.max_concurrency,
        watch_interval=args.watch_interval,
        location=args.location,
    )
    try:
        exporter.load_initial()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    runner = web.AppRunner(make_app(exporter), access_log=None)
    await runner.setup()
    host, port = args.listen
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked
    except OSError as exc:
        print(f"upwatch-exporter: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        await runner.cleanup()
        return 1
    sink = None
    if args.influx is not None:  # --influx-url: raw probe results to an InfluxDB v2 API
        sink = influx_sink.InfluxSink(args.influx, exporter.metrics.registry)
        sink.start()
        exporter.sink = sink
    await exporter.start()
    log(
        "started",
        listen=f"{host}:{port}",
        config=args.config,
        sites=len(exporter.sites),
        shard=f"{args.shard[0]}/{args.shard[1]}",
        location=args.location or "-",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    pending: set[asyncio.Task] = set()

    def _hup() -> None:
        task = loop.create_task(exporter.reload("sighup"))
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGHUP, _hup)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log("stopping")
    await exporter.stop()
    if sink is not None:  # send what is queued, for a bounded time
        await asyncio.to_thread(sink.close, influx_sink.CLOSE_TIMEOUT)
    await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level)
    if args.check_config:
        return check_config(args.check_config, args.shard)
    if not args.config:
        build_parser().error("--config FILE is required (or --check-config FILE)")
    if args.max_concurrency < 1:
        build_parser().error("--max-concurrency must be at least 1")
    try:
        args.influx = influx_sink.settings_from_args(args, os.environ)
    except ValueError as exc:
        build_parser().error(str(exc))
    _raise_nofile_limit()
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
