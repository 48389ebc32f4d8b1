"""What every template sees: the actor, their role's features and the nav."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from admin_app.nav import items_for
from admin_app.rbac import features_of
from admin_app.roles import Feature, Role


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, Any]:
        role = current_user.role if current_user.is_authenticated else None
        return {
            "nav_items": items_for(role),
            "user_features": features_of(role) if role else frozenset(),
            "Feature": Feature,
            "Role": Role,
            "role_label": lambda r: Role(r).label if r in Role._value2member_map_ else r,
        }
