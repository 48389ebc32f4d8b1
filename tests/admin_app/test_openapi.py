"""The OpenAPI description (``/api/openapi.json``) and the ``/docs`` page: every API
rule of the app is described with its methods, parameters and access rule; every
reference resolves; who may read them. Schemathesis runs against it in
test_openapi_schemathesis.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from admin_app import create_app
from admin_app.db import get_database
from admin_app.docs.openapi import build_spec, openapi_path
from admin_app.rbac import PUBLIC, endpoint_registry
from admin_app.roles import Role
from tests.admin_app.conftest import AuthActions, base_config

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec_app() -> Any:
    app = create_app(base_config("sqlite://", Path("/nonexistent-upwatch-test-dir")))
    yield app
    get_database(app).dispose()


@pytest.fixture(scope="module")
def spec(spec_app: Flask) -> dict[str, Any]:
    return build_spec(spec_app)


def test_every_api_rule_is_described(spec_app: Flask, spec: dict[str, Any]) -> None:
    """Straight from the URL map: each /api/v1 rule and each of its methods."""
    missing = []
    for rule in spec_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        item = spec["paths"].get(openapi_path(rule.rule), {})
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in item:
                missing.append(f"{method} {rule.rule}")
    assert missing == []
    assert len(spec["paths"]) >= 25


def test_operations_carry_their_access_rule(spec_app: Flask, spec: dict[str, Any]) -> None:
    by_rule = {
        (openapi_path(e.rule), m.lower()): e for e in endpoint_registry(spec_app) for m in e.methods
    }
    ids = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert method in HTTP_METHODS
            entry = by_rule[(path, method)]
            assert op["x-upwatch-permission"] == str(entry.access)
            assert op["operationId"] not in ids
            ids.add(op["operationId"])
            assert op["summary"] and op["responses"]
            if entry.access == PUBLIC and not path.startswith("/hooks/"):
                assert op["security"] == []
                assert "No token needed" in op["description"]
            elif not path.startswith("/hooks/"):
                assert "security" not in op  # the document's default: bearerAuth
                assert "401" in op["responses"] and "403" in op["responses"]
            for name in re.findall(r"{([^}]+)}", path):
                params = [p for p in op.get("parameters", []) if p["in"] == "path"]
                assert name in [p["name"] for p in params], (path, name)
    assert spec["security"] == [{"bearerAuth": []}]
    users = spec["paths"]["/api/v1/users/{user_id}"]["get"]
    assert users["parameters"][0]["schema"]["type"] == "integer"
    assert "API Access and User Management" in users["description"]


def test_main_operations_have_their_schemas(spec: dict[str, Any]) -> None:
    paths = spec["paths"]

    def schema_of(path: str, method: str, status: str = "200") -> Any:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert schema_of("/api/v1/auth/token", "post") == {"$ref": "#/components/schemas/TokenPair"}
    assert schema_of("/api/v1/sites", "post", "201") == {"$ref": "#/components/schemas/Site"}
    assert schema_of("/api/v1/sites/{slug}/history", "get")["$ref"].endswith("/History")
    assert schema_of("/api/v1/sites/{slug}/uptime", "get")["$ref"].endswith("/Uptime")
    assert schema_of("/api/v1/incidents", "get")["$ref"].endswith("/IncidentPage")
    names = [p["name"] for p in paths["/api/v1/incidents"]["get"]["parameters"]]
    assert names == ["site", "from", "to", "status", "limit", "cursor"]
    csv = paths["/api/v1/reports/downtime.csv"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in csv
    body = paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/TokenRequest"}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return out + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    """Schemathesis' own loader accepts it and finds every operation."""
    import schemathesis

    schema = schemathesis.openapi.from_dict(spec)
    operations = [op for op in schema.get_all_operations()]
    assert all(op.ok() for op in operations)
    assert len(operations) == sum(len(item) for item in spec["paths"].values())


def test_openapi_json_needs_api_access(app: Flask, client, api) -> None:
    assert client.get("/api/openapi.json").status_code == 401
    assert api.as_role(Role.IT_STAFF).get("/api/openapi.json").status_code == 403
    response = api.as_role(Role.DEVELOPER).get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["openapi"].startswith("3.1")
    assert "/api/v1/sites/{slug}/uptime" in response.json["paths"]


def test_docs_page_renders_every_operation(
    app: Flask, auth: AuthActions, client, spec: dict[str, Any]
) -> None:
    auth.login_as(Role.DEVELOPER)
    response = client.get("/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    count = sum(len(item) for item in spec["paths"].values())
    assert page.count('<details class="op op-') == count
    assert page.count('<form class="try"') == count
    assert 'data-path="/api/v1/sites/{slug}/history"' in page
    assert "docs.js" in page and "cdn" not in page.lower()
    assert re.search(r"<script[^>]*>\s*[^<\s]", page) is None  # no inline script (CSP)


def test_docs_page_needs_api_access(app: Flask, auth: AuthActions, client) -> None:
    auth.login_as(Role.IT_STAFF)
    assert client.get("/docs").status_code == 403
