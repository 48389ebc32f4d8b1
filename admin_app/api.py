"""Small helpers for the JSON API: reading a request body and typed fields, so that
every endpoint answers bad input with the same shape of 4xx error."""

from __future__ import annotations

from typing import Any

from flask import request

from admin_app.errors import AppError

_MISSING = object()


def json_body(optional: bool = False) -> dict[str, Any]:
    """The request's JSON object; 400 if it is not one (or absent, unless optional)."""
    if not request.data and optional:
        return {}
    if not request.is_json:
        raise AppError(
            415 if request.data else 400,
            "invalid_body",
            "send a JSON object with 'Content-Type: application/json'",
        )
    data = request.get_json(silent=True)
    if data is None and not optional:
        raise AppError(400, "invalid_json", "the request body is not valid JSON")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AppError(400, "invalid_body", "the request body must be a JSON object")
    return data


def reject_unknown(
    data: dict[str, Any], allowed: set[str] | frozenset[str], errors: dict[str, str]
) -> None:
    for key in data:
        if key not in allowed:
            errors[key] = f"unknown field (allowed: {', '.join(sorted(allowed))})"


def string_field(
    data: dict[str, Any],
    name: str,
    errors: dict[str, str],
    required: bool = True,
    strip: bool = True,
) -> str:
    value = data.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            errors[name] = "is required"
        return ""
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return ""
    if required and not value.strip():
        errors[name] = "is required"
    return value.strip() if strip else value


def bool_value(value: Any) -> bool | None:
    """JSON booleans, and the strings a form sends; None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "on", "1", "yes"):
            return True
        if v in ("false", "off", "0", "no", ""):
            return False
    return None
