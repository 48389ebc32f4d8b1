"""The OpenAPI 3.1 description of the JSON API, generated from the running app.

Every rule of the URL map under ``/api/`` (and the Alertmanager hook) becomes an
operation: its path and path parameters (with their converters' types), its
methods, its access rule from the RBAC registry (:func:`admin_app.rbac.endpoint_registry`:
public, or a bearer token of a role with "API Access" and the feature), and its
summary and description from the view's docstring. :mod:`admin_app.docs.schemas`
adds what the code cannot tell: query parameters, request bodies and answer
schemas. So a new endpoint is described the moment it exists, and a test checks
that none is missing.
"""

from __future__ import annotations

import copy
import inspect
import re
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from admin_app.rbac import PUBLIC, EndpointAccess, endpoint_registry
from admin_app.roles import Feature

from . import schemas

OPENAPI_VERSION = "3.1.0"
DESCRIBED_PREFIXES = ("/api/", "/hooks/")
TAGS = {
    "auth": "Tokens",
    "sites": "Sites",
    "contacts": "Contacts",
    "users": "Users",
    "settings": "Settings",
    "configgen": "Configuration",
    "history": "History",
    "reports": "Reports",
    "hooks": "Hooks",
    "docs": "API description",
}
_ARG_RE = re.compile(r"<(?:([^:<>()]+)(?:\([^<>]*\))?:)?([^<>]+)>")
ERROR_STATUSES = {
    "400": "bad input: the message (and `fields`) name the parameter or field",
    "401": "no bearer token, or one that is expired or revoked",
    "403": "the role has no API access, or lacks this endpoint's permission",
    "404": "no such object",
    "409": "conflicts with an existing object",
    "415": "the body is not JSON",
    "422": "a field is invalid (`fields` says which and why)",
}


def openapi_path(rule: str) -> str:
    """``/api/v1/users/<int:user_id>`` -> ``/api/v1/users/{user_id}``."""
    return _ARG_RE.sub(lambda m: "{" + m.group(2) + "}", rule)


def _converter_schema(converter: Any) -> dict[str, Any]:
    name = type(converter).__name__
    if isinstance(converter, IntegerConverter):
        return {"type": "integer", "minimum": 0, "maximum": 999_999_999}
    if name == "FloatConverter":
        return {"type": "number", "minimum": 0}
    if name == "UUIDConverter":
        return {"type": "string", "format": "uuid"}
    return {"type": "string", "pattern": "^[^/]+$"}


def _docstring(view: Any) -> tuple[str, str]:
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    doc = inspect.getdoc(view) or ""
    if not doc:
        return "", ""
    doc = doc.replace("``", "`")  # reStructuredText literals -> CommonMark
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _access_text(entry: EndpointAccess, override: dict[str, Any]) -> str:
    if "security" in override:
        return "Authenticated by its own token (see `security`), not by an API token."
    if entry.access == PUBLIC:
        return "No token needed."
    try:
        label = Feature(entry.access).label
    except ValueError:  # any signed-in user
        return "Bearer token of a role with the permission API Access."
    if entry.access == Feature.API_ACCESS:
        return "Bearer token of a role with the permission API Access."
    return f"Bearer token of a role with the permissions API Access and {label}."


def _parameters(rule: Rule, override: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    path_overrides = override.get("path_parameters", {})
    for name in [m.group(2) for m in _ARG_RE.finditer(rule.rule)]:
        schema = path_overrides.get(name)
        if schema is None:
            converter = rule._converters.get(name)  # werkzeug has no public accessor
            schema = _converter_schema(converter)
            if name == "slug":
                schema = dict(schemas.SLUG)
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    params.extend(copy.deepcopy(override.get("parameters", [])))
    return params


def _responses(entry: EndpointAccess, method: str, has_path_args: bool, override: dict) -> dict:
    responses: dict[str, Any] = copy.deepcopy(
        override.get("responses")
        or {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    )
    error = {"content": {"application/json": {"schema": schemas.ref("Error")}}}
    wanted = ["400"]
    if entry.access != PUBLIC or entry.endpoint.startswith("hooks."):
        wanted += ["401", "403"]
    if has_path_args:
        wanted.append("404")
    if method in ("POST", "PATCH", "PUT"):
        wanted += ["409", "415", "422"]
    if entry.endpoint == "auth.api_token":
        wanted += ["401", "403", "429"]
    for status in wanted:
        if status not in responses:
            text = ERROR_STATUSES.get(status, "too many failed logins: try again later")
            responses[status] = {"description": text, **copy.deepcopy(error)}
    return responses


def build_spec(app: Flask, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI document of ``app``."""
    rules = {(r.rule, r.endpoint): r for r in app.url_map.iter_rules()}
    paths: dict[str, dict[str, Any]] = {}
    used_tags: dict[str, None] = {}
    for entry in endpoint_registry(app):
        if not entry.rule.startswith(DESCRIBED_PREFIXES):
            continue
        rule = rules[(entry.rule, entry.endpoint)]
        view = app.view_functions[entry.endpoint]
        summary, description = _docstring(view)
        blueprint = entry.endpoint.split(".", 1)[0]
        tag = TAGS.get(blueprint, blueprint)
        used_tags[tag] = None
        item = paths.setdefault(openapi_path(entry.rule), {})
        for method in entry.methods:
            override = schemas.OPERATIONS.get((method, entry.rule), {})
            access = _access_text(entry, override)
            op: dict[str, Any] = {
                "operationId": f"{entry.endpoint.replace('.', '_')}_{method.lower()}",
                "tags": [tag],
                "summary": override.get("summary") or summary or f"{method} {entry.rule}",
                "description": "\n\n".join(p for p in (description, access) if p),
                "x-upwatch-permission": str(entry.access),
                "x-upwatch-endpoint": entry.endpoint,
            }
            params = _parameters(rule, override)
            if params:
                op["parameters"] = params
            if "requestBody" in override:
                op["requestBody"] = copy.deepcopy(override["requestBody"])
            elif method in ("POST", "PATCH", "PUT"):
                op["requestBody"] = schemas.json_body({"type": "object"}, required=False)
            op["responses"] = _responses(entry, method, bool(rule.arguments), override)
            if "security" in override:
                op["security"] = override["security"]
            elif entry.access == PUBLIC:
                op["security"] = []
            item[method.lower()] = op
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Upwatch admin API",
            "version": "1",
            "description": (
                "The JSON API of the Upwatch admin app: sites and who is told about "
                "them, users, settings, the generated configuration, the history of "
                "every site's up and down times, and downtime reports.\n\n"
                "Get a token with `POST /api/v1/auth/token` and send it as "
                "`Authorization: Bearer <access_token>`; only roles with the "
                '"API Access" permission get one, and each endpoint needs the '
                "permission of its feature as well (see `x-upwatch-permission`). "
                'Errors are `{"error": {"code", "message"}}` with the right '
                "status; timestamps are ISO 8601, UTC with `Z` in answers."
            ),
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": t} for t in used_tags],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": copy.deepcopy(schemas.SCHEMAS),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token from POST /api/v1/auth/token",
                },
                "webhookToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the webhook token (UPWATCH_WEBHOOK_TOKEN)",
                },
            },
        },
        "security": [{"bearerAuth": []}],
    }


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` of a spec, in path order (for the docs page)."""
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            out.append((method.upper(), path, op))
    return out
