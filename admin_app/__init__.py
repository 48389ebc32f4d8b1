"""Upwatch admin app: users and roles, sites and contacts, config generation, the
incident log, history API and reports (Flask).

``create_app(config)`` builds the app: configuration from ``UPWATCH_*`` variables
overridden by ``config``, the database, sessions and CSRF, error handlers, every
feature blueprint of :mod:`admin_app.blueprints` and the ``upwatch-admin`` CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from admin_app import config as config_module


class DatabaseInt(IntegerConverter):
    """``<int:id>`` of at most nine digits, inside the database's INTEGER range: a
    longer id matches no route (a 404 for every method), rather than reaching the
    database driver and overflowing there (a 500). A range check in the converter
    would make werkzeug answer 405 for some methods instead."""

    regex = r"\d{1,9}"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    from admin_app import blueprints, db, errors, nav, security
    from admin_app.auth import ratelimit, session
    from admin_app.templating import init_app as init_templating

    app = Flask(__name__, instance_relative_config=False)
    settings = config_module.from_env()
    if config:
        settings.update(config)
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = config_module.load_secret_key(Path(settings["DATA_DIR"]))
    app.config.update(settings)

    db.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    session.init_app(app)
    ratelimit.init_app(app)
    nav.init_app(app)
    init_templating(app)
    app.url_map.converters["int"] = DatabaseInt
    blueprints.register_all(app)

    from admin_app.cli import register_commands

    register_commands(app)
    return app


__all__ = ["create_app"]
