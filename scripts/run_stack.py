"""`make run`: start the Upwatch stack on loopback and keep it running until Ctrl-C.

Data lives under var/ (UPWATCH_DATA_DIR) and is kept between runs.
"""

from __future__ import annotations

import os
import secrets
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
EXPORTER_PORT = int(os.environ.get("UPWATCH_EXPORTER_PORT", 9115))
PROMETHEUS_PORT = int(os.environ.get("UPWATCH_PROMETHEUS_PORT", 9090))
ALERTMANAGER_PORT = int(os.environ.get("UPWATCH_ALERTMANAGER_PORT", 9093))
ADMIN_PORT = int(os.environ.get("UPWATCH_ADMIN_PORT", 8000))
SMTP_PORT = int(os.environ.get("UPWATCH_SMTP_CATCHER_PORT", 2525))
DEMO_PORT = int(os.environ.get("UPWATCH_DEMO_PORT", 8081))
DEMO_CONTACT = {
    "name": "Demo on-call",
    "email": "oncall@example.com",
    "phone": "+442079460958",  # a number Ofcom keeps for drama: never a real person
    "wants_email": True,
    "wants_sms": True,
}
VENV_BIN = Path(sys.executable).parent


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


def env() -> dict[str, str]:
    """The environment every part runs with: loopback URLs, data under var/, and a
    webhook token made once and kept (never printed)."""
    token_file = DATA / "webhook_token"
    if not token_file.exists():
        token_file.write_text(secrets.token_urlsafe(32))
        token_file.chmod(0o600)
    # gunicorn runs two workers: the admin app's /metrics sums their counters
    # through prometheus_client's multiprocess directory, emptied at each start
    metrics_dir = DATA / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    return {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "UPWATCH_DATA_DIR": str(DATA),
        "UPWATCH_SITES_FILE": str(DATA / "sites.yml"),
        "UPWATCH_ALERTMANAGER_CONFIG": str(DATA / "alertmanager.yml"),
        "UPWATCH_EXPORTER_URL": f"http://127.0.0.1:{EXPORTER_PORT}",
        "UPWATCH_PROMETHEUS_URL": f"http://127.0.0.1:{PROMETHEUS_PORT}",
        "UPWATCH_ALERTMANAGER_URL": f"http://127.0.0.1:{ALERTMANAGER_PORT}",
        "UPWATCH_ADMIN_URL": f"http://127.0.0.1:{ADMIN_PORT}",
        "UPWATCH_WEBHOOK_TOKEN": os.environ.get("UPWATCH_WEBHOOK_TOKEN")
        or token_file.read_text().strip(),
        # emails go to the local catcher (var/mail/), SMS to the admin app's log
        "UPWATCH_SMTP_HOST": os.environ.get("UPWATCH_SMTP_HOST", "127.0.0.1"),
        "UPWATCH_SMTP_PORT": os.environ.get("UPWATCH_SMTP_PORT", str(SMTP_PORT)),
        "UPWATCH_SMTP_FROM": os.environ.get("UPWATCH_SMTP_FROM", "upwatch@example.com"),
        "UPWATCH_SMTP_REQUIRE_TLS": os.environ.get("UPWATCH_SMTP_REQUIRE_TLS", "false"),
        "UPWATCH_SMS_PROVIDER": os.environ.get("UPWATCH_SMS_PROVIDER", "console"),
    }


def admin(*args: str, environ: dict[str, str], check: bool = True) -> str:
    proc = subprocess.run(
        [str(VENV_BIN / "upwatch-admin"), *args],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"upwatch-admin {args[0]} failed: {proc.stderr.strip() or proc.stdout}")
    return proc.stdout


def prepare(environ: dict[str, str]) -> str:
    """Database, first admin, example sites, generated configs. Returns the login line."""
    say("  preparing the database")
    admin("init-db", environ=environ)
    marker = DATA / ".first-admin-created"
    if marker.exists():
        login = (
            "admin (password shown on the first run; change it on the Account page, or set "
            "UPWATCH_ADMIN_PASSWORD and delete var/.first-admin-created)"
        )
    else:
        password = os.environ.get("UPWATCH_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        out = admin(
            "create-user", "admin", "--role", "admin", "--password", password,
            environ=environ, check=False,
        )  # fmt: skip
        if "created user" not in out:
            say("  (user admin already exists: keeping its password)")
        marker.write_text("")
        say("  importing the example sites (examples/sites.yml)")
        examples = (ROOT / "examples/sites.yml").read_text()
        examples = examples.replace("127.0.0.1:9115", f"127.0.0.1:{EXPORTER_PORT}")
        examples = examples.replace("127.0.0.1:9090", f"127.0.0.1:{PROMETHEUS_PORT}")
        examples = examples.replace("127.0.0.1:8081", f"127.0.0.1:{DEMO_PORT}")
        (DATA / "example-sites.yml").write_text(examples)
        admin("import-sites", str(DATA / "example-sites.yml"), environ=environ)
        login = f"admin / {password}   (shown once; change it on the Account page)"
        (DATA / ".demo-contact-pending").write_text(password)
    say("  generating sites.yml and alertmanager.yml")
    admin("regen-config", environ=environ, check=False)
    return login


