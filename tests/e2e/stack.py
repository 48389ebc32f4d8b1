"""The whole Upwatch alert path on loopback, for end-to-end tests and the latency
benchmark: real binaries, fakes only for the outside world.

    with Stack(tmp_path) as stack:               # FAST timing: 1 s everywhere
        site = stack.add_site("shop", contacts=[Contact("Ann", email="ann@example.com")])
        stack.wait_monitored(site)
        t = stack.down(site)                     # the target answers 503 from now on
        stack.smtp.wait_for(lambda m: m.subject.startswith("[DOWN]"))

What runs, each on a free loopback port, with every file under one work directory:

* ``target``: a :class:`~tests.badsite.BadSite`; each site probes its own
  ``/switch/<slug>``, which :meth:`Stack.down`/:meth:`Stack.up` flip.
* ``smtp``: an :class:`~tests.e2e.smtp_catcher.SmtpCatcher` (aiosmtpd, in a thread).
* ``twilio``: a :class:`~tests.e2e.fake_twilio.FakeTwilio` (the SMS provider's API).
* ``admin``: the admin app under gunicorn (2 workers), its database made with
  ``upwatch-admin init-db``/``create-user``, and configured through its own API:
  ``PATCH /api/v1/settings`` for SMTP and the SMS provider, ``POST /api/v1/sites``
  for the sites and their contacts. Its config generation writes ``sites.yml`` and
  ``alertmanager.yml`` and reloads the two services below.
* ``exporter``: ``python -m exporter`` on the generated ``sites.yml``.
* ``prometheus``: Debian's ``prometheus`` with the shipped ``prometheus/rules/*.yml``
  and a config made from the shipped ``prometheus/prometheus.yml``: the ports of
  this stack and, with FAST timing, 1 s scrape and evaluation intervals.
* ``alertmanager``: Debian's ``prometheus-alertmanager`` on the generated
  ``alertmanager.yml``. With FAST timing the admin app generates it from a copy of
  the shipped ``alertmanager/base.yml`` with short ``group_wait``/``group_interval``
  (``UPWATCH_ALERTMANAGER_BASE_CONFIG``, which config generation reads).

:data:`SHIPPED` timing keeps every shipped interval (scrape, evaluation,
group_wait, group_interval, Prometheus' resend delay) and the default probe
interval and confirmations: what a user gets out of the box.

Everything started is stopped on exit, also when the start fails half way.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.badsite import BadSite
from tests.e2e.fake_twilio import FakeTwilio
from tests.e2e.smtp_catcher import SmtpCatcher
from tests.servers import binary, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ADMIN_USER = "e2e-admin"
SMTP_FROM = "upwatch@example.com"

# The ports of the shipped configuration files (prometheus/prometheus.yml), replaced
# by this stack's.
SHIPPED_PORTS = {"exporter": 9115, "prometheus": 9090, "alertmanager": 9093, "admin": 8000}


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    """The intervals of the alert path; ``None`` keeps what is shipped."""

    # Prometheus (prometheus.yml: global and every scrape job)
    scrape_interval: str | None = "1s"
    evaluation_interval: str | None = "1s"
    # Prometheus --rules.alert.resend-delay (how often a firing alert is re-sent to
    # Alertmanager; shipped: Prometheus' default, 1m)
    resend_delay: str | None = "1s"
    # Alertmanager (the base config's top route)
    group_wait: str | None = "1s"
    group_interval: str | None = "1s"
    # The sites this stack adds (None: the admin app's defaults, 30 s and 2)
    site_interval: str | None = "1s"
    confirmations: int | None = 2
    # The `for` of UpwatchExporterDown (shipped: 1m, four failed scrapes at 15 s;
    # here the same four at 1 s, with a margin). promtool tests cover the shipped one.
    exporter_down_for: str | None = "5s"

    @property
    def shipped_alertmanager(self) -> bool:
        return self.group_wait is None and self.group_interval is None

    def probe_interval_seconds(self) -> float:
        return parse_duration(self.site_interval) if self.site_interval else 30.0


FAST = Timing()
SHIPPED = Timing(None, None, None, None, None, None, None, None)


def parse_duration(text: str) -> float:
    """Prometheus-style ``1m30s``/``500ms``/``2s`` -> seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


