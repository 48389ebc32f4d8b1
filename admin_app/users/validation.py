"""Validation of user input, in one place for the forms, the API and the CLI, so
that each gives the same message for the same mistake. Pure: no database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from admin_app.api import bool_value
from admin_app.auth.passwords import password_problem
from admin_app.models import USERNAME_MAX
from admin_app.roles import Role

USER_FIELDS = frozenset({"username", "password", "role", "active"})
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]*$")
ROLE_NAMES = ", ".join(r.value for r in Role)


def username_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "a username is required"
    name = value.strip().lower()
    if len(name) > USERNAME_MAX:
        return f"must be at most {USERNAME_MAX} characters"
    if not USERNAME_RE.match(name):
        return (
            "may contain only letters, digits and . _ @ - (and must start with a letter or digit)"
        )
    return None


def validate_user(data: Mapping[str, Any], creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """``(clean, errors)``: the normalized values given, and one message per bad field.

    When creating, username, password and role are required; when updating, only the
    fields present are checked. Unknown fields are errors.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in data:
        if key not in USER_FIELDS:
            errors[key] = f"unknown field (allowed: {', '.join(sorted(USER_FIELDS))})"

    if "username" in data or creating:
        problem = username_problem(data.get("username"))
        if problem:
            errors["username"] = problem
        else:
            clean["username"] = data["username"].strip().lower()

    if "password" in data or creating:
        problem = password_problem(data.get("password"))
        if problem:
            errors["password"] = problem
        else:
            clean["password"] = data["password"]

    if "role" in data or creating:
        role = data.get("role")
        if not isinstance(role, str) or not role.strip():
            errors["role"] = f"a role is required (one of: {ROLE_NAMES})"
        elif role.strip().lower() not in Role._value2member_map_:
            errors["role"] = f"{role!r} is not a role (one of: {ROLE_NAMES})"
        else:
            clean["role"] = Role(role.strip().lower()).value

    if "active" in data:
        active = bool_value(data["active"])
        if active is None:
            errors["active"] = "must be true or false"
        else:
            clean["active"] = active
    elif creating:
        clean["active"] = True
    return clean, errors
