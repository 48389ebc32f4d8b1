"""``upwatch-admin``: init-db, create-user, regen-config and run, with clean
messages and non-zero exits for bad input (never a traceback)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from admin_app.cli import cli
from admin_app.migrate import head_revision
from admin_app.models import User


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("UPWATCH_DATABASE_URL", "UPWATCH_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UPWATCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def _users(data_dir: Path) -> list[tuple[str, str]]:
    engine = create_engine(f"sqlite:///{data_dir / 'upwatch.db'}")
    with Session(engine) as session:
        rows = [(u.username, u.role) for u in session.scalars(select(User).order_by(User.id))]
    engine.dispose()
    return rows


def test_init_db_then_create_user(env: Path) -> None:
    result = run("init-db")
    assert result.exit_code == 0, result.output
    assert f"database is at revision {head_revision()}" in result.output
    assert (env / "upwatch.db").exists()
    secret = env / "secret_key"
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600
    assert run("init-db").exit_code == 0  # idempotent

    result = run("create-user", "Alice", "--role", "admin", "--password", "a long password")
    assert result.exit_code == 0, result.output
    assert "created user 'alice' with role admin" in result.output
    # password read from the prompt (stdin) when omitted
    result = run("create-user", "bob", "--role", "IT_STAFF", input="another long one\n")
    assert result.exit_code == 0, result.output
    assert _users(env) == [("alice", "admin"), ("bob", "it_staff")]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["create-user", "x", "--role", "boss", "--password", "long enough"],
            2,
            "'boss' is not one of",
        ),
        (["create-user", "x", "--password", "long enough"], 2, "Missing option '--role'"),
        (
            ["create-user", "x", "--role", "admin", "--password", "short"],
            1,
            "password: must be at least 8",
        ),
        (
            ["create-user", "bad name", "--role", "admin", "--password", "long enough"],
            1,
            "username: may contain only",
        ),
        (
            ["create-user", "alice", "--role", "admin", "--password", "long enough"],
            1,
            "username: is already taken",
        ),
        (["run", "--port", "99999"], 2, "99999 is not in the range"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_bad_input(env: Path, args: list[str], code: int, message: str) -> None:
    run("init-db")
    run("create-user", "alice", "--role", "admin", "--password", "a long password")
    result = run(*args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_create_user_before_init_db_says_so(env: Path) -> None:
    result = run("create-user", "x", "--role", "admin", "--password", "long enough")
    assert result.exit_code == 1
    assert "cannot use the database" in result.output and "no such table" in result.output


def test_unreachable_database(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.servers import free_port

    monkeypatch.setenv("UPWATCH_DATABASE_URL", f"postgresql+psycopg://u@127.0.0.1:{free_port()}/x")
    result = run("init-db")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot use the database:")
    assert "Traceback" not in result.output


def test_bad_environment(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWATCH_ACCESS_TOKEN_TTL", "soon")
    result = run("init-db")
    assert result.exit_code == 1
    assert "UPWATCH_ACCESS_TOKEN_TTL='soon' is not a whole number" in result.output


def test_regen_config_calls_configgen(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    class Result:
        ok = True

        def __str__(self) -> str:
            return "wrote sites.yml"

    fake = types.ModuleType("admin_app.configgen.apply")
    fake.regenerate = lambda app: calls.append(app) or Result()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "admin_app.configgen.apply", fake)
    run("init-db")
    result = run("regen-config")
    assert result.exit_code == 0, result.output
    assert "wrote sites.yml" in result.output and len(calls) == 1

    Result.ok = False
    assert run("regen-config").exit_code == 1


def test_regen_config_without_configgen(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "admin_app.configgen.apply", None)
    result = run("regen-config")
    assert result.exit_code == 1
    assert "config generation is not available" in result.output


def test_console_script_end_to_end(env: Path) -> None:
    exe = Path(sys.executable).with_name("upwatch-admin")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "admin_app.cli"]
    done = subprocess.run(
        [*command, "init-db"], capture_output=True, text=True, timeout=60, env=_env(env)
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*command, "create-user", "ann", "--role", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(env),
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'nope' is not one of" in done.stderr


def test_run_serves_the_app(env: Path) -> None:
    import httpx

    from tests.servers import free_port, wait_http

    run("init-db")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "admin_app.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=30)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {
            "database": "ok",
            "status": "ok",
        }
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200 and "csrf_token" in login.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_run_port_in_use(env: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "admin_app.cli", "run", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(env),
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def _env(data_dir: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("UPWATCH_")}
    env["UPWATCH_DATA_DIR"] = str(data_dir)
    return env


def test_import_sites_adds_new_sites_once_and_refuses_a_bad_file(env: Path, tmp_path: Path) -> None:
    assert run("init-db").exit_code == 0
    good = tmp_path / "sites.yml"
    good.write_text(
        "defaults: {interval: 20s, confirmations: 3}\n"
        "sites:\n"
        "  - {id: shop, name: 'Caf\u00e9: \"shop\"', url: 'https://shop.example/h', timeout: 5s}\n"
        "  - {id: db, url: 'tcp://db.example:5432'}\n"
    )
    result = run("import-sites", str(good))
    assert result.exit_code == 0, result.output
    assert "imported 2 site(s); 0 already present" in result.output
    written = (env / "sites.yml").read_text()
    assert "id: shop" in written and "id: db" in written
    from exporter.config import load_file

    shop = load_file(env / "sites.yml").by_id()["shop"]
    assert (shop.interval, shop.timeout, shop.confirmations) == (20.0, 5.0, 3)  # file defaults kept
    assert shop.name == 'Caf\u00e9: "shop"'
    again = run("import-sites", str(good))
    assert "imported 0 site(s); 2 already present" in again.output
    bad = tmp_path / "bad.yml"
    bad.write_text("sites:\n  - {id: new, url: 'ftp://x'}\n  - {id: other, url: 'http://ok'}\n")
    result = run("import-sites", str(bad))
    assert result.exit_code == 1
    assert "sites[0] (new).url" in result.output and "Traceback" not in result.output
    assert "id: other" not in (env / "sites.yml").read_text()  # nothing imported
