"""``upwatch-admin``: the admin app's command line (a Flask CLI group).

    upwatch-admin init-db
    upwatch-admin create-user NAME --role ROLE [--password P]
    upwatch-admin regen-config
    upwatch-admin import-sites FILE
    upwatch-admin run [--host H] [--port P]

Bad input ends with a one-line message on stderr and exit status 1 (2 for usage
errors, as click does); never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from admin_app.roles import Role

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into a clean ClickException (no traceback)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        from admin_app.errors import AppError

        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except AppError as err:
            detail = "; ".join(f"{k}: {v}" for k, v in err.fields.items()) or err.message
            _fail(detail)
        except OperationalError as err:
            _fail(f"cannot use the database: {str(err.orig).strip().splitlines()[0]}")
        except SQLAlchemyError as err:
            _fail(f"database error: {type(err).__name__}: {str(err).splitlines()[0]}")
        except OSError as err:
            _fail(str(err))

    return wrapper


@click.command("init-db")
@with_appcontext
@_guarded
def init_db_command() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    from admin_app.migrate import upgrade

    revision = upgrade(current_app)
    click.echo(f"database is at revision {revision}")


def _role_choice() -> click.Choice:
    return click.Choice([r.value for r in Role], case_sensitive=False)


@click.command("create-user")
@click.argument("name")
@click.option("--role", "role", required=True, type=_role_choice(), help="One of the six roles.")
@click.option("--password", "password", default=None, help="Prompted for when omitted.")
@with_appcontext
@_guarded
def create_user_command(name: str, role: str, password: str | None) -> None:
    """Create a user (the first admin, typically)."""
    from admin_app.db import session_scope
    from admin_app.users.service import create_user

    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope() as session:
        user = create_user(
            session, actor=None, data={"username": name, "role": role, "password": password}
        )
        session.flush()
        click.echo(f"created user {user.username!r} with role {user.role} (id {user.id})")


@click.command("regen-config")
@with_appcontext
@_guarded
def regen_config_command() -> None:
    """Regenerate sites.yml and alertmanager.yml from the database and reload."""
    try:
        from admin_app.configgen.apply import regenerate
    except ImportError:
        _fail("config generation is not available in this build (admin_app.configgen.apply)")
    result = regenerate(current_app)
    if result is not None:
        click.echo(str(result))
    ok = getattr(result, "ok", True)
    if ok is False:
        sys.exit(1)


@click.command("import-sites")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
@_guarded
def import_sites_command(path: str) -> None:
    """Add the sites of a site-list file (sites.yml) that are not in the database yet.

    The whole file is validated first (as ``upwatch-exporter --check-config`` does);
    a bad file imports nothing. Sites whose id already exists are left as they are.
    """
    import yaml

    from admin_app.db import session_scope
    from admin_app.models import Site
    from admin_app.sites.service import create_site
    from exporter.config import ConfigError, load_file

    try:
        load_file(path)  # every problem at once, naming site and field
    except ConfigError as err:
        _fail(str(err))
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    defaults = data.get("defaults") or {}
    added, kept = [], []
    with session_scope() as session:
        existing = {slug for (slug,) in session.query(Site.slug)}
        for raw in data.get("sites") or []:
            if raw["id"] in existing:
                kept.append(raw["id"])
                continue
            site_fields = {k: v for k, v in defaults.items() if not (
                k not in ("interval", "timeout", "confirmations") and str(raw["url"]).startswith("tcp://")
            )}  # fmt: skip
            create_site(session, {**site_fields, **raw})
            added.append(raw["id"])
    click.echo(f"imported {len(added)} site(s); {len(kept)} already present")
    if added:
        regen_config_command.callback()


def _bind_problem(host: str, port: int) -> str | None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"unknown host ({err.strerror})"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            return err.strerror or str(err)
    return None


@click.command("run")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Serve the admin app (threaded development server; use gunicorn in production:
    ``gunicorn 'admin_app.wsgi:app'``)."""
    from admin_app.logs import setup

    setup("info")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    from werkzeug.serving import make_server

    problem = _bind_problem(host, port)
    if problem:  # werkzeug would print its own text and exit; say it our way
        _fail(f"cannot listen on {host}:{port}: {problem}")
    server = make_server(host, port, app, threaded=True)
    click.echo(f"upwatch-admin listening on http://{host}:{port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


COMMANDS = (
    init_db_command,
    create_user_command,
    regen_config_command,
    import_sites_command,
    run_command,
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from admin_app import create_app
    from admin_app.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as err:
        raise click.ClickException(str(err)) from None


cli = FlaskGroup(
    name="upwatch-admin",
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="Upwatch admin app: database, users, configuration and the web server.",
)
for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="upwatch-admin")


if __name__ == "__main__":
    main()
