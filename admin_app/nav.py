"""The navigation bar: each item is shown when its endpoint exists in the app and the
user's role may use it (read from the view's own ``@requires``, so the nav and the
access rules cannot disagree).

A blueprint whose page has one of the endpoint names below appears in the nav with
no further change; others call :func:`add_item` in their ``init_app(app)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from admin_app.rbac import can_access, required_access

EXTENSION_KEY = "upwatch.nav"


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    order: int = 100


DEFAULT_ITEMS: tuple[NavItem, ...] = (
    NavItem("Status", "status.index", 10),
    NavItem("Sites", "sites.index", 20),
    NavItem("Contacts", "contacts.index", 30),
    NavItem("Groups", "contacts.groups", 35),
    NavItem("Alerts", "alerts.index", 40),
    NavItem("History", "history.index", 50),
    NavItem("Reports", "reports.index", 60),
    NavItem("Admin", "users.dashboard", 70),
    NavItem("Users", "users.index", 80),
    NavItem("Settings", "settings.index", 90),
    NavItem("Config", "configgen.index", 95),
    NavItem("API docs", "docs.index", 100),
)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = list(DEFAULT_ITEMS)


def add_item(app: Flask, label: str, endpoint: str, order: int = 100) -> None:
    items: list[NavItem] = app.extensions[EXTENSION_KEY]
    if all(i.endpoint != endpoint for i in items):
        items.append(NavItem(label, endpoint, order))


def items_for(role: str | None) -> list[NavItem]:
    app = current_app
    out = []
    for item in sorted(app.extensions[EXTENSION_KEY], key=lambda i: (i.order, i.label)):
        if item.endpoint not in app.view_functions:
            continue
        access = required_access(item.endpoint, "GET", app)
        if access is not None and can_access(role, access):
            out.append(item)
    return out
