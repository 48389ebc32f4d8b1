"""``GET /api/openapi.json`` and ``GET /docs``.

Access: both need "API Access". The description is of use only to those who may
call the API, every page and endpoint maps to a feature of the matrix (REQUIREMENTS.md),
and the API's feature is "API Access". ``/api/openapi.json`` is an API endpoint
(bearer token, like the rest of ``/api/``); ``/docs`` is a page (browser session)
and carries the description in the page itself, so it needs no token to render;
its "Try it" forms get one with the user's password.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, render_template, request

from admin_app.docs import bp
from admin_app.docs.openapi import build_spec, operations
from admin_app.rbac import requires
from admin_app.roles import Feature

SPEC_KEY = "upwatch.openapi"


def spec_for(app: Flask) -> dict[str, Any]:
    """The app's description, built once (the URL map does not change)."""
    spec = app.extensions.get(SPEC_KEY)
    if spec is None:
        spec = app.extensions.setdefault(SPEC_KEY, build_spec(app))
    return spec


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A small example value of ``schema`` (required fields, or all at the top), for
    the "Try it" body fields."""
    if depth > 4:
        return None
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth + 1)
    if "example" in schema:
        return schema["example"]
    if "allOf" in schema:
        out: dict[str, Any] = {}
        required: set[str] = set()
        for part in schema["allOf"]:
            resolved = part
            if "$ref" in part:
                resolved = components[part["$ref"].rsplit("/", 1)[-1]]
            required |= set(resolved.get("required", []))
        for part in schema["allOf"]:
            value = example_of(part, components, depth + 1)
            if isinstance(value, dict):
                out.update(value)
        if required:
            out = {k: v for k, v in out.items() if k in required} or out
        return out
    if "anyOf" in schema:
        return example_of(schema["anyOf"][0], components, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        keys = schema.get("required") or list(props)
        return {k: example_of(props.get(k, {}), components, depth + 1) for k in keys if k in props}
    if kind == "array":
        return []
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return 0
    if kind == "boolean":
        return False
    if kind == "string":
        return "string"
    return None


@bp.route("/api/openapi.json")
@requires(Feature.API_ACCESS)
def openapi_json() -> Response:
    """This description of the API (OpenAPI 3.1), generated from the app itself."""
    body = json.dumps(spec_for(current_app._get_current_object()), indent=1)  # type: ignore[attr-defined]
    return Response(body, mimetype="application/json")


@bp.route("/docs")
@requires(Feature.API_ACCESS)
def index() -> str:
    spec = spec_for(current_app._get_current_object())  # type: ignore[attr-defined]
    components = spec["components"]["schemas"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for method, path, op in operations(spec):
        body = op.get("requestBody")
        body_schema = None
        body_example = None
        if body:
            body_schema = body["content"]["application/json"]["schema"]
            body_example = json.dumps(example_of(body_schema, components), indent=2)
        groups.setdefault(op["tags"][0], []).append(
            {
                "method": method,
                "path": path,
                "op": op,
                "body_schema": body_schema,
                "body_example": body_example,
                "public": op.get("security") == [],
            }
        )
    return render_template(
        "docs/index.html",
        spec=spec,
        groups=groups,
        components=components,
        base_url=request.host_url.rstrip("/"),
        as_json=lambda v: json.dumps(v, indent=2),
    )