def prometheus_config() -> Path:
    """prometheus/prometheus.yml with the ports this run uses."""
    text = (ROOT / "prometheus/prometheus.yml").read_text()
    text = text.replace("127.0.0.1:9115", f"127.0.0.1:{EXPORTER_PORT}")
    text = text.replace("127.0.0.1:9090", f"127.0.0.1:{PROMETHEUS_PORT}")
    text = text.replace("127.0.0.1:9093", f"127.0.0.1:{ALERTMANAGER_PORT}")
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{ADMIN_PORT}")
    # rule_files are relative to the config file: point the copy at the repo's rules
    text = text.replace("  - rules/*.yml", f"  - {ROOT / 'prometheus/rules'}/*.yml")
    path = DATA / "prometheus.yml"
    path.write_text(text)
    return path


def add_demo_contact() -> None:
    """On the first run, put an on-call contact (email and SMS) on the demo site, so
    that its outages page someone: emails land in var/mail/, SMS in the admin log."""
    pending = DATA / ".demo-contact-pending"
    if not pending.exists():
        return
    base = f"http://127.0.0.1:{ADMIN_PORT}/api/v1"
    creds = {"username": "admin", "password": pending.read_text()}
    token = httpx.post(f"{base}/auth/token", json=creds, timeout=10).json()["access_token"]
    r = httpx.post(
        f"{base}/sites/demo/contacts",
        json={"contact": DEMO_CONTACT},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    if r.status_code >= 400:
        say(f"  (could not add the demo contact: {r.status_code} {r.text[:200]})")
    pending.unlink()


def services() -> list[Service]:
    sites = DATA / "sites.yml"
    exporter = [sys.executable, "-m", "exporter", "--config", str(sites)]
    return [
        Service(
            "demo site",
            [
                sys.executable,
                str(ROOT / "scripts/dev_services.py"),
                "--smtp-port",
                str(SMTP_PORT),
                "--demo-port",
                str(DEMO_PORT),
                "--mail-dir",
                str(DATA / "mail"),
            ],
            f"http://127.0.0.1:{DEMO_PORT}/state",
            f"http://127.0.0.1:{DEMO_PORT}/  (down 2 minutes in every 6: watch it page)",
            DEMO_PORT,
        ),
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
                f"--config.file={prometheus_config()}",
                f"--storage.tsdb.path={DATA / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                f"--web.external-url=http://127.0.0.1:{PROMETHEUS_PORT}/",
                "--web.enable-lifecycle",
            ],
            f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready",
            f"http://127.0.0.1:{PROMETHEUS_PORT}/graph?g0.expr=upwatch_site_up",
            PROMETHEUS_PORT,
        ),
        Service(
            "alertmanager",
            [
                find("prometheus-alertmanager"),
                f"--config.file={DATA / 'alertmanager.yml'}",
                f"--storage.path={DATA / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{ALERTMANAGER_PORT}",
                f"--web.external-url=http://127.0.0.1:{ALERTMANAGER_PORT}/",
                "--cluster.listen-address=",
            ],
            f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/ready",
            f"http://127.0.0.1:{ALERTMANAGER_PORT}/",
            ALERTMANAGER_PORT,
        ),
        Service(
            "admin app",
            [
                str(VENV_BIN / "gunicorn"),
                "admin_app.wsgi:app",
                "--bind",
                f"127.0.0.1:{ADMIN_PORT}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            f"http://127.0.0.1:{ADMIN_PORT}/healthz",
            f"http://127.0.0.1:{ADMIN_PORT}/",
            ADMIN_PORT,
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
    environ = env()
    try:
        login = prepare(environ)
        for svc in svcs:
            log = open(DATA / "logs" / f"{svc.name.replace(' ', '-')}.log", "a")  # noqa: SIM115
            say(f"  starting {svc.name} ...")
            svc.proc = subprocess.Popen(
                svc.args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=environ
            )
            started.append(svc)
            wait_healthy(svc)
            say(f"  {svc.name} is up")
        add_demo_contact()
        admin("regen-config", environ=environ, check=False)  # reloads now that all listen
        say("")
        say("Upwatch is running:")
        for svc in svcs:
            say(f"  {svc.name:<13} {svc.url}")
        say(f"  login         {login}")
        say(f"  site list     {DATA / 'sites.yml'} (generated by the admin app)")
        say(f"  probe now     http://127.0.0.1:{EXPORTER_PORT}/probe?site=prometheus")
        say(f"  emails        {DATA / 'mail'} (the SMTP catcher keeps each as a .eml file)")
        say(f"  SMS           {DATA / 'logs' / 'admin-app.log'} (console provider)")
        say(f"  logs          {DATA / 'logs'}")
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
