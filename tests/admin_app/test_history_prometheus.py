"""Response-time quantiles from Prometheus' answers, and the PromQL sent (the real
Prometheus answers in tests/integration/test_golden_history.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from admin_app.history.prom import latency_quantiles, quantile_query

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def ts(hours_before_now: float) -> datetime:
    return NOW - timedelta(hours=hours_before_now)


def test_latency_from_prometheus_answers() -> None:
    """What the endpoint makes of Prometheus' answers (the real Prometheus is in
    tests/integration/test_golden_history.py)."""
    seen: list[httpx.Request] = []

    def answer(body: dict, status: int = 200):
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handler)

    ok = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"quantile": "p50"}, "value": [1, "0.05"]},
                {"metric": {"quantile": "p95"}, "value": [1, "0.25"]},
                {"metric": {"quantile": "p99"}, "value": [1, "NaN"]},
            ],
        },
    }
    got = latency_quantiles("http://prom", "shop", ts(24), NOW, transport=answer(ok))
    assert got.quantiles == {"p50": 0.05, "p95": 0.25, "p99": None} and got.warnings == []
    assert seen[0].url.params["query"] == quantile_query("shop", 86400)
    assert float(seen[0].url.params["time"]) == NOW.timestamp()
    assert '{site="shop"}[86400s]' in quantile_query("shop", 86400)

    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    got = latency_quantiles("http://prom", "shop", ts(24), NOW, transport=answer(empty))
    assert got.quantiles["p50"] is None and "no probe durations" in got.warnings[0]

    bad = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    got = latency_quantiles("http://prom", "shop", ts(24), NOW, transport=answer(bad, 400))
    assert got.quantiles["p95"] is None and "parse error" in got.warnings[0]

    got = latency_quantiles("http://prom", "shop", ts(24), NOW, transport=answer([1, 2]))
    assert got.quantiles["p99"] is None and got.warnings


def test_promql_string_escapes() -> None:
    assert 'site="a\\"b\\\\c"' in quantile_query('a"b\\c', 60)
