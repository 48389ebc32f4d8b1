"""Parsing Alertmanager's webhook payload (pure): the golden payloads, every
structural error naming its field, the start of an outage from the annotations,
and which alerts open incidents."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from admin_app.notify.payload import (
    EVENT,
    IGNORED,
    INCIDENT,
    PayloadError,
    classify,
    maintenance_flag,
    outage_start,
    parse_json,
    parse_payload,
    parse_time,
    site_event,
)
from tests.admin_app import payloads
from tests.admin_app.payloads import alert, webhook

DOWN = datetime(2024, 5, 2, 10, 0, 0, 500000, tzinfo=UTC)
STARTS = datetime(2024, 5, 2, 10, 0, 31, 228000, tzinfo=UTC)
UP = datetime(2024, 5, 2, 10, 4, 12, 500000, tzinfo=UTC)


def test_golden_firing_payload() -> None:
    p = parse_payload(payloads.load("sitedown_firing"))
    assert p.version == "4" and p.status == "firing" and p.receiver == "site-shop"
    assert p.group_labels == {"alertname": "SiteDown", "site": "shop"}
    assert p.common_labels["severity"] == "critical"
    assert p.common_annotations["site_name"] == "Web shop"
    assert p.external_url == "http://127.0.0.1:9093"
    assert p.truncated_alerts == 0
    (a,) = p.alerts
    assert a.status == "firing" and a.firing
    assert (a.alertname, a.site, a.severity) == ("SiteDown", "shop", "critical")
    assert a.fingerprint == "c6a2f5e1d0b9a874"
    # nanoseconds are cut to microseconds; the zero time means "no end"
    assert a.starts_at == datetime(2024, 5, 2, 10, 0, 31, 228461, tzinfo=UTC)
    assert a.ends_at is None
    assert classify(a) == INCIDENT

    event = site_event(a)
    assert event.kind == "down"
    assert event.site == "shop" and event.fingerprint == "c6a2f5e1d0b9a874"
    assert event.started_at == DOWN  # from down_since_unix, not startsAt
    assert event.ended_at is None
    assert (event.reason, event.site_name, event.url) == (
        "timeout",
        "Web shop",
        "https://shop.example.com/health",
    )
    assert event.maintenance is False
    assert event.alert_starts_at == a.starts_at


def test_golden_resolved_payload() -> None:
    p = parse_json(json.dumps(payloads.load("sitedown_resolved")).encode())
    (a,) = p.alerts
    assert p.status == "resolved" and a.status == "resolved"
    event = site_event(a)
    assert event.kind == "up"
    assert event.started_at == DOWN and event.ended_at == UP
    assert (event.ended_at - event.started_at).total_seconds() == 252


def test_golden_other_alerts_are_events_and_watchdog_is_ignored() -> None:
    slow, cert, exporter = parse_payload(payloads.load("siteslow_and_cert_firing")).alerts
    assert [classify(a) for a in (slow, cert, exporter)] == [EVENT, EVENT, EVENT]
    assert slow.ends_at == datetime(2024, 5, 2, 9, 34, tzinfo=UTC)  # a future endsAt is kept
    assert exporter.site == ""
    (watchdog,) = parse_payload(payloads.load("watchdog")).alerts
    assert classify(watchdog) == IGNORED


def test_site_down_without_a_site_label_is_only_an_event() -> None:
    a = alert()
    del a["labels"]["site"]
    (parsed,) = parse_payload(webhook(a)).alerts
    assert classify(parsed) == EVENT


def test_empty_alert_list_is_valid() -> None:
    p = parse_payload(webhook())
    assert p.alerts == ()


def _broken(path: str, value: object) -> dict:
    data = webhook(alert("resolved"))
    target: dict = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last: int | str = int(keys[-1]) if isinstance(target, list) else keys[-1]
    if value is KeyError:
        del target[last]  # type: ignore[arg-type]
    else:
        target[last] = value  # type: ignore[index]
    return data


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ([1, 2], "body", "must be a JSON object"),
        (_broken("version", KeyError), "version", "is required"),
        (_broken("version", "3"), "version", "not supported"),
        (_broken("status", "pending"), "status", "firing or resolved"),
        (_broken("alerts", KeyError), "alerts", "is required"),
        (_broken("alerts", {"a": 1}), "alerts", "must be a list"),
        (_broken("truncatedAlerts", -1), "truncatedAlerts", "whole number"),
        (_broken("commonLabels", ["x"]), "commonLabels", "object of strings"),
        (_broken("alerts.0", "x"), "alerts[0]", "must be an object"),
        (_broken("alerts.0.status", KeyError), "alerts[0].status", "is required"),
        (_broken("alerts.0.labels", KeyError), "alerts[0].labels", "is required"),
        (_broken("alerts.0.labels.site", 7), "alerts[0].labels.site", "must be a string"),
        (_broken("alerts.0.annotations", "x"), "alerts[0].annotations", "object of strings"),
        (_broken("alerts.0.startsAt", KeyError), "alerts[0].startsAt", "is required"),
        (_broken("alerts.0.startsAt", "yesterday"), "alerts[0].startsAt", "not an RFC 3339"),
        (_broken("alerts.0.startsAt", "2024-05-02T10:00:00"), "alerts[0].startsAt", "no time zone"),
        (_broken("alerts.0.endsAt", payloads.ZERO), "alerts[0].endsAt", "resolved"),
        (_broken("alerts.0.endsAt", 12), "alerts[0].endsAt", "RFC 3339 time string"),
        (_broken("alerts.0.fingerprint", KeyError), "alerts[0].fingerprint", "is required"),
        (_broken("alerts.0.fingerprint", "f" * 65), "alerts[0].fingerprint", "at most 64"),
        (_broken("receiver", 5), "receiver", "must be a string"),
    ],
)
def test_bad_payloads_name_the_field(data: object, field: str, words: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(data)
    assert info.value.field == field
    assert words in info.value.message
    assert str(info.value).startswith(f"{field}: ")


def test_invalid_json_is_a_payload_error() -> None:
    with pytest.raises(PayloadError) as info:
        parse_json(b'{"version": "4",')
    assert info.value.field == "body" and "not valid JSON" in info.value.message


def test_second_alert_errors_name_their_index() -> None:
    data = webhook(alert(), alert(fingerprint="x"))
    data["alerts"][1]["startsAt"] = "soon"
    with pytest.raises(PayloadError) as info:
        parse_payload(data)
    assert info.value.field == "alerts[1].startsAt"


def _start(**kw: object) -> datetime:
    (a,) = parse_payload(webhook(alert(**kw))).alerts  # type: ignore[arg-type]
    return outage_start(a)


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"down_since_unix": "1714644000.5"}, DOWN),
        ({"down_since_unix": "1.7146440005e+09"}, DOWN),  # Go's %v of a float64
        ({"down_since_unix": "1714644000.5004"}, DOWN),  # rounded to the millisecond
        # unusable values fall back to down_since, then to startsAt
        ({"down_since_unix": "soon", "down_since": "2024-05-02T10:00:00.5Z"}, DOWN),
        ({"down_since_unix": "0"}, STARTS),
        ({"down_since_unix": "NaN"}, STARTS),
        ({"down_since_unix": "-5"}, STARTS),
        ({"down_since_unix": "1e300"}, STARTS),
        ({"down_since_unix": "1814644000"}, STARTS),  # years after the alert began
        ({"down_since_unix": None, "down_since": "2024-05-02 10:00:00 +0000 UTC"}, STARTS),
        ({"down_since_unix": None}, STARTS),
    ],
)
def test_outage_start(annotations: dict, expected: datetime) -> None:
    assert _start(**annotations) == expected


def test_a_resolve_before_the_start_ends_at_the_start() -> None:
    (a,) = parse_payload(webhook(alert("resolved", ends_at="2024-05-02T09:00:00Z"))).alerts
    event = site_event(a)
    assert event.ended_at == event.started_at


@pytest.mark.parametrize(
    ("label", "annotation", "expected"),
    [
        ("true", None, True),
        ("false", None, False),
        ("TRUE", None, True),
        (None, "true", True),
        (None, None, None),
        ("maybe", None, None),
    ],
)
def test_maintenance_flag(label: str | None, annotation: str | None, expected: bool | None) -> None:
    a = alert(maintenance=label)
    if annotation is not None:
        a["annotations"]["maintenance"] = annotation
    (parsed,) = parse_payload(webhook(a)).alerts
    assert maintenance_flag(parsed) is expected


def test_parse_time() -> None:
    assert parse_time(None, "x") is None
    assert parse_time("", "x") is None
    assert parse_time("0001-01-01T00:00:00Z", "x") is None
    assert parse_time("2024-05-02T12:00:00+02:00", "x") == datetime(2024, 5, 2, 10, tzinfo=UTC)


def test_annotations_are_made_one_line() -> None:
    (a,) = parse_payload(webhook(alert(reason="time\nout", site_name="  Web\tshop "))).alerts
    event = site_event(a)
    assert event.reason == "time out" and event.site_name == "Web shop"
