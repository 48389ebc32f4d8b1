"""The SMS texts, at most :data:`SMS_MAX` characters (one GSM-7 segment). Pure.

* down: ``[Upwatch] DOWN: Web shop (https://shop.example.com) since 2024-05-01
  10:00:12 UTC: timeout``
* up: ``[Upwatch] UP: Web shop is back after 4m 12s``
* an exporter (UpwatchExporterDown, to the operations contacts): ``Upwatch exporter
  10.0.0.5:9115 (eu, shard 2/3) is down: its sites are not monitored`` and ``Upwatch
  exporter 10.0.0.5:9115 (eu, shard 2/3) is back``

When the text would be longer, the site's name is shortened first (to no less
than :data:`MIN_NAME` characters), leaving the URL up to :data:`URL_SHARE`
characters; then the URL is shortened to what is left (or dropped), then whatever
is still too long is cut. A shortened part ends in ``...`` (ASCII, so that the text
stays GSM-7).
"""

from __future__ import annotations

from datetime import UTC, datetime

SMS_MAX = 160
MIN_NAME = 20
MIN_URL = 12
URL_SHARE = 40
ELLIPSIS = "..."
PREFIX = "[Upwatch]"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[: max(limit, 0)]
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def clean(text: str) -> str:
    """One line: whitespace runs (line breaks too) collapsed, control characters gone."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float) -> str:
    """``4m 12s``, ``1h 0m 5s``, ``2d 3h 0m 0s``, ``45s`` (whole seconds, rounded)."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{n}{unit}" for n, unit in parts)


def down_text(name: str, url: str, since: datetime, reason: str = "") -> str:
    name, url, reason = clean(name), clean(url), clean(reason)
    head = f"{PREFIX} DOWN: "
    tail = f" since {format_time(since)}" + (f": {reason}" if reason else "")
    room = SMS_MAX - len(head) - len(tail)
    url_part = f" ({url})" if url else ""
    if len(name) + len(url_part) > room:
        # The name keeps what the URL does not need of the room, the URL at most
        # URL_SHARE of it; then the URL takes what the name left.
        name = shorten(name, max(MIN_NAME, room - min(len(url_part), URL_SHARE)))
        url_room = room - len(name) - 3  # " (" and ")"
        url_part = f" ({shorten(url, url_room)})" if url and url_room >= MIN_URL else ""
    return shorten(head + name + url_part + tail, SMS_MAX)


def up_text(name: str, down_for_seconds: float) -> str:
    name = clean(name)
    head = f"{PREFIX} UP: "
    tail = f" is back after {format_duration(down_for_seconds)}"
    name = shorten(name, SMS_MAX - len(head) - len(tail))
    return shorten(head + name + tail, SMS_MAX)


def exporter_name(instance: str, location: str = "", shard: str = "") -> str:
    """``Upwatch exporter 10.0.0.5:9115 (eu, shard 2/3)``: the location and shard when
    the alert's labels tell them (target labels in prometheus.yml)."""
    instance, location, shard = clean(instance), clean(location), clean(shard)
    where = ", ".join(p for p in (location, f"shard {shard}" if shard else "") if p)
    return f"Upwatch exporter {instance}" + (f" ({where})" if where else "")


def exporter_down_text(instance: str, location: str = "", shard: str = "") -> str:
    """``Upwatch exporter <instance> (<where>) is down: its sites are not monitored``;
    without an instance (no exporter is scraped at all) a text that says so."""
    if not clean(instance):
        return shorten("Upwatch: no exporter is scraped: no site is monitored", SMS_MAX)
    tail = " is down: its sites are not monitored"
    return shorten(exporter_name(instance, location, shard), SMS_MAX - len(tail)) + tail


def exporter_up_text(instance: str, location: str = "", shard: str = "") -> str:
    """``Upwatch exporter <instance> (<where>) is back``."""
    if not clean(instance):
        return "Upwatch: an exporter is scraped again: sites are monitored"
    tail = " is back"
    return shorten(exporter_name(instance, location, shard), SMS_MAX - len(tail)) + tail