# --------------------------------------------------------------------------- configs


def _replace_ports(text: str, ports: dict[str, int]) -> str:
    for name, shipped in SHIPPED_PORTS.items():
        text = re.sub(
            rf"\b(?:127\.0\.0\.1|localhost):{shipped}\b", f"127.0.0.1:{ports[name]}", text
        )
    return text


def timed_rules(timing: Timing, out_dir: Path) -> list[str]:
    """The shipped rule files, with the `for` of UpwatchExporterDown from ``timing``
    when it sets one: copies in ``out_dir``; else the shipped files themselves."""
    shipped = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
    if not timing.exporter_down_for:
        return [str(p) for p in shipped]
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in shipped:
        rules = yaml.safe_load(path.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == "UpwatchExporterDown":
                    rule["for"] = timing.exporter_down_for
        (out_dir / path.name).write_text(yaml.safe_dump(rules, sort_keys=False))
    return [str(out_dir / "*.yml")]


def prometheus_config(
    ports: dict[str, int],
    timing: Timing,
    exporters: Sequence[str] = (),
    alertmanagers: Sequence[str] = (),
    rule_files: Sequence[str] = (),
) -> dict[str, Any]:
    """The shipped prometheus/prometheus.yml with this stack's ports, absolute rule
    paths and (unless shipped) the short scrape and evaluation intervals.

    ``exporters``/``alertmanagers`` (``host:port``), when given, replace the one
    shipped target of the exporter job, of the Alertmanager job and of ``alerting``:
    Prometheus scrapes every exporter (shards, locations) and sends each alert to
    every Alertmanager of a cluster."""
    shipped = ROOT / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(_replace_ports(shipped.read_text(), ports)) or {}
    jobs = {job["job_name"]: job for job in config.get("scrape_configs") or []}
    if exporters:
        jobs["upwatch-exporter"]["static_configs"] = [{"targets": list(exporters)}]
    if alertmanagers:
        jobs["alertmanager"]["static_configs"] = [{"targets": list(alertmanagers)}]
        config["alerting"]["alertmanagers"] = [
            {"static_configs": [{"targets": list(alertmanagers)}]}
        ]
    config["rule_files"] = list(rule_files) or [
        p if os.path.isabs(p) else str(shipped.parent / p) for p in config.get("rule_files") or []
    ]
    glob = config.setdefault("global", {})
    if timing.evaluation_interval:
        glob["evaluation_interval"] = timing.evaluation_interval
    if timing.scrape_interval:
        interval = parse_duration(timing.scrape_interval)
        for scope in [glob, *(config.get("scrape_configs") or [])]:
            if scope is glob or "scrape_interval" in scope:
                scope["scrape_interval"] = timing.scrape_interval
            timeout = scope.get("scrape_timeout")
            if timeout is not None and parse_duration(str(timeout)) > interval:
                scope["scrape_timeout"] = timing.scrape_interval
        if "scrape_timeout" not in glob or parse_duration(str(glob["scrape_timeout"])) > interval:
            glob["scrape_timeout"] = timing.scrape_interval
    return config


def alertmanager_base(timing: Timing) -> dict[str, Any]:
    """The shipped alertmanager/base.yml with the short grouping timers of ``timing``
    (on the top route and on every sub-route that sets its own) and absolute template
    paths (the copy is written elsewhere)."""
    shipped = ROOT / "alertmanager" / "base.yml"
    base = yaml.safe_load(shipped.read_text())
    base["templates"] = [
        p if os.path.isabs(p) else str(shipped.parent / p) for p in base.get("templates") or []
    ]

    def shorten(route: dict[str, Any], top: bool) -> None:
        for key in ("group_wait", "group_interval"):
            value = getattr(timing, key)
            if value and (top or key in route):
                route[key] = value
        for child in route.get("routes") or []:
            shorten(child, False)

    shorten(base["route"], True)
    return base


# --------------------------------------------------------------------------- processes


class Service:
    """A subprocess that can be stopped and started again with the same arguments,
    its output appended to one log file."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        health_url: str,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.health_url = health_url
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True, timeout: float = 60.0) -> Service:
        with open(self.log_path, "a") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} {' '.join(self.args)}\n")
            log.flush()
            self.proc = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,  # a Ctrl-C of the test run reaches us, not it
            )
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise AssertionError(f"{self.name} exited ({code}):\n{self.log_tail()}")
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} not healthy within {timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a clean stop: Alertmanager snapshots its notification log), then
        SIGKILL after ``timeout``."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL: no clean shutdown (a crash, a lost machine)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class Contact:
    """A person to tell; ``email``/``phone`` say how (both: email and SMS)."""

    name: str
    email: str | None = None
    phone: str | None = None

    def api_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "wants_email": self.email is not None,
            "wants_sms": self.phone is not None,
        }


@dataclass(frozen=True)
class Site:
    slug: str
    name: str
    url: str
    contacts: tuple[Contact, ...] = ()
    maintenance: bool = False
    interval_seconds: float = 30.0

    @property
    def switch(self) -> str:
        return self.slug


# --------------------------------------------------------------------------- topology


@dataclass(frozen=True)
class ExporterSpec:
    """One exporter of the stack: ``shard`` ("2/3": ``--shard 2/3``) and ``location``
    (``--location eu``); every exporter reads the same generated ``sites.yml``."""

    shard: str | None = None
    location: str | None = None

    def args(self) -> list[str]:
        out = []
        if self.shard:
            out += ["--shard", self.shard]
        if self.location:
            out += ["--location", self.location]
        return out

    @property
    def name(self) -> str:
        parts = ["exporter"]
        if self.location:
            parts.append(self.location)
        if self.shard:
            parts.append("shard" + self.shard.replace("/", "of"))
        return "-".join(parts)


# --------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """The running stack; see the module docstring. Use it as a context manager."""

    workdir: Path
    timing: Timing = FAST
    # Extra environment for the admin app (e.g. provider settings only read from env).
    admin_env: dict[str, str] = field(default_factory=dict)
    # The exporters (one unsharded by default): shards, locations, or both.
    exporter_specs: Sequence[ExporterSpec] = (ExporterSpec(),)
    # How many Alertmanagers: more than one are peered into a cluster
    # (--cluster.peer), and Prometheus sends every alert to each of them.
    alertmanager_count: int = 1
    # A cluster member waits (its position) x peer_timeout before it sends a
    # notification that an earlier member may already have sent (Alertmanager's
    # default is 15s).
    alertmanager_peer_timeout: str = "2s"

    target: BadSite = field(init=False)
    smtp: SmtpCatcher = field(init=False)
    twilio: FakeTwilio = field(init=False)
    ports: dict[str, int] = field(init=False)
    webhook_token: str = field(init=False)
    admin_password: str = field(init=False)
    exporter: Service = field(init=False)  # exporters[0]
    exporters: list[Service] = field(init=False, default_factory=list)
    prometheus: Service = field(init=False)
    alertmanager: Service = field(init=False)  # alertmanagers[0]
    alertmanagers: list[Service] = field(init=False, default_factory=list)
    exporter_ports: list[int] = field(init=False, default_factory=list)
    alertmanager_ports: list[int] = field(init=False, default_factory=list)
    admin: Service = field(init=False)
    sites: dict[str, Site] = field(init=False, default_factory=dict)
    _exit: ExitStack = field(init=False, default_factory=ExitStack)
    _token: str | None = field(init=False, default=None)

    # ----------------------------------------------------------------- URLs

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def admin_url(self) -> str:
        return self.url("admin")

    @property
    def prometheus_url(self) -> str:
        return self.url("prometheus")

    @property
    def alertmanager_url(self) -> str:
        return self.url("alertmanager")

    @property
    def exporter_url(self) -> str:
        return self.url("exporter")

    @property
    def exporter_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.exporter_ports]

    @property
    def alertmanager_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.alertmanager_ports]

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._exit.close()

    def start(self) -> None:
        work = self.workdir
        for sub in ("admin", "alertmanager", "prometheus", "logs"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        self.target = self._exit.enter_context(BadSite())
        self.smtp = self._exit.enter_context(SmtpCatcher())
        self.twilio = self._exit.enter_context(FakeTwilio())
        assert self.exporter_specs and self.alertmanager_count >= 1
        self.ports = {name: free_port() for name in SHIPPED_PORTS}
        self.exporter_ports = [self.ports["exporter"]]
        self.exporter_ports += [free_port() for _ in self.exporter_specs[1:]]
        self.alertmanager_ports = [self.ports["alertmanager"]]
        self.alertmanager_ports += [free_port() for _ in range(self.alertmanager_count - 1)]
        self.webhook_token = secrets.token_urlsafe(24)
        self.admin_password = secrets.token_urlsafe(16)

        env = self._admin_environment()
        self._admin_cli("init-db", env=env)
        self._admin_cli(
            "create-user", ADMIN_USER, "--role", "admin", "--password", self.admin_password,
            env=env,
        )  # fmt: skip
        # Writes sites.yml (no sites yet) and alertmanager.yml for the services to
        # start on; the reloads fail, nothing listens yet.
        self._admin_cli("regen-config", env=env, check=False)

        logs = work / "logs"
        self.exporters = [
            Service(
                spec.name if len(self.exporter_specs) > 1 else "exporter",
                [
                    sys.executable,
                    "-m",
                    "exporter",
                    "--config",
                    str(work / "admin" / "sites.yml"),
                    "--listen",
                    f"127.0.0.1:{port}",
                    *spec.args(),
                ],
                f"http://127.0.0.1:{port}/healthz",
                logs / f"{spec.name}-{port}.log",
            )
            for spec, port in zip(self.exporter_specs, self.exporter_ports, strict=True)
        ]
        self.exporter = self.exporters[0]
        prom_cfg = work / "prometheus" / "prometheus.yml"
        prom_cfg.write_text(
            yaml.safe_dump(
                prometheus_config(
                    self.ports,
                    self.timing,
                    [f"127.0.0.1:{port}" for port in self.exporter_ports],
                    [f"127.0.0.1:{port}" for port in self.alertmanager_ports],
                    timed_rules(self.timing, work / "prometheus" / "rules"),
                )
            )
        )
        prom_args = [
            binary("prometheus"),
            f"--config.file={prom_cfg}",
            f"--storage.tsdb.path={work / 'prometheus' / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.ports['prometheus']}",
            "--web.enable-lifecycle",
        ]
        if self.timing.resend_delay:
            prom_args.append(f"--rules.alert.resend-delay={self.timing.resend_delay}")
        self.prometheus = Service(
            "prometheus", prom_args, f"{self.prometheus_url}/-/ready", logs / "prometheus.log"
        )
        self.alertmanagers = self._alertmanager_services(logs)
        self.alertmanager = self.alertmanagers[0]
        self.admin = Service(
            "admin",
            [str(VENV_BIN / "gunicorn"), "admin_app.wsgi:app",
             "--bind", f"127.0.0.1:{self.ports['admin']}",
             "--workers", "2", "--threads", "4", "--graceful-timeout", "5",
             "--access-logfile", "-"],
            f"{self.admin_url}/healthz",
            logs / "admin.log",
            env,
        )  # fmt: skip
        services = [*self.exporters, self.prometheus, *self.alertmanagers, self.admin]
        for svc in services:
            self._exit.callback(svc.stop)
            svc.start(wait=False)
        for svc in services:
            svc.wait_healthy()
        self.configure_notifications()

    def _alertmanager_services(self, logs: Path) -> list[Service]:
        """One Alertmanager, or a cluster: each member listens for gossip on its own
        port and names every other member with --cluster.peer."""
        work = self.workdir
        clustered = self.alertmanager_count > 1
        gossip = [free_port() for _ in self.alertmanager_ports] if clustered else []
        services = []
        for i, port in enumerate(self.alertmanager_ports):
            name = f"alertmanager-{i + 1}" if clustered else "alertmanager"
            args = [
                binary("prometheus-alertmanager"),
                f"--config.file={work / 'alertmanager' / 'alertmanager.yml'}",
                f"--storage.path={work / 'alertmanager' / f'data-{i + 1}'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=debug",
            ]
            if clustered:
                args += [
                    f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
                    f"--cluster.advertise-address=127.0.0.1:{gossip[i]}",
                    f"--cluster.peer-timeout={self.alertmanager_peer_timeout}",
                    *(f"--cluster.peer=127.0.0.1:{p}" for j, p in enumerate(gossip) if j != i),
                ]
            else:
                args.append("--cluster.listen-address=")
            services.append(
                Service(name, args, f"http://127.0.0.1:{port}/-/ready", logs / f"{name}.log")
            )
        return services

    def _admin_environment(self) -> dict[str, str]:
        work = self.workdir
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPWATCH_")}
        env.update(
            UPWATCH_DATA_DIR=str(work / "admin"),
            UPWATCH_SECRET_KEY=secrets.token_urlsafe(32),
            UPWATCH_SITES_FILE=str(work / "admin" / "sites.yml"),
            UPWATCH_ALERTMANAGER_CONFIG=str(work / "alertmanager" / "alertmanager.yml"),
            # every exporter and every Alertmanager: config generation reloads each
            UPWATCH_EXPORTER_URL=",".join(self.exporter_urls),
            UPWATCH_PROMETHEUS_URL=self.prometheus_url,
            UPWATCH_ALERTMANAGER_URL=",".join(self.alertmanager_urls),
            UPWATCH_ADMIN_URL=self.admin_url,
            UPWATCH_WEBHOOK_TOKEN=self.webhook_token,
        )
        # gunicorn runs two workers: their counters are summed through files here
        metrics_dir = work / "admin" / "metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        if not self.timing.shipped_alertmanager:
            base = work / "alertmanager" / "base.yml"
            base.write_text(yaml.safe_dump(alertmanager_base(self.timing), sort_keys=False))
            env["UPWATCH_ALERTMANAGER_BASE_CONFIG"] = str(base)
        env.update(self.admin_env)
        return env

    def _admin_cli(self, *args: str, env: dict[str, str], check: bool = True) -> str:
        proc = subprocess.run(
            [str(VENV_BIN / "upwatch-admin"), *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"upwatch-admin {args[0]} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    # ----------------------------------------------------------------- admin API

    def api(self, method: str, path: str, expect: int | Iterable[int] = (200, 201, 204), **kw):
        """A request to the admin app's JSON API as the stack's admin user; asserts
        the status (``expect``) and returns the decoded JSON (None when empty)."""
        if self._token is None:
            r = httpx.post(
                f"{self.admin_url}/api/v1/auth/token",
                json={"username": ADMIN_USER, "password": self.admin_password},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            self._token = r.json()["access_token"]
        r = httpx.request(
            method,
            f"{self.admin_url}{path}",
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=15,
            **kw,
        )
        allowed = {expect} if isinstance(expect, int) else set(expect)
        assert r.status_code in allowed, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def configure_notifications(self, **extra: Any) -> dict[str, Any]:
        """SMTP to the catcher and SMS through Twilio (the fake), on the settings page's
        API; ``extra`` settings on top."""
        settings = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp.port,
            "smtp_from": SMTP_FROM,
            "smtp_require_tls": False,
            "sms_provider": "twilio",
            "twilio_account_sid": self.twilio.account_sid,
            "twilio_auth_token": self.twilio.auth_token,
            "twilio_from": self.twilio.from_number,
            "twilio_base_url": self.twilio.url,
            **extra,
        }
        return self.api("PATCH", "/api/v1/settings", json=settings)

    def add_site(
        self,
        slug: str,
        contacts: Sequence[Contact] = (),
        *,
        name: str | None = None,
        maintenance: bool = False,
        interval: str | None = None,
        confirmations: int | None = None,
    ) -> Site:
        """A site probing its own switch on the target (up), with new contacts."""
        interval = interval or self.timing.site_interval
        confirmations = confirmations or self.timing.confirmations
        name = name or f"Site {slug}"
        self.target.set_switch(slug, up=True)
        body: dict[str, Any] = {
            "id": slug,
            "name": name,
            "url": self.target.url(f"/switch/{slug}"),
            "maintenance": maintenance,
        }
        if interval:
            body["interval"] = interval
            body["timeout"] = interval
        if confirmations:
            body["confirmations"] = confirmations
        self.api("POST", "/api/v1/sites", json=body, expect=201)
        for contact in contacts:
            self.api("POST", f"/api/v1/sites/{slug}/contacts", json={"contact": contact.api_json()})
        site = Site(
            slug,
            name,
            body["url"],
            tuple(contacts),
            maintenance,
            parse_duration(interval) if interval else 30.0,
        )
        self.sites[slug] = site
        return site

    def set_maintenance(self, site: Site, on: bool) -> Site:
        self.api("PATCH", f"/api/v1/sites/{site.slug}", json={"maintenance": on})
        site = replace(site, maintenance=on)
        self.sites[site.slug] = site
        return site

    def incidents(self, site: Site | str | None = None) -> list[dict[str, Any]]:
        """``GET /api/v1/incidents`` (of one site when given)."""
        slug = site.slug if isinstance(site, Site) else site
        params = {"site": slug} if slug else None
        items = self.api("GET", "/api/v1/incidents", params=params)["incidents"]
        return [i for i in items if slug is None or incident_site(i) == slug]

    def wait_incidents(
        self,
        site: Site,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30.0,
    ) -> list[dict[str, Any]]:
        return wait_until(
            lambda: self.incidents(site),
            predicate,
            timeout,
            what=f"incidents of {site.slug}",
            context=self.log_tails,
        )

    # ----------------------------------------------------------------- waiting

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        r.raise_for_status()
        return r.json()["data"]["result"]

    def metric(self, service: str, name: str, **labels: str) -> float:
        """The sum of the samples ``name{labels}`` on ``service``'s /metrics (0 when
        there are none): ``stack.metric("alertmanager", "alertmanager_notifications_failed_total",
        integration="webhook")``."""
        r = httpx.get(f"{self.url(service)}/metrics", timeout=10)
        r.raise_for_status()
        return sum(
            sample.value
            for family in text_string_to_metric_families(r.text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def alertmanager_config(self) -> str:
        r = httpx.get(f"{self.alertmanager_url}/api/v2/status", timeout=10)
        r.raise_for_status()
        return r.json()["config"]["original"]

    def alertmanager_alerts(self, site: Site) -> list[dict[str, Any]]:
        """The alerts about ``site`` that Alertmanager holds (active ones)."""
        r = httpx.get(
            f"{self.alertmanager_url}/api/v2/alerts",
            params={"filter": f'site="{site.slug}"', "silenced": "false", "inhibited": "false"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    def wait_monitored(self, *sites: Site, timeout: float = 60.0) -> None:
        """Wait until every site is probed, scraped and seen up by Prometheus, and
        Alertmanager runs a configuration with its receiver (and the mail settings)."""
        for site in sites:
            wait_until(
                lambda s=site: self.query(f'upwatch_site_up{{site="{s.slug}"}} == 1'),
                bool,
                timeout,
                what=f"Prometheus to see {site.slug} up",
                context=self.log_tails,
            )

        def loaded(config: str) -> bool:
            if f"127.0.0.1:{self.smtp.port}" not in config:
                return False
            for site in sites:
                if f"site-{site.slug}" not in config:
                    return False
                wanted = [c.email for c in site.contacts if c.email and not site.maintenance]
                if any(address not in config for address in wanted):
                    return False
            return True

        wait_until(
            self.alertmanager_config,
            loaded,
            timeout,
            what="Alertmanager to load the sites' receivers",
            context=self.log_tails,
        )

    # ----------------------------------------------------------------- the switch

    def down(self, site: Site, location: str | None = None) -> float:
        """Make the site's target answer 503 (only to the probes from ``location``
        when given); returns the time it did (unix)."""
        self.target.set_switch(site.switch, up=False, location=location)
        return time.time()

    def up(self, site: Site, location: str | None = None) -> float:
        self.target.set_switch(site.switch, up=True, location=location)
        return time.time()

    def probes(self, site: Site) -> list[float]:
        """Arrival times of the probes of ``site`` at the target."""
        return [r.time for r in self.target.requests(f"/switch/{site.switch}")]

    def first_probe_after(self, site: Site, when: float) -> float | None:
        """When the first probe of ``site`` at or after ``when`` reached the target: after
        a switch, the probe that saw the change (the exporter's time of change)."""
        return next((t for t in self.probes(site) if t >= when), None)

    # ----------------------------------------------------------------- diagnostics

    def log_tails(self, lines: int = 25) -> str:
        out = []
        for svc in (self.admin, *self.alertmanagers, self.prometheus, *self.exporters):
            out.append(f"----- {svc.name} ({svc.log_path}) -----\n{svc.log_tail(lines)}")
        return "\n".join(out)


def sms_kind(body: str) -> str:
    """``"up"`` or ``"down"``: what an SMS says happened to its site (``"?"``)."""
    text = body.lower()
    if re.search(r"\b(up|is back|recovered|resolved)\b", text):
        return "up"
    if re.search(r"\bdown\b", text):
        return "down"
    return "?"


# A duration as Go ("1m30s", "4s") and the SMS text ("4m 12s", "1h 0m 5s") write it.
DURATION = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?(?:ms|d|h|m|s)\s?)+(?!\w)")


