"""Hand-written parts of the OpenAPI description: the component schemas and, per
operation (``(method, rule)`` as in the URL map), what cannot be read from the
code: query parameters, the request body, the answers. Everything else -- every
path, method, path parameter, the access rule, the summary -- is generated from
the app (:mod:`admin_app.docs.openapi`), so an endpoint without an entry here is
still described."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with a time zone (Z or an offset); answers are UTC with Z",
    "example": "2024-05-01T12:00:00Z",
}
DURATION: Schema = {
    "type": "string",
    "description": "a duration: 500ms, 30s, 1m30s, 2h, or a number of seconds",
    "example": "30s",
}
SLUG: Schema = {
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$",
    "description": "the site's id (its slug: the `site` label in metrics and alerts)",
    "example": "shop",
}
SECONDS: Schema = {"type": "number", "minimum": 0}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "validation_error"},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "field name -> what is wrong with it",
                    },
                },
            }
        },
    },
    "TokenRequest": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    },
    "RefreshRequest": {
        "type": "object",
        "required": ["refresh_token"],
        "properties": {"refresh_token": {"type": "string"}},
    },
    "RevokeRequest": {
        "type": "object",
        "properties": {
            "token": {
                "type": "string",
                "description": "access or refresh token; default: the bearer",
            }
        },
    },
    "TokenPair": {
        "type": "object",
        "required": ["access_token", "refresh_token", "expires_in"],
        "properties": {
            "access_token": {"type": "string"},
            "refresh_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "description": "seconds the access token lasts"},
        },
    },
    "ContactBrief": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": nullable({"type": "string", "format": "email"}),
            "phone": nullable({"type": "string", "description": "E.164, e.g. +15551234567"}),
            "wants_email": {"type": "boolean"},
            "wants_sms": {"type": "boolean"},
        },
    },
    "ContactInput": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "email": nullable({"type": "string", "format": "email"}),
            "phone": nullable({"type": "string"}),
            "wants_email": {"type": "boolean"},
            "wants_sms": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "GroupInput": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "description": {"type": "string"},
            "members": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "contact ids",
            },
        },
        "additionalProperties": False,
    },
    "Expect": {
        "type": "object",
        "properties": {
            "status": {
                "type": "array",
                "items": {"type": "string"},
                "description": 'codes, ranges or classes: "200", "200-299", "2xx"',
                "example": ["200-299"],
            },
            "body_contains": {"type": "string"},
            "body_regex": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "SiteInput": {
        "type": "object",
        "description": "The fields of the site list (sites.yml), plus `paused`. "
        "`interval`, `timeout` and `confirmations` left out (or null) use the defaults "
        "of the settings page. HTTP-only fields are refused for tcp:// sites.",
        "properties": {
            "id": SLUG,
            "name": {"type": "string", "maxLength": 200},
            "url": {
                "type": "string",
                "description": "http://, https:// or tcp://host:port",
                "example": "https://shop.example.com/health",
            },
            "interval": nullable(DURATION),
            "timeout": nullable(DURATION),
            "confirmations": nullable({"type": "integer", "minimum": 1, "maximum": 100}),
            "method": {
                "type": "string",
                "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            },
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "expect": ref("Expect"),
            "follow_redirects": {"type": "boolean"},
            "tls_verify": {"type": "boolean"},
            "max_body_bytes": {"type": "integer", "minimum": 1},
            "maintenance": {"type": "boolean"},
            "paused": {"type": "boolean"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "contacts": {"type": "array", "items": {"type": "integer"}},
            "contact_groups": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Site": {
        "allOf": [
            ref("SiteInput"),
            {
                "type": "object",
                "required": ["id", "name", "url"],
                "properties": {
                    "contacts": {"type": "array", "items": ref("ContactBrief")},
                    "contact_groups": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                        },
                    },
                    "all_contacts": {"type": "array", "items": ref("ContactBrief")},
                    "created_at": TIMESTAMP,
                    "updated_at": TIMESTAMP,
                },
            },
        ]
    },
    "SiteList": {
        "type": "object",
        "required": ["sites"],
        "properties": {"sites": {"type": "array", "items": ref("Site")}},
    },
    "AddToSite": {
        "type": "object",
        "description": "exactly one of: an existing contact, a new contact, a group",
        "properties": {
            "contact_id": {"type": "integer"},
            "contact": ref("ContactInput"),
            "group_id": {"type": "integer"},
        },
        "additionalProperties": False,
    },
    "ProbeResult": {
        "type": "object",
        "description": "the exporter's /probe answer, and the exporter asked",
        "properties": {
            "success": {"type": "boolean"},
            "reason": nullable({"type": "string"}),
            "status_code": nullable({"type": "integer"}),
            "duration_seconds": {"type": "number"},
            "message": {"type": "string"},
            "exporter": {"type": "string"},
        },
    },
    "User": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "role": ref("Role"),
            "active": {"type": "boolean"},
            "created_at": TIMESTAMP,
            "last_login_at": nullable(TIMESTAMP),
        },
    },
    "UserInput": {
        "type": "object",
        "properties": {
            "username": {"type": "string", "maxLength": 64},
            "password": {"type": "string"},
            "role": ref("Role"),
            "active": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "Role": {
        "type": "string",
        "enum": [
            "admin",
            "it_staff",
            "developer",
            "customer_engagement",
            "flexipay_support",
            "ebanking_support",
        ],
    },
    "SiteBrief": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": SLUG, "name": nullable({"type": "string"})},
    },
    "Range": {
        "type": "object",
        "required": ["from", "to", "requested", "now"],
        "properties": {
            "from": TIMESTAMP,
            "to": TIMESTAMP,
            "requested": {
                "type": "object",
                "properties": {"from": TIMESTAMP, "to": TIMESTAMP},
            },
            "now": TIMESTAMP,
        },
    },
    "Interval": {
        "type": "object",
        "required": ["state", "start", "end", "duration_seconds", "reason"],
        "properties": {
            "state": {"type": "string", "enum": ["up", "down", "maintenance"]},
            "start": TIMESTAMP,
            "end": TIMESTAMP,
            "duration_seconds": SECONDS,
            "reason": {"type": "string"},
        },
    },
    "History": {
        "allOf": [
            ref("Range"),
            {
                "type": "object",
                "required": ["site", "intervals"],
                "properties": {
                    "site": ref("SiteBrief"),
                    "intervals": {"type": "array", "items": ref("Interval")},
                },
            },
        ]
    },
    "Uptime": {
        "allOf": [
            ref("Range"),
            {
                "type": "object",
                "required": ["site", "uptime_percent", "incidents", "downtime_seconds"],
                "properties": {
                    "site": ref("SiteBrief"),
                    "window": nullable({"type": "string"}),
                    "uptime_percent": nullable({"type": "number", "minimum": 0, "maximum": 100}),
                    "incidents": {"type": "integer", "minimum": 0},
                    "downtime_seconds": SECONDS,
                    "maintenance_seconds": SECONDS,
                    "monitored_seconds": SECONDS,
                    "mttr_seconds": nullable(SECONDS),
                    "longest_outage_seconds": SECONDS,
                    "response_time_seconds": {
                        "type": "object",
                        "properties": {
                            q: nullable({"type": "number"}) for q in ("p50", "p95", "p99")
                        },
                    },
                    "response_time_source": {
                        "description": "the store that answered response_time_seconds: "
                        "`prometheus` for ranges inside its retention "
                        "(UPWATCH_PROMETHEUS_RETENTION), `long_term` (UPWATCH_LONG_TERM_URL, "
                        "VictoriaMetrics) for older ranges; null when neither could",
                        "anyOf": [
                            {"type": "string", "enum": ["prometheus", "long_term"]},
                            {"type": "null"},
                        ],
                    },
                    "warnings": {"type": "array", "items": {"type": "string"}},
                },
            },
        ]
    },
    "Incident": {
        "type": "object",
        "required": ["id", "site", "status", "started_at", "ended_at", "duration_seconds"],
        "properties": {
            "id": {"type": "integer"},
            "site": ref("SiteBrief"),
            "alertname": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "started_at": TIMESTAMP,
            "ended_at": nullable(TIMESTAMP),
            "duration_seconds": SECONDS,
            "reason": {"type": "string"},
            "maintenance": {"type": "boolean"},
        },
    },
    "IncidentPage": {
        "type": "object",
        "required": ["incidents", "next_cursor"],
        "properties": {
            "incidents": {"type": "array", "items": ref("Incident")},
            "next_cursor": nullable({"type": "string"}),
        },
    },
    "AlertmanagerWebhook": {
        "type": "object",
        "description": "Alertmanager's webhook payload (version 4)",
        "required": ["version", "status", "alerts"],
        "properties": {
            "version": {"type": "string", "example": "4"},
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "receiver": {"type": "string"},
            "groupKey": {"type": "string"},
            "alerts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "string", "enum": ["firing", "resolved"]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "annotations": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "startsAt": TIMESTAMP,
                        "endsAt": TIMESTAMP,
                        "fingerprint": {"type": "string"},
                    },
                },
            },
        },
    },
}


# --------------------------------------------------------------------------- parameters


def query(name: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description, **extra}


FROM = query("from", TIMESTAMP, "start of the range (ISO 8601 with a zone)")
TO = query("to", TIMESTAMP, "end of the range (default: now)")
SITES = query(
    "site",
    {"type": "array", "items": SLUG},
    "site ids (repeat the parameter, or separate with commas; default: every site)",
    style="form",
    explode=True,
)
WINDOW = query(
    "window",
    {"type": "string", "pattern": "^[1-9][0-9]{0,5}[mhdw]$", "example": "30d"},
    "a window ending now: 24h, 7d, 30d, 90d (instead of from/to)",
)


def json_body(schema: Schema, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def ok(schema: Schema, description: str = "OK", status: str = "200") -> dict[str, Schema]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


NO_CONTENT = {"204": {"description": "done (no body)"}}
CSV = {
    "200": {
        "description": "the report as CSV (streamed)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX = {
    "200": {
        "description": "the report as an Excel workbook (sheets Summary and Incidents)",
        "content": {XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
YAML = {
    "200": {
        "description": "the generated file, secrets redacted",
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}
ANY_OBJECT: Schema = {"type": "object"}

# (METHOD, rule) -> parts of the operation object.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/auth/token"): {
        "summary": "Get an access and a refresh token for a username and password",
        "requestBody": json_body(ref("TokenRequest")),
        "responses": ok(ref("TokenPair")),
    },
    ("POST", "/api/v1/auth/refresh"): {
        "summary": "Swap a refresh token for a new pair (the old pair stops working)",
        "requestBody": json_body(ref("RefreshRequest")),
        "responses": ok(ref("TokenPair")),
    },
    ("POST", "/api/v1/auth/revoke"): {
        "summary": "Revoke a token pair",
        "requestBody": json_body(ref("RevokeRequest"), required=False),
        "responses": ok({"type": "object", "properties": {"revoked": {"type": "boolean"}}}),
    },
    ("GET", "/api/v1/sites"): {
        "summary": "List the sites",
        "responses": ok(ref("SiteList")),
    },
    ("POST", "/api/v1/sites"): {
        "summary": "Add a site",
        "requestBody": json_body(
            {"allOf": [ref("SiteInput"), {"type": "object", "required": ["url"]}]}
        ),
        "responses": ok(ref("Site"), "created", "201"),
    },
    ("GET", "/api/v1/sites/<slug>"): {"summary": "One site", "responses": ok(ref("Site"))},
    ("PATCH", "/api/v1/sites/<slug>"): {
        "summary": "Change some fields of a site",
        "requestBody": json_body(ref("SiteInput")),
        "responses": ok(ref("Site")),
    },
    ("DELETE", "/api/v1/sites/<slug>"): {"summary": "Remove a site", "responses": NO_CONTENT},
    ("POST", "/api/v1/sites/<slug>/contacts"): {
        "summary": "Add a contact (existing or new) or a contact group to a site",
        "requestBody": json_body(ref("AddToSite")),
        "responses": ok(
            {
                "type": "object",
                "properties": {"added": ANY_OBJECT, "site": ref("Site")},
            }
        ),
    },
    ("DELETE", "/api/v1/sites/<slug>/contacts/<int:contact_id>"): {
        "summary": "Stop telling a contact about a site",
        "responses": NO_CONTENT,
    },
    ("DELETE", "/api/v1/sites/<slug>/contact-groups/<int:group_id>"): {
        "summary": "Stop telling a contact group about a site",
        "responses": NO_CONTENT,
    },
    ("POST", "/api/v1/sites/<slug>/probe"): {
        "summary": "Test a site now through the exporter",
        "responses": {
            **ok(ref("ProbeResult")),
            "502": {
                "description": "the exporter could not be asked",
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    },
    ("GET", "/api/v1/sites/<slug>/history"): {
        "summary": "A site's up, down and maintenance intervals over a range",
        "parameters": [FROM, TO],
        "responses": ok(ref("History")),
    },
    ("GET", "/api/v1/sites/<slug>/uptime"): {
        "summary": "A site's uptime, incidents, downtime, MTTR and response times",
        "parameters": [WINDOW, FROM, TO],
        "responses": ok(ref("Uptime")),
    },
    ("GET", "/api/v1/incidents"): {
        "summary": "The incident log, newest first, a page at a time",
        "parameters": [
            SITES,
            FROM,
            TO,
            query("status", {"type": "string", "enum": ["open", "closed"]}, "open or closed"),
            query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size"),
            query("cursor", {"type": "string"}, "the next_cursor of the previous page"),
        ],
        "responses": ok(ref("IncidentPage")),
    },
    ("GET", "/api/v1/reports/downtime.csv"): {
        "summary": "The downtime report as CSV",
        "parameters": [
            FROM,
            TO,
            SITES,
            query(
                "part",
                {"type": "string", "enum": ["all", "incidents", "summary"]},
                "which part of the report",
            ),
        ],
        "responses": CSV,
    },
    ("GET", "/api/v1/reports/downtime.xlsx"): {
        "summary": "The downtime report as an Excel workbook",
        "parameters": [FROM, TO, SITES],
        "responses": XLSX,
    },
    ("GET", "/api/v1/users"): {
        "summary": "List the users",
        "responses": ok(
            {"type": "object", "properties": {"users": {"type": "array", "items": ref("User")}}}
        ),
    },
    ("POST", "/api/v1/users"): {
        "summary": "Add a user (only with a role whose permissions you hold)",
        "requestBody": json_body(
            {
                "allOf": [
                    ref("UserInput"),
                    {"type": "object", "required": ["username", "password", "role"]},
                ]
            }
        ),
        "responses": ok(ref("User"), "created", "201"),
    },
    ("GET", "/api/v1/users/<int:user_id>"): {"summary": "One user", "responses": ok(ref("User"))},
    ("PATCH", "/api/v1/users/<int:user_id>"): {
        "summary": "Change a user (a password or role change ends their sessions)",
        "requestBody": json_body(ref("UserInput")),
        "responses": ok(ref("User")),
    },
    ("DELETE", "/api/v1/users/<int:user_id>"): {
        "summary": "Remove a user",
        "responses": NO_CONTENT,
    },
    ("GET", "/api/v1/contacts"): {"summary": "List the contacts"},
    ("POST", "/api/v1/contacts"): {
        "summary": "Add a contact",
        "requestBody": json_body(ref("ContactInput")),
        "responses": ok(ref("ContactBrief"), "created", "201"),
    },
    ("GET", "/api/v1/contacts/<int:contact_id>"): {"summary": "One contact"},
    ("PATCH", "/api/v1/contacts/<int:contact_id>"): {
        "summary": "Change a contact",
        "requestBody": json_body(ref("ContactInput")),
    },
    ("DELETE", "/api/v1/contacts/<int:contact_id>"): {
        "summary": "Remove a contact",
        "responses": NO_CONTENT,
    },
    ("GET", "/api/v1/contact-groups"): {"summary": "List the contact groups"},
    ("POST", "/api/v1/contact-groups"): {
        "summary": "Add a contact group",
        "requestBody": json_body(ref("GroupInput")),
        "responses": ok(ANY_OBJECT, "created", "201"),
    },
    ("GET", "/api/v1/contact-groups/<int:group_id>"): {"summary": "One contact group"},
    ("PATCH", "/api/v1/contact-groups/<int:group_id>"): {
        "summary": "Change a contact group",
        "requestBody": json_body(ref("GroupInput")),
    },
    ("DELETE", "/api/v1/contact-groups/<int:group_id>"): {
        "summary": "Remove a contact group (409 for the operations group of the settings)",
        "responses": NO_CONTENT,
    },
    ("GET", "/api/v1/settings"): {"summary": "The settings (secrets only as set or not)"},
    ("PATCH", "/api/v1/settings"): {
        "summary": (
            "Change settings (SMTP, SMS provider, defaults of new sites, the operations "
            "contact group: operations_group, a contact group's id or name)"
        ),
        "requestBody": json_body(ANY_OBJECT),
    },
    ("GET", "/api/v1/config/status"): {"summary": "The state of configuration generation"},
    ("POST", "/api/v1/config/apply"): {
        "summary": "Regenerate sites.yml and alertmanager.yml now and reload both services"
    },
    ("GET", "/api/v1/config/<name>.yml"): {
        "summary": "A generated configuration file (secrets redacted)",
        "path_parameters": {"name": {"type": "string", "enum": ["sites", "alertmanager"]}},
        "responses": YAML,
    },
    ("GET", "/api/openapi.json"): {
        "summary": "This description of the API (OpenAPI 3.1)",
        "responses": ok(ANY_OBJECT),
    },
    ("POST", "/hooks/alertmanager"): {
        "summary": "Alertmanager's webhook receiver (the incident log and SMS)",
        "security": [{"webhookToken": []}],
        "requestBody": json_body(ref("AlertmanagerWebhook")),
        "responses": {
            **ok(ANY_OBJECT),
            "503": {
                "description": "recorded, but an SMS must be retried (Alertmanager sends "
                "the webhook again), or the app has no webhook token",
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    },
}
