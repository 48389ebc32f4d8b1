"""The site form <-> the fields the validator takes.

The form sends strings; they become the same dict the JSON API takes, so that both
go through :func:`admin_app.sites.validation.validate_site` and get the same
messages. Headers are one ``Name: value`` per line, labels one ``name=value`` per
line, expected statuses comma-separated. Empty fields mean "the default". For a
tcp:// site the HTTP-only fields are left out when they are at their defaults (the
form always has them), so that only a real mistake is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admin_app.models import DEFAULT_EXPECT_STATUS, DEFAULT_MAX_BODY_BYTES, Site
from admin_app.sites.validation import is_tcp_url
from exporter.config import format_duration

TEXT_FIELDS = (
    "id",
    "name",
    "url",
    "interval",
    "timeout",
    "confirmations",
    "method",
    "max_body_bytes",
    "headers",
    "labels",
    "expect_status",
    "body_contains",
    "body_regex",
)
CHECKBOXES = ("follow_redirects", "tls_verify", "maintenance", "paused")

# Which form input shows the message of each validator field.
FIELD_INPUTS = {
    "expect.status": "expect_status",
    "expect.body_contains": "body_contains",
    "expect.body_regex": "body_regex",
    "expect": "body_contains",
}


def _pairs(text: str, field: str, separators: str) -> tuple[dict[str, str], str | None]:
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        positions = [line.find(s) for s in separators if s in line]
        if not positions:
            example = "Name: value" if field == "headers" else "name=value"
            return out, f"line {number}: {line.strip()!r} is not {example!r}"
        cut = min(positions)
        key, value = line[:cut].strip(), line[cut + 1 :].strip()
        if not key:
            return out, f"line {number}: {line.strip()!r} has no name"
        out[key] = value
    return out, None


def raw_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """What was typed, to show the form again as it was sent."""
    values: dict[str, Any] = {k: form.get(k, "") for k in TEXT_FIELDS}
    for key in CHECKBOXES:
        values[key] = form.get(key) == "on"
    return values


def form_to_data(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(data, errors)``: the form as validator input, and the lines of the headers
    and labels boxes that could not be read."""
    v = raw_values(form)
    errors: dict[str, str] = {}
    headers, problem = _pairs(v["headers"], "headers", ":")
    if problem:
        errors["headers"] = problem
    labels, problem = _pairs(v["labels"], "labels", "=:")
    if problem:
        errors["labels"] = problem
    data: dict[str, Any] = {
        key: v[key]
        for key in ("id", "name", "url", "interval", "timeout", "confirmations", "method")
    }
    data["max_body_bytes"] = v["max_body_bytes"]
    data["headers"] = headers
    data["labels"] = labels
    data["expect"] = {
        "status": v["expect_status"],
        "body_contains": v["body_contains"],
        "body_regex": v["body_regex"],
    }
    for key in CHECKBOXES:
        data[key] = v[key]
    if is_tcp_url(data["url"]):
        _drop_http_defaults(data)
    return data, errors


def _drop_http_defaults(data: dict[str, Any]) -> None:
    if str(data.get("method") or "GET").strip().upper() == "GET":
        data.pop("method", None)
    if not data.get("headers"):
        data.pop("headers", None)
    expect = data.get("expect") or {}
    status = str(expect.get("status") or "").replace(" ", "")
    if status in ("", ",".join(DEFAULT_EXPECT_STATUS)) and not (
        expect.get("body_contains") or expect.get("body_regex")
    ):
        data.pop("expect", None)
    for key in ("follow_redirects", "tls_verify"):
        if data.get(key) is True:
            data.pop(key)
    if str(data.get("max_body_bytes") or "").strip() in ("", str(DEFAULT_MAX_BODY_BYTES)):
        data.pop("max_body_bytes", None)


def blank_values() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
    values.update(
        method="GET",
        expect_status=", ".join(DEFAULT_EXPECT_STATUS),
        max_body_bytes=str(DEFAULT_MAX_BODY_BYTES),
        follow_redirects=True,
        tls_verify=True,
        maintenance=False,
        paused=False,
    )
    return values


def site_values(site: Site) -> dict[str, Any]:
    """A stored site as the form shows it."""

    def duration(seconds: float | None) -> str:
        return "" if seconds is None else format_duration(seconds)

    return {
        "id": site.slug,
        "name": site.name,
        "url": site.url,
        "interval": duration(site.interval_seconds),
        "timeout": duration(site.timeout_seconds),
        "confirmations": "" if site.confirmations is None else str(site.confirmations),
        "method": site.method,
        "max_body_bytes": str(site.max_body_bytes),
        "headers": "\n".join(f"{k}: {v}" for k, v in (site.headers or {}).items()),
        "labels": "\n".join(f"{k}={v}" for k, v in (site.labels or {}).items()),
        "expect_status": ", ".join(site.expect_status or []),
        "body_contains": site.body_contains or "",
        "body_regex": site.body_regex or "",
        "follow_redirects": site.follow_redirects,
        "tls_verify": site.tls_verify,
        "maintenance": site.maintenance,
        "paused": site.paused,
    }


def input_errors(fields: Mapping[str, str]) -> dict[str, str]:
    """Validator fields -> the form inputs that show them."""
    out: dict[str, str] = {}
    for key, message in fields.items():
        name = FIELD_INPUTS.get(key, key)
        out[name] = f"{out[name]}; {message}" if name in out else message
    return out
