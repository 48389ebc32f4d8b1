"""The site-list contract (``sites.yml``): schema, defaults, load and validation.

The admin app writes this file and the exporter reads it. Validation is strict, in
the manner of blackbox_exporter's modules: unknown keys, bad URLs, bad durations,
duplicate ids and a timeout longer than the interval are errors, and every message
names the site and the field so that the person who wrote the file can fix it.
A file that fails validation is never applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

MIN_INTERVAL = 1.0
MAX_INTERVAL = 24 * 3600.0
DEFAULT_STATUS = ("200-299",)
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
RESERVED_LABELS = ("site", "name", "url", "type", "reason", "result", "le", "location")
# labels.quorum: how many of the locations that probe a site (exporters started with
# --location) must see it down before SiteDown pages: `any` one of them, a
# `majority` (more than half of those with a verdict), or `all` of them. The default
# is majority: with two locations it means both (one location's own network trouble
# pages nobody), with three it means two (one location may fail, or be down itself,
# and the site still pages); `any` trades false pages for speed, `all` lets one
# location that cannot reach the site's network hold every page back. With a single
# location the three are the same. Read by prometheus/rules/alerts.yml.
QUORUMS = ("any", "majority", "all")
DEFAULT_QUORUM = "majority"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SITE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LOCATION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_STATUS_RANGE = re.compile(r"^([1-5])xx$|^(\d{3})(?:-(\d{3}))?$")

DEFAULTS_KEYS = {
    "interval",
    "timeout",
    "confirmations",
    "method",
    "follow_redirects",
    "tls_verify",
    "max_body_bytes",
}
SITE_FIELDS = (  # in the order the admin app writes them
    "id",
    "name",
    "url",
    "interval",
    "timeout",
    "confirmations",
    "method",
    "headers",
    "expect",
    "follow_redirects",
    "tls_verify",
    "max_body_bytes",
    "maintenance",
    "labels",
)
SITE_KEYS = set(SITE_FIELDS)
HTTP_ONLY_KEYS = {"method", "headers", "expect", "follow_redirects", "tls_verify", "max_body_bytes"}
EXPECT_KEYS = {"status", "body_contains", "body_regex"}


class ConfigError(Exception):
    """The site list is invalid; ``errors`` holds one message per problem."""

    def __init__(self, errors: list[str], source: str = "site list"):
        self.errors = errors
        self.source = source
        super().__init__(f"{source}: " + "; ".join(errors))

    def __str__(self) -> str:
        lines = [f"{self.source}: {len(self.errors)} error(s)"]
        lines += [f"  - {e}" for e in self.errors]
        return "\n".join(lines)


@dataclass(frozen=True)
class Site:
    """One monitored site, with every default applied. Immutable and comparable, so
    that a reload can tell which sites changed."""

    id: str
    url: str
    name: str = ""
    interval: float = 30.0
    timeout: float = 10.0
    confirmations: int = 2
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: tuple[tuple[int, int], ...] = ((200, 299),)
    body_contains: str | None = None
    body_regex: str | None = None
    follow_redirects: bool = True
    tls_verify: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    maintenance: bool = False
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        """The probe type: ``http`` (for http and https URLs) or ``tcp``."""
        return "tcp" if self.url.startswith("tcp://") else "http"

    @cached_property
    def compiled_regex(self) -> re.Pattern[bytes] | None:
        return re.compile(self.body_regex.encode()) if self.body_regex else None

    def status_ok(self, code: int) -> bool:
        return any(lo <= code <= hi for lo, hi in self.expect_status)

    @property
    def display_name(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class SiteList:
    sites: tuple[Site, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)

    def by_id(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}


# --------------------------------------------------------------------------- parsing


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A SafeLoader (libyaml's when present: ten times faster on 10,000 sites) that
    refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark
            )
        seen[key] = True
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_duration(value: Any) -> float:
    """``30s``, ``1m30s``, ``500ms``, ``2h`` or a bare number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 1m, 500ms)")
    text = value.strip()
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 1m, 500ms)")
    return total


def format_duration(seconds: float) -> str:
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def parse_status(value: Any) -> tuple[int, int]:
    """``200``, ``"200"``, ``"200-299"`` or ``"2xx"`` -> an inclusive range."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a status code")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a status code or range")
    m = _STATUS_RANGE.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a status code or range (use 200, 200-299 or 2xx)")
    if m.group(1):
        lo = int(m.group(1)) * 100
        return lo, lo + 99
    lo = int(m.group(2))
    hi = int(m.group(3)) if m.group(3) else lo
    if not (100 <= lo <= 599 and 100 <= hi <= 599):
        raise ValueError(f"{value!r}: status codes run from 100 to 599")
    if hi < lo:
        raise ValueError(f"{value!r}: the range ends before it starts")
    return lo, hi


def check_location(value: str) -> str:
    """The exporter's ``--location``: a short slug, as it becomes a label value and
    appears in dashboards and alerts (``eu``, ``us-east``, ``dc_2``)."""
    if not _LOCATION.match(value):
        raise ValueError(
            f"location {value!r} must be a short slug: lowercase letters, digits, - and _, "
            "starting with a letter or digit, at most 32"
        )
    return value


def check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValueError("must be a URL such as https://example.com/health or tcp://host:port")
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https", "tcp"):
        raise ValueError(f"{url!r}: the scheme must be http, https or tcp")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    if any(c.isspace() for c in url):
        raise ValueError(f"{url!r} contains whitespace")
    if parts.scheme == "tcp":
        if port is None:
            raise ValueError(f"{url!r}: a tcp URL needs a port, as in tcp://host:5432")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"{url!r}: a tcp URL has only a host and a port")
    if port == 0:
        raise ValueError(f"{url!r}: port 0 is not a valid port")
    return url


class _Checker:
    """Collects errors with the place they come from, and returns a fallback value
    so that one bad field does not hide the others."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def get(self, where: str, fn, value, fallback):
        try:
            return fn(value)
        except ValueError as exc:
            self.error(where, str(exc))
            return fallback


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} must be true or false")
    return value