def stated_seconds(text: str, after: str) -> float:
    """The first duration in ``text`` after the words ``after``, in seconds
    (``stated_seconds("back up after 1m30s", "after") == 90``)."""
    assert after in text, f"{after!r} not in {text!r}"
    found = DURATION.search(text.split(after, 1)[1])
    assert found, f"no duration after {after!r} in {text!r}"
    units = {"ms": 0.001, "d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)", found.group(0))
    return sum(float(n) * units[u] for n, u in parts)


def incident_site(incident: dict[str, Any]) -> str | None:
    """The site id of an incident of ``GET /api/v1/incidents``."""
    site = incident.get("site")
    return site.get("id") if isinstance(site, dict) else site


def wait_until(
    get: Callable[[], Any],
    predicate: Callable[[Any], bool],
    timeout: float,
    *,
    what: str,
    interval: float = 0.2,
    context: Callable[[], str] | None = None,
) -> Any:
    """Call ``get`` until ``predicate`` holds for its value; returns that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    error: Exception | None = None
    while True:
        try:
            last = get()
            error = None
            if predicate(last):
                return last
        except (httpx.HTTPError, AssertionError) as exc:
            error = exc
        if time.monotonic() > deadline:
            detail = f"last error: {error}" if error else f"last value: {last!r}"
            extra = f"\n{context()}" if context else ""
            raise AssertionError(f"waited {timeout:.0f}s for {what}; {detail}{extra}")
        time.sleep(interval)
