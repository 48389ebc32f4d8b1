"""The exact time of a recovery, read from Prometheus (pure parts, and the HTTP call
against a mock transport)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from admin_app.notify.recovery import pick, recovery_query, recovery_time

START = datetime(2024, 5, 2, 10, 0, 0, 500000, tzinfo=UTC)
END = datetime(2024, 5, 2, 10, 4, 12, 500000, tzinfo=UTC)


def row(value: str, instance: str = "127.0.0.1:9115") -> dict:
    return {"metric": {"site": "shop", "instance": instance}, "value": [1714644252.5, value]}


def test_recovery_query() -> None:
    assert recovery_query("shop", "127.0.0.1:9115") == (
        'upwatch_site_state_change_timestamp_seconds{site="shop",instance="127.0.0.1:9115"}'
        ' and on (site, instance) (upwatch_site_up{site="shop",instance="127.0.0.1:9115"} == 1)'
    )
    assert recovery_query('we"ird', None) == (
        'upwatch_site_state_change_timestamp_seconds{site="we\\"ird"}'
        ' and on (site, instance) (upwatch_site_up{site="we\\"ird"} == 1)'
    )


def test_pick() -> None:
    recovered = datetime(2024, 5, 2, 10, 4, 10, 123000, tzinfo=UTC)
    assert pick([row("1714644250.1234")], START, END) == recovered
    assert pick([row("1714644249"), row("1714644250.123", "b")], START, END) == recovered
    # slightly after endsAt (clocks): endsAt
    assert pick([row("1714644253.2")], START, END) == END
    # before the start, long after the end, junk: nothing
    for bad in ("1714643000", "1714650000", "NaN", "0", "x"):
        assert pick([row(bad)], START, END) is None
    assert pick([], START, END) is None
    assert pick(None, START, END) is None
    assert pick([{"metric": {}}], START, END) is None


def _transport(answer: dict | None, status: int = 200, seen: list | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if answer is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status, content=json.dumps(answer).encode())

    return httpx.MockTransport(handler)


def test_recovery_time_asks_at_ends_at() -> None:
    seen: list[httpx.Request] = []
    answer = {
        "status": "success",
        "data": {"resultType": "vector", "result": [row("1714644250.1234")]},
    }
    got = recovery_time(
        "http://prom:9090/",
        "shop",
        "127.0.0.1:9115",
        START,
        END,
        transport=_transport(answer, seen=seen),
    )
    assert got == datetime(2024, 5, 2, 10, 4, 10, 123000, tzinfo=UTC)
    (request,) = seen
    assert request.url.path == "/api/v1/query"
    assert request.url.params["time"] == "1714644252.500"
    assert request.url.params["query"] == recovery_query("shop", "127.0.0.1:9115")


def test_recovery_time_falls_back_to_none() -> None:
    assert recovery_time(None, "shop", None, START, END) is None
    assert (
        recovery_time("http://prom", "shop", None, START, END, transport=_transport(None)) is None
    )
    error = {"status": "error", "error": "bad query"}
    assert (
        recovery_time("http://prom", "shop", None, START, END, transport=_transport(error, 400))
        is None
    )
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    assert (
        recovery_time("http://prom", "shop", None, START, END, transport=_transport(empty)) is None
    )


def test_pick_across_locations_takes_the_recovery_that_ended_the_quorum() -> None:
    """SiteDown has no instance (one alert per site across locations): the query
    reads every location of the site that is up at endsAt. One that never went down
    (its change is before the outage) is left out; of those that came back during
    the outage, the latest is the one that took the site below its quorum."""
    never_down = row("1714640000.0", "eu:9115")  # up since before START
    back_first = row("1714644200.0", "us:9115")  # 10:03:20, the quorum still held
    back_last = row("1714644250.5", "ap:9115")  # 10:04:10.5, below the quorum
    assert pick([never_down, back_last, back_first], START, END) == datetime(
        2024, 5, 2, 10, 4, 10, 500000, tzinfo=UTC
    )
    assert "instance=" not in recovery_query("shop", None)
