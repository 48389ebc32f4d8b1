"""The blueprint registry: one module per feature, registered in this order.

A module registers when it exists; it exposes ``bp`` (a Blueprint), ``blueprints``
(several) and/or ``init_app(app)`` (called once per app, after the blueprints). Listing features that are built later means a
new feature package needs no change here, only its own ``bp`` with ``@requires`` on
each view.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from flask import Blueprint, Flask

BLUEPRINT_MODULES: tuple[str, ...] = (
    "admin_app.core",
    "admin_app.auth",
    "admin_app.users",
    "admin_app.settings",
    "admin_app.sites",
    "admin_app.contacts",
    "admin_app.configgen.views",
    "admin_app.configgen.apply",  # init_app: regenerate on admin_app.changes signals
    "admin_app.status",
    "admin_app.alerts",
    "admin_app.history",
    "admin_app.reports",
    "admin_app.hooks",
    "admin_app.metrics",
    "admin_app.docs",
)


def _import_optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a missing feature module is skipped; a missing import *inside* one is
        # a real error and propagates.
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def register_all(app: Flask, modules: tuple[str, ...] = BLUEPRINT_MODULES) -> list[str]:
    registered = []
    for name in modules:
        module = _import_optional(name)
        if module is None:
            continue
        bps: list[Blueprint] = list(getattr(module, "blueprints", ()))
        if isinstance(getattr(module, "bp", None), Blueprint):
            bps.insert(0, module.bp)
        for bp in bps:
            app.register_blueprint(bp)
        init = getattr(module, "init_app", None)
        if callable(init):
            init(app)
        if bps or callable(init):
            registered.append(name)
    return registered
