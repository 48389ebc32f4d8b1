"""The production docker-compose.yml, checked without a Docker engine.

The file is parsed (PyYAML) and its ``${VAR}`` interpolation done as compose does
it. Then: every bind-mounted file exists, every service has a health check and a
restart policy, ports are published on 127.0.0.1 unless UPWATCH_BIND says
otherwise, the secrets are required from the environment, and every URL or
host:port one service uses for another (the admin app's UPWATCH_*_URL, the
scrape targets and Alertmanager of deploy/prometheus/prometheus.yml, Grafana's data
source, the webhook URL the admin app generates) names a service and the port it
listens on.

Every check runs twice: without a profile (the variables of deploy/env.example)
and with the ``scale`` profile (deploy/scale.env added: three exporter shards, three
peered Alertmanagers, VictoriaMetrics), each with the services that profile starts.

Containers are imitated by "mirrors": a service's filesystem view built from its
mounts, with bind mounts pointing at the repository and each named volume at one
shared temporary directory. Through mirrors, ``promtool check config`` runs on the
Prometheus config as the container sees it (rules included), and the image's
entrypoint runs ``prepare`` (init-db, first admin, regen-config) with the admin
service's environment, on SQLite; the files it writes are checked as the exporter
and Alertmanager containers will read them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.servers import binary

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
LOOPBACK_PROMETHEUS = ROOT / "prometheus/prometheus.yml"
GRAFANA_DATASOURCE = ROOT / "grafana/provisioning/datasources/prometheus.yml"
GRAFANA_PROVIDER = ROOT / "grafana/provisioning/dashboards/upwatch.yml"

REQUIRED_SECRETS = (
    "UPWATCH_SECRET_KEY",
    "UPWATCH_WEBHOOK_TOKEN",
    "POSTGRES_PASSWORD",
    "GF_SECURITY_ADMIN_PASSWORD",
)
TEST_ENV = {name: f"test{name.lower().replace('_', '')}" for name in REQUIRED_SECRETS}
SERVICES = {"postgres", "admin", "exporter", "prometheus", "alertmanager", "grafana"}
SCALE_SERVICES = SERVICES | {
    "exporter-2",
    "exporter-3",
    "alertmanager-2",
    "alertmanager-3",
    "victoriametrics",
}
STORES = {  # service -> where it keeps its data
    "postgres": "/var/lib/postgresql/data",
    "admin": "/data",
    "prometheus": "/prometheus",
    "alertmanager": "/alertmanager",
    "alertmanager-2": "/alertmanager",
    "alertmanager-3": "/alertmanager",
    "victoriametrics": "/storage",
    "grafana": "/var/lib/grafana",
}
SCALE_ENV_FILE = ROOT / "deploy/scale.env"


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as compose reads .env (comments and blank lines skipped)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


PROFILES = {"default": TEST_ENV, "scale": {**TEST_ENV, **env_file(SCALE_ENV_FILE)}}


# --------------------------------------------------------------------------- interpolation


class MissingVariable(Exception):
    pass


_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's rules: $$, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?message}, ${VAR?message}."""

    def sub(m: re.Match) -> str:
        if m["escaped"]:
            return "$"
        name = m["name"] or m["bare"]
        value, op, arg = env.get(name), m["op"], m["arg"]
        unset_or_empty = value is None or (op and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset_or_empty else value
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return value
        return value or ""

    return _VAR.sub(sub, text)


def resolve(obj: Any, env: Mapping[str, str]) -> Any:
    if isinstance(obj, str):
        return interpolate(obj, env)
    if isinstance(obj, list):
        return [resolve(v, env) for v in obj]
    if isinstance(obj, dict):
        return {k: resolve(v, env) for k, v in obj.items()}
    return obj


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def active(doc: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The file as compose runs it with ``env``: interpolated, and only the services
    without a profile or with one of COMPOSE_PROFILES."""
    on = {p for p in env.get("COMPOSE_PROFILES", "").split(",") if p}
    doc = resolve(doc, env)
    doc["services"] = {
        name: svc
        for name, svc in doc["services"].items()
        if not svc.get("profiles") or set(svc["profiles"]) & on
    }
    return doc


@pytest.fixture(scope="module", params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def compose(profile: str) -> dict[str, Any]:
    return active(raw(), PROFILES[profile])


def prometheus_file(compose: dict[str, Any]) -> Path:
    """The Prometheus config file the prometheus service mounts, here."""
    svc = compose["services"]["prometheus"]
    mirror = Mirror(svc, Path("/nonexistent"))
    path = mirror.host(flag(command(svc), "--config.file"))
    assert path and path.is_file(), path
    return path


def members(compose: dict[str, Any], kind: str) -> list[str]:
    """``exporter``, ``exporter-2``, ...: the running services of one kind."""
    return sorted(n for n in compose["services"] if re.fullmatch(rf"{kind}(-\d+)?", n))


# --------------------------------------------------------------------------- helpers


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool, str]]:
    """(kind, source, read_only, target): kind "bind" or "volume"."""
    out = []
    for entry in service.get("volumes", []):
        assert isinstance(entry, str), "use the short syntax: source:target[:ro]"
        source, target, *mode = entry.split(":")
        kind = "bind" if source.startswith((".", "/")) else "volume"
        out.append((kind, source, mode == ["ro"], target))
    return out


class Mirror:
    """A service's filesystem as its mounts make it, on this machine."""

    def __init__(self, service: dict[str, Any], volumes_dir: Path) -> None:
        self.paths: dict[str, Path] = {}
        for kind, source, _ro, target in mounts(service):
            if kind == "bind":
                self.paths[target] = (ROOT / source).resolve()
            else:
                self.paths[target] = volumes_dir / source
                self.paths[target].mkdir(parents=True, exist_ok=True)

    def host(self, container_path: str) -> Path | None:
        """Where a container path is here, or None if no mount holds it."""
        p = PurePosixPath(container_path)
        for target in sorted(self.paths, key=len, reverse=True):
            if p == PurePosixPath(target) or PurePosixPath(target) in p.parents:
                return self.paths[target] / p.relative_to(target)
        return None

    def container(self, host_path: str | Path) -> str | None:
        """The container path of a file here, or None if no mount shows it."""
        p = Path(host_path).resolve()
        for target, source in sorted(self.paths.items(), key=lambda kv: -len(str(kv[1]))):
            source = source.resolve()
            if p == source or source in p.parents:
                return str(PurePosixPath(target) / p.relative_to(source).as_posix())
        return None


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "use the mapping syntax for environment"
    return {k: str(v) for k, v in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    assert isinstance(cmd, list), "use the list syntax for command"
    return cmd


def flag(args: list[str], name: str) -> str | None:
    """The value of --name=V or --name V."""
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


def listen_port(name: str, service: dict[str, Any]) -> int:
    """The port a service listens on inside its container."""
    args = command(service)
    for option in ("--bind", "--listen", "--web.listen-address", "-httpListenAddr"):
        value = flag(args, option)
        if value:
            return int(value.rsplit(":", 1)[1])
    env = environment(service)
    if "GF_SERVER_HTTP_PORT" in env:
        return int(env["GF_SERVER_HTTP_PORT"])
    if service["image"].startswith("postgres:"):
        return int(env.get("PGPORT", 5432))
    raise AssertionError(f"{name}: cannot tell which port it listens on")


def host_ports(text: str) -> list[tuple[str, int]]:
    """Every scheme://[user@]host:port in a string."""
    return [
        (m[1], int(m[2]))
        for m in re.finditer(r"[a-z][a-z0-9+.-]*://(?:[^@/\s]*@)?([\w.-]+):(\d+)", text)
    ]


# --------------------------------------------------------------------------- structure


def test_every_part_is_a_service(compose: dict[str, Any], profile: str) -> None:
    assert set(compose["services"]) == (SCALE_SERVICES if profile == "scale" else SERVICES)


def test_every_service_has_a_health_check_and_a_restart_policy(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        check = svc.get("healthcheck", {})
        assert check.get("test") and check["test"][0] == "CMD", name
        assert not check.get("disable"), name
        assert svc.get("restart") in {"always", "unless-stopped"}, name


def test_health_checks_ask_the_port_the_service_listens_on(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        port = listen_port(name, svc)
        test = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{port}" in test or f"--port={port}" in test, (name, test)


def test_bind_mounts_exist_and_named_volumes_are_declared(
    compose: dict[str, Any], profile: str
) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, svc in compose["services"].items():
        for kind, source, read_only, target in mounts(svc):
            assert target.startswith("/"), (name, target)
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
                assert read_only, f"{name}: bind mount {source} should be :ro"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used <= declared
    if profile == "scale":  # every service runs: every volume is used
        assert used == declared, f"declared but unused: {declared - used}"


def test_every_store_is_a_named_volume(compose: dict[str, Any]) -> None:
    for name, path in STORES.items():
        if name not in compose["services"]:
            continue
        kinds = {t: (k, ro) for k, _s, ro, t in mounts(compose["services"][name])}
        assert kinds.get(path) == ("volume", False), f"{name}: {path} is not a named volume"


def test_the_generated_files_are_shared_through_one_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    admin_env = environment(services["admin"])

    def volume_of(service: str, path: str, writable: bool) -> str:
        for kind, source, read_only, target in mounts(services[service]):
            if kind == "volume" and PurePosixPath(target) in PurePosixPath(path).parents:
                assert writable != read_only, (service, path)
                return source
        raise AssertionError(f"{service}: {path} is not on a volume")

    sites = admin_env["UPWATCH_SITES_FILE"]
    am = admin_env["UPWATCH_ALERTMANAGER_CONFIG"]
    exporters, alertmanagers = members(compose, "exporter"), members(compose, "alertmanager")
    shared = {volume_of("admin", sites, writable=True), volume_of("admin", am, writable=True)}
    for name in exporters:
        shared.add(volume_of(name, environment(services[name])["UPWATCH_SITES_FILE"], False))
        assert environment(services[name])["UPWATCH_SITES_FILE"] == sites
    for name in alertmanagers:
        shared.add(volume_of(name, flag(command(services[name]), "--config.file"), False))
        assert flag(command(services[name]), "--config.file") == am
    assert len(shared) == 1, shared
    # the exporters and Alertmanagers start only once the admin app has written them
    for name in exporters + alertmanagers:
        dep = services[name]["depends_on"]["admin"]
        assert dep["condition"] == "service_healthy", name


def test_published_ports_are_on_loopback_by_default(compose: dict[str, Any]) -> None:
    published = 0
    for name, svc in compose["services"].items():
        for entry in svc.get("ports", []):
            address, _host_port, container_port = str(entry).split(":")
            assert address == "127.0.0.1", (name, entry)
            assert int(container_port) == listen_port(name, svc), (name, entry)
            published += 1
    assert published >= 5
    assert "${UPWATCH_BIND:-127.0.0.1}:8000:8000" in raw()["services"]["admin"]["ports"]
    assert "postgres" not in {n for n, s in compose["services"].items() if s.get("ports")}


def test_secrets_are_required_from_the_environment() -> None:
    text = COMPOSE.read_text()
    for name in REQUIRED_SECRETS:
        assert f"${{{name}:?" in text, f"{name} should be ${{{name}:?message}}"
        env = {k: v for k, v in TEST_ENV.items() if k != name}
        with pytest.raises(MissingVariable, match=name):
            resolve(raw(), env)
    # no secret is written in the file itself
    for svc in raw()["services"].values():
        for key, value in environment(svc).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key) and value:
                assert re.fullmatch(r"\$\{\w+(:?[-?][^}]*)?\}", value), (key, value)


def test_one_image_for_the_python_parts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["admin"]["build"]["context"] == "."
    assert services["admin"]["build"]["dockerfile"] == "Dockerfile"
    assert command(services["admin"])[0] == "admin"
    for name in members(compose, "exporter"):
        assert services[name]["image"] == services["admin"]["image"], name
        assert command(services[name])[0] == "exporter", name


# --------------------------------------------------------------------------- addresses


def test_every_address_between_services_names_a_service_and_its_port(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    ports = {name: listen_port(name, svc) for name, svc in services.items()}
    refs: list[tuple[str, str, int]] = []  # (where, host, port)
    for name, svc in services.items():
        for key, value in environment(svc).items():
            refs += [(f"{name}: {key}", h, p) for h, p in host_ports(value)]
        for arg in command(svc):
            refs += [(f"{name}: {arg}", h, p) for h, p in host_ports(arg)]

    prom = yaml.safe_load(prometheus_file(compose).read_text())
    for rw in prom.get("remote_write") or []:
        refs += [("prometheus.yml remote_write", h, p) for h, p in host_ports(rw["url"])]
    for job in prom["scrape_configs"]:
        for sc in job["static_configs"]:
            for target in sc["targets"]:
                host, port = target.rsplit(":", 1)
                host = "prometheus" if host in ("localhost", "127.0.0.1") else host
                refs.append((f"prometheus.yml job {job['job_name']}", host, int(port)))
    for am in prom["alerting"]["alertmanagers"]:
        for sc in am["static_configs"]:
            for target in sc["targets"]:
                host, port = target.rsplit(":", 1)
                refs.append(("prometheus.yml alertmanagers", host, int(port)))
    (ds,) = yaml.safe_load(GRAFANA_DATASOURCE.read_text())["datasources"]
    refs += [("grafana data source", h, p) for h, p in host_ports(ds["url"])]

    between = [(where, h, p) for where, h, p in refs if h in services]
    for where, host, port in between:
        assert port == ports[host], f"{where}: {host}:{port}, but {host} listens on {ports[host]}"
    # nothing points at a host that is not a service (a typo would be silent)
    public = {"127.0.0.1"}  # defaults of the public URLs, for people
    stray = [(w, h) for w, h, _p in refs if h not in services and h not in public]
    assert not stray, stray

    named = {where for where, _h, _p in between}
    for key in (
        "admin: UPWATCH_EXPORTER_URL",
        "admin: UPWATCH_ALERTMANAGER_URL",
        "admin: UPWATCH_PROMETHEUS_URL",
        "admin: UPWATCH_ADMIN_URL",
        "admin: UPWATCH_DATABASE_URL",
        "prometheus.yml job upwatch-exporter",
        "prometheus.yml job upwatch-admin",
        "prometheus.yml job alertmanager",
        "prometheus.yml job prometheus",
        "prometheus.yml alertmanagers",
        "grafana data source",
    ):
        assert key in named, f"{key} is not checked"
    targets = {(h, p) for w, h, p in between if w.startswith("prometheus.yml job")}
    assert ("exporter", ports["exporter"]) in targets


def test_compose_prometheus_config_has_the_jobs_of_the_loopback_one(
    compose: dict[str, Any],
) -> None:
    """deploy/prometheus/prometheus.yml (and -scale.yml) is prometheus/prometheus.yml
    with service names: the same jobs (the dashboards filter on their names), the
    same rules, and for every loopback target the service(s) on the same port."""
    path = prometheus_file(compose)
    deploy = yaml.safe_load(path.read_text())
    loopback = yaml.safe_load(LOOPBACK_PROMETHEUS.read_text())
    assert deploy["rule_files"] == loopback["rule_files"]
    assert deploy["global"] == loopback["global"]
    by_name = {j["job_name"]: j for j in deploy["scrape_configs"]}
    for job in loopback["scrape_configs"]:
        mine = by_name.get(job["job_name"])
        assert mine, f"job {job['job_name']} is missing from {path}"
        for key in ("scrape_interval", "scrape_timeout", "metrics_path"):
            assert mine.get(key) == job.get(key), (job["job_name"], key)
        ports = [t.rsplit(":", 1)[1] for sc in job["static_configs"] for t in sc["targets"]]
        mine_ports = [t.rsplit(":", 1)[1] for sc in mine["static_configs"] for t in sc["targets"]]
        assert set(mine_ports) == set(ports), job["job_name"]


def test_every_shard_and_every_alertmanager_is_known_to_the_others(
    compose: dict[str, Any], profile: str
) -> None:
    """The exporters take --shard 1/N .. N/N (N = their number), Prometheus scrapes
    each and alerts every Alertmanager, the admin app reloads each of them, and
    the Alertmanagers of a cluster name each other as peers."""
    services = compose["services"]
    exporters, alertmanagers = members(compose, "exporter"), members(compose, "alertmanager")
    assert len(exporters) == (3 if profile == "scale" else 1)
    assert len(alertmanagers) == (3 if profile == "scale" else 1)
    n = len(exporters)
    shards = sorted(flag(command(services[name]), "--shard") for name in exporters)
    assert shards == [f"{i}/{n}" for i in range(1, n + 1)]

    def hosts(value: str) -> list[str]:
        return sorted(h for h, _p in host_ports(value))

    admin_env = environment(services["admin"])
    assert hosts(admin_env["UPWATCH_EXPORTER_URL"]) == exporters
    assert hosts(admin_env["UPWATCH_ALERTMANAGER_URL"]) == alertmanagers
    prom = yaml.safe_load(prometheus_file(compose).read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}

    def targets(configs: list[dict[str, Any]]) -> list[str]:
        return sorted(t.rsplit(":", 1)[0] for sc in configs for t in sc["targets"])

    assert targets(jobs["upwatch-exporter"]["static_configs"]) == exporters
    assert targets(jobs["alertmanager"]["static_configs"]) == alertmanagers
    (am_config,) = prom["alerting"]["alertmanagers"]
    assert targets(am_config["static_configs"]) == alertmanagers

    listen = {
        name: flag(command(services[name]), "--cluster.listen-address") for name in alertmanagers
    }
    if len(alertmanagers) == 1:
        assert listen == {"alertmanager": ""}, "a single Alertmanager runs without a cluster"
        return
    for name in alertmanagers:
        assert listen[name], f"{name}: no --cluster.listen-address"
        port = listen[name].rsplit(":", 1)[1]
        args = command(services[name])
        peers = sorted(a.split("=", 1)[1] for a in args if a.startswith("--cluster.peer="))
        assert peers == sorted(f"{o}:{port}" for o in alertmanagers if o != name), name
    # long-term storage: the admin app reads it, Prometheus writes to it
    assert hosts(admin_env["UPWATCH_LONG_TERM_URL"]) == ["victoriametrics"]
    assert [hosts(rw["url"]) for rw in prom["remote_write"]] == [["victoriametrics"]]
    for name in exporters:
        assert hosts(environment(services[name])["UPWATCH_INFLUX_URL"]) == ["victoriametrics"]


def test_promtool_accepts_the_prometheus_config_as_the_container_sees_it(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    svc = compose["services"]["prometheus"]
    root = tmp_path / "root"
    for kind, source, _ro, target in mounts(svc):
        if kind == "bind":
            link = root / target.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to((ROOT / source).resolve())
    config = root / flag(command(svc), "--config.file").lstrip("/")
    proc = subprocess.run(
        [binary("promtool"), "check", "config", str(config)], capture_output=True, text=True
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # the rules were found through the mount and checked too
    assert re.search(r"SUCCESS: \d+ rules found", out), out


# --------------------------------------------------------------------------- Grafana


def test_grafana_sees_its_provisioning_and_dashboards(compose: dict[str, Any], tmp_path) -> None:
    svc = compose["services"]["grafana"]
    mirror = Mirror(svc, tmp_path)
    provisioning = mirror.host("/etc/grafana/provisioning")
    assert provisioning and (provisioning / "datasources/prometheus.yml").is_file()
    (provider,) = yaml.safe_load(GRAFANA_PROVIDER.read_text())["providers"]
    dashboards = mirror.host(provider["options"]["path"])
    assert dashboards and sorted(p.name for p in dashboards.glob("*.json")) == sorted(
        p.name for p in (ROOT / "grafana/dashboards").glob("*.json")
    )
    home = mirror.host(environment(svc)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home and home.is_file()


# --------------------------------------------------------------------------- the image


def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile() -> None:
    instructions = dockerfile()
    froms = [arg for op, arg in instructions if op == "FROM"]
    assert froms[-1] == "python:3.11-slim"
    assert any(op == "RUN" and "pip install ." in arg for op, arg in instructions)
    (user,) = [arg for op, arg in instructions if op == "USER"]
    assert user.split(":")[0] not in {"root", "0"}
    ignored = (ROOT / ".dockerignore").read_text().split()
    for op, arg in instructions:
        if op == "COPY" and not arg.startswith("--from"):
            *sources, _dest = arg.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert source.split("/")[0] not in ignored, f"{source} is in .dockerignore"
    assert {".git", ".venv", "var", ".env"} <= set(ignored)
    (entrypoint,) = [arg for op, arg in instructions if op == "ENTRYPOINT"]
    assert entrypoint == '["upwatch-entrypoint"]'
    assert any(
        op == "COPY" and arg.startswith("deploy/docker-entrypoint.sh ") for op, arg in instructions
    )
    script = ROOT / "deploy/docker-entrypoint.sh"
    assert os.access(script, os.X_OK)
    proc = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_entrypoint_prepares_the_files_the_other_containers_start_from(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """The admin service's `prepare` (init-db, first admin, regen-config) with its
    compose environment, its paths mirrored here and SQLite for PostgreSQL."""
    services = compose["services"]
    volumes = tmp_path / "volumes"
    admin = Mirror(services["admin"], volumes)
    env = environment(services["admin"])
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("UPWATCH_")}
    for key, value in env.items():
        host = admin.host(value) if value.startswith("/") else None
        run_env[key] = str(host) if host else value
    run_env.update(
        UPWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'upwatch.db'}",
        UPWATCH_ADMIN_PASSWORD="first-admin-password-1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        # the other containers are not running: refused at once, as at a first start
        UPWATCH_EXPORTER_URL="http://127.0.0.1:9",
        UPWATCH_ALERTMANAGER_URL="http://127.0.0.1:9",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    script = ROOT / "deploy/docker-entrypoint.sh"
    proc = subprocess.run(
        ["sh", str(script), "prepare"], env=run_env, capture_output=True, text=True
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "created user 'admin'" in out, out

    # the exporter's view of sites.yml
    exporter = Mirror(services["exporter"], volumes)
    sites = exporter.host(environment(services["exporter"])["UPWATCH_SITES_FILE"])
    assert sites and sites.is_file()
    check = subprocess.run(
        [sys.executable, "-m", "exporter", "--check-config", str(sites)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr

    # Alertmanager's view of alertmanager.yml
    am_mirror = Mirror(services["alertmanager"], volumes)
    am_file = am_mirror.host(flag(command(services["alertmanager"]), "--config.file"))
    assert am_file and am_file.is_file()
    am = yaml.safe_load(am_file.read_text())
    hooks = [
        hook["url"]
        for receiver in am["receivers"]
        for hook in receiver.get("webhook_configs") or []
    ]
    assert hooks and set(hooks) == {f"{env['UPWATCH_ADMIN_URL']}/hooks/alertmanager"}
    assert urlsplit(hooks[0]).netloc == f"admin:{listen_port('admin', services['admin'])}"
    # every template path is one Alertmanager's container has (as the admin app wrote
    # it, in the admin container's paths), and matches files
    for pattern in am["templates"]:
        # as the admin app wrote it (in its container's paths; relative: next to the
        # config), then as Alertmanager's container has it
        written = pattern if pattern.startswith("/") else str(am_file.parent / pattern)
        container_path = admin.container(written)
        assert container_path, f"{pattern}: not a path of the admin container"
        host = am_mirror.host(container_path)
        assert host is not None, f"Alertmanager does not mount {container_path}"
        assert list(host.parent.glob(host.name)), f"{container_path} matches no file"
    amtool = shutil.which("amtool") or binary("amtool")
    proc = subprocess.run([amtool, "check-config", str(am_file)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