def _as_confirmations(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValueError(f"{value!r} must be a whole number from 1 to 100")
    return value


def _as_body_bytes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} must be a positive whole number of bytes")
    return value


def _as_method(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in HTTP_METHODS:
        raise ValueError(f"{value!r} must be one of {', '.join(HTTP_METHODS)}")
    return value.upper()


def _as_interval(value: Any) -> float:
    seconds = parse_duration(value)
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise ValueError(f"{value!r} must be between 1s and 24h")
    return seconds


def _as_timeout(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than 0s")
    return seconds


def _str_map(value: Any, what: str, key_pattern: re.Pattern[str] | None = None):
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping of {what}")
    out = []
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise ValueError(f"{k!r} is not a valid name")
        if key_pattern and not key_pattern.match(k):
            raise ValueError(f"{k!r} is not a valid label name (letters, digits, _)")
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise ValueError(f"{k}: {v!r} must be a string")
        v = str(v)
        if "\n" in v or "\r" in v:
            raise ValueError(f"{k}: the value must not contain a line break")
        out.append((k, v))
    return tuple(sorted(out))


_DEFAULT_FIELDS = {
    "interval": (_as_interval, 30.0),
    "timeout": (_as_timeout, 10.0),
    "confirmations": (_as_confirmations, 2),
    "method": (_as_method, "GET"),
    "follow_redirects": (_as_bool, True),
    "tls_verify": (_as_bool, True),
    "max_body_bytes": (_as_body_bytes, DEFAULT_MAX_BODY_BYTES),
}


def _parse_defaults(raw: Any, ck: _Checker) -> dict[str, Any]:
    out = {k: fallback for k, (_fn, fallback) in _DEFAULT_FIELDS.items()}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        ck.error("defaults", "must be a mapping such as {interval: 30s, timeout: 10s}")
        return out
    for key in sorted(set(raw) - DEFAULTS_KEYS, key=str):
        ck.error(f"defaults.{key}", f"unknown key (allowed: {', '.join(sorted(DEFAULTS_KEYS))})")
    for key, (fn, fallback) in _DEFAULT_FIELDS.items():
        if key in raw:
            out[key] = ck.get(f"defaults.{key}", fn, raw[key], fallback)
    if "timeout" not in raw:
        out["timeout"] = min(out["timeout"], out["interval"])
    if out["timeout"] > out["interval"]:
        ck.error("defaults.timeout", "is longer than defaults.interval")
    return out


def _parse_expect(raw: Any, where: str, ck: _Checker) -> dict[str, Any]:
    out: dict[str, Any] = {
        "expect_status": ((200, 299),),
        "body_contains": None,
        "body_regex": None,
    }
    if not isinstance(raw, dict):
        ck.error(where, "must be a mapping with status, body_contains or body_regex")
        return out
    for key in sorted(set(raw) - EXPECT_KEYS, key=str):
        ck.error(f"{where}.{key}", f"unknown key (allowed: {', '.join(sorted(EXPECT_KEYS))})")
    if "status" in raw:
        status = raw["status"]
        items = status if isinstance(status, list) else [status]
        if not items:
            ck.error(f"{where}.status", "must list at least one status code or range")
        ranges = [ck.get(f"{where}.status", parse_status, s, None) for s in items]
        if all(ranges) and ranges:
            out["expect_status"] = tuple(ranges)
    if raw.get("body_contains") is not None and raw.get("body_regex") is not None:
        ck.error(where, "give body_contains or body_regex, not both")
    if "body_contains" in raw:
        text = raw["body_contains"]
        if not isinstance(text, str) or not text:
            ck.error(f"{where}.body_contains", "must be a non-empty string")
        else:
            out["body_contains"] = text
    if "body_regex" in raw:
        pattern = raw["body_regex"]
        if not isinstance(pattern, str) or not pattern:
            ck.error(f"{where}.body_regex", "must be a non-empty regular expression")
        else:
            try:
                re.compile(pattern.encode())
                out["body_regex"] = pattern
            except re.error as exc:
                ck.error(
                    f"{where}.body_regex", f"{pattern!r} is not a valid regular expression ({exc})"
                )
    return out


def _parse_site(raw: Any, index: int, defaults: dict[str, Any], ck: _Checker) -> Site | None:
    if not isinstance(raw, dict):
        ck.error(f"sites[{index}]", "must be a mapping with at least id and url")
        return None
    site_id = raw.get("id")
    label = f"sites[{index}]" + (f" ({site_id})" if isinstance(site_id, str) and site_id else "")
    before = len(ck.errors)
    for key in sorted(set(raw) - SITE_KEYS, key=str):
        ck.error(f"{label}.{key}", f"unknown key (allowed: {', '.join(sorted(SITE_KEYS))})")
    if site_id is None:
        ck.error(f"{label}.id", "is required")
    elif not isinstance(site_id, str) or not _SITE_ID.match(site_id):
        ck.error(
            f"{label}.id",
            f"{site_id!r} must be a slug: lowercase letters, digits, - and _, at most 64",
        )
    if "url" not in raw:
        ck.error(f"{label}.url", "is required")
        url = None
    else:
        url = ck.get(f"{label}.url", check_url, raw["url"], None)
    values: dict[str, Any] = dict(defaults)
    for key, (fn, _fallback) in _DEFAULT_FIELDS.items():
        if key in raw:
            values[key] = ck.get(f"{label}.{key}", fn, raw[key], defaults[key])
    name = raw.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str):
        ck.error(f"{label}.name", f"{name!r} must be a string")
        name = ""
    if "\n" in name or "\r" in name:
        ck.error(f"{label}.name", "must not contain a line break")
    maintenance = ck.get(f"{label}.maintenance", _as_bool, raw.get("maintenance", False), False)
    headers = ck.get(
        f"{label}.headers",
        lambda v: _str_map(v, "header names to values"),
        raw.get("headers", {}),
        (),
    )
    labels = ck.get(
        f"{label}.labels",
        lambda v: _str_map(v, "label names to values", _LABEL_NAME),
        raw.get("labels", {}),
        (),
    )
    for lname, lvalue in labels:
        if lname in RESERVED_LABELS:
            ck.error(f"{label}.labels.{lname}", "is a reserved label name")
        elif lname == "quorum" and lvalue not in QUORUMS:
            ck.error(
                f"{label}.labels.quorum",
                f"{lvalue!r} must be one of {', '.join(QUORUMS)} "
                f"(how many locations must see the site down; default {DEFAULT_QUORUM})",
            )
    expect = _parse_expect(raw.get("expect", {}), f"{label}.expect", ck)
    if url and url.startswith("tcp://"):
        for key in sorted(HTTP_ONLY_KEYS & set(raw)):
            ck.error(f"{label}.{key}", "applies only to http and https sites, not tcp")
    if "timeout" not in raw and values["timeout"] > values["interval"]:
        values["timeout"] = values["interval"]  # as Prometheus does for scrape_timeout
    if values["timeout"] > values["interval"]:
        ck.error(
            f"{label}.timeout",
            f"{format_duration(values['timeout'])} is longer than the interval "
            f"{format_duration(values['interval'])}",
        )
    if len(ck.errors) != before or not url:
        return None
    return Site(
        id=site_id,
        url=url,
        name=name,
        interval=values["interval"],
        timeout=values["timeout"],
        confirmations=values["confirmations"],
        method=values["method"],
        headers=headers,
        follow_redirects=values["follow_redirects"],
        tls_verify=values["tls_verify"],
        max_body_bytes=values["max_body_bytes"],
        maintenance=maintenance,
        labels=labels,
        **expect,
    )


def parse_site_list(data: Any, source: str = "site list") -> SiteList:
    """Validate already-parsed YAML data. Raises ConfigError listing every problem."""
    ck = _Checker()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping with 'sites' (and 'defaults')"], source)
    for key in sorted(set(data) - {"defaults", "sites"}, key=str):
        ck.error(str(key), "unknown top-level key (allowed: defaults, sites)")
    defaults = _parse_defaults(data.get("defaults"), ck)
    raw_sites = data.get("sites") or []
    if not isinstance(raw_sites, list):
        ck.error("sites", "must be a list of sites")
        raw_sites = []
    sites: list[Site] = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(raw_sites):
        site = _parse_site(raw, i, defaults, ck)
        sid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(sid, str):
            if sid in first_index:
                ck.error(
                    f"sites[{i}] ({sid}).id",
                    f"duplicate id, already used by sites[{first_index[sid]}]",
                )
            else:
                first_index[sid] = i
        if site is not None:
            sites.append(site)
    if ck.errors:
        raise ConfigError(ck.errors, source)
    return SiteList(sites=tuple(sites), defaults=defaults)


def parse_yaml(text: str, source: str = "site list") -> SiteList:
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}invalid YAML: {problem}"], source) from None
    return parse_site_list(data, source)


def load_file(path: str | Path) -> SiteList:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(["file not found"], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the file: {exc}"], str(path)) from None
    return parse_yaml(text, str(path))
