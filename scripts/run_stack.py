"""`make run`: start the Upwatch stack on loopback and keep it running until Ctrl-C.

Data lives under var/ (UPWATCH_DATA_DIR) and is kept between runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UPWATCH_DATA_DIR", ROOT / "var")).resolve()
EXPORTER_PORT = 9115
PROMETHEUS_PORT = 9090


@dataclass
class Service:
    name: str
    args: list[str]
    health: str
    url: str
    port: int
    proc: subprocess.Popen | None = None


def say(msg: str) -> None:
    print(msg, flush=True)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def find(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if not path:
        sys.exit(f"make run: {binary} is not installed (make run installs it with apt-get)")
    return path


def services() -> list[Service]:
    sites = DATA / "sites.yml"
    if not sites.exists():
        shutil.copy(ROOT / "examples/sites.yml", sites)
        say(f"  created {sites} from examples/sites.yml")
    exporter = [sys.executable, "-m", "exporter", "--config", str(sites)]
    return [
        Service(
            "exporter",
            [*exporter, "--listen", f"127.0.0.1:{EXPORTER_PORT}"],
            f"http://127.0.0.1:{EXPORTER_PORT}/healthz",
            f"http://127.0.0.1:{EXPORTER_PORT}/metrics",
            EXPORTER_PORT,
        ),
        Service(
            "prometheus",
            [
                find("prometheus"),
                f"--config.file={ROOT / 'prometheus/prometheus.yml'}",
                f"--storage.tsdb.path={DATA / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                "--web.enable-lifecycle",
            ],
            f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready",
            f"http://127.0.0.1:{PROMETHEUS_PORT}/graph?g0.expr=upwatch_site_up",
            PROMETHEUS_PORT,
        ),
    ]


def wait_healthy(svc: Service, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            raise RuntimeError(f"{svc.name} exited with code {svc.proc.returncode}")
        try:
            if httpx.get(svc.health, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{svc.name} did not become healthy within {timeout:.0f}s")


def stop(svcs: list[Service]) -> None:
    for svc in reversed(svcs):
        if svc.proc and svc.proc.poll() is None:
            svc.proc.terminate()
    for svc in svcs:
        if svc.proc:
            try:
                svc.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                svc.proc.kill()


def main() -> int:
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "logs").mkdir(exist_ok=True)
    say(f"==> Upwatch: starting on loopback (data in {DATA})")
    svcs = services()
    busy = [s for s in svcs if port_in_use(s.port)]
    if busy:
        names = ", ".join(f"{s.name} (port {s.port})" for s in busy)
        say(f"make run: ports already in use: {names}. Is the stack already running?")
        return 1
    started: list[Service] = []
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for svc in svcs:
            log = open(DATA / "logs" / f"{svc.name}.log", "a")  # noqa: SIM115 - lives with the child
            say(f"  starting {svc.name} ... (log: var/logs/{svc.name}.log)")
            svc.proc = subprocess.Popen(svc.args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            started.append(svc)
            wait_healthy(svc)
            say(f"  {svc.name} is up")
        say("")
        say("Upwatch is running:")
        for svc in svcs:
            say(f"  {svc.name:<11} {svc.url}")
        say(f"  site list   {DATA / 'sites.yml'} (edit it: the exporter reloads within a second)")
        say(f"  probe now   http://127.0.0.1:{EXPORTER_PORT}/probe?site=prometheus")
        say("Press Ctrl-C to stop.")
        while True:
            for svc in svcs:
                if svc.proc.poll() is not None:
                    say(f"make run: {svc.name} exited with code {svc.proc.returncode}; stopping")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        say("\n==> stopping")
        return 0
    except RuntimeError as exc:
        say(f"make run: {exc}; see {DATA / 'logs'}")
        return 1
    finally:
        stop(started)


if __name__ == "__main__":
    sys.exit(main())
