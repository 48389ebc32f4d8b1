"""Which store answers a range (admin_app/history/sources.py), the two settings, and
the fallbacks, with answers from mock stores (the real Prometheus and
VictoriaMetrics are in tests/integration/test_long_term_storage.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner

from admin_app.cli import cli
from admin_app.config import ConfigurationError, from_env, parse_duration
from admin_app.history.sources import (
    LONG_TERM,
    PROMETHEUS,
    Stores,
    latency_for_range,
    pick_store,
)

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
PROM = "http://prom.test:9090"
VM = "http://vm.test:8428"
STORES = Stores(PROM, VM, timedelta(days=15), "15d")


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def answer(p50: str) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {"quantile": "p50"}, "value": [1, p50]}],
        },
    }


def stores_transport(down: set[str] = frozenset()) -> tuple[httpx.MockTransport, list[str]]:
    """Prometheus answers p50 = 0.1, the long-term store 0.2; hosts in ``down``
    refuse connections. Returns the transport and the hosts asked, in order."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        if request.url.host in down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=answer("0.1" if request.url.host == "prom.test" else "0.2"))

    return httpx.MockTransport(handler), asked


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15d", 15 * 86400),
        ("1y", 365 * 86400),
        ("2w3d", 17 * 86400),
        ("36h", 129600),
        (" 90m ", 5400),
        ("1d12h", 129600),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "d", "15days", "1.5d", "3d1w", "-1d", "0d"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_pick_store() -> None:
    assert pick_store(ago(1), NOW, STORES) == PROMETHEUS
    assert pick_store(ago(15), NOW, STORES) == PROMETHEUS  # exactly the retention: kept
    assert pick_store(ago(15.01), NOW, STORES) == LONG_TERM
    assert pick_store(ago(90), NOW, STORES) == LONG_TERM
    no_long_term = Stores(PROM, None, timedelta(days=15), "15d")
    assert pick_store(ago(90), NOW, no_long_term) == PROMETHEUS


def test_ranges_inside_retention_go_to_prometheus() -> None:
    transport, asked = stores_transport()
    got = latency_for_range(STORES, "shop", ago(7), NOW, NOW, transport=transport)
    assert asked == ["prom.test"]
    assert got.source == PROMETHEUS and got.quantiles["p50"] == 0.1 and got.warnings == []


def test_older_ranges_go_to_the_long_term_store() -> None:
    transport, asked = stores_transport()
    got = latency_for_range(STORES, "shop", ago(90), NOW, NOW, transport=transport)
    assert asked == ["vm.test"]
    assert got.source == LONG_TERM and got.quantiles["p50"] == 0.2 and got.warnings == []
    # a range that ended long ago still starts before the retention
    got = latency_for_range(STORES, "shop", ago(60), ago(50), NOW, transport=transport)
    assert got.source == LONG_TERM


def test_long_term_store_down_falls_back_to_prometheus() -> None:
    transport, asked = stores_transport(down={"vm.test"})
    got = latency_for_range(STORES, "shop", ago(90), NOW, NOW, transport=transport)
    assert asked == ["vm.test", "prom.test"]
    assert got.source == PROMETHEUS and got.quantiles["p50"] == 0.1
    assert len(got.warnings) == 2
    assert f"the long-term store at {VM} could not be queried (ConnectError)" in got.warnings[0]
    assert "answered by Prometheus instead, which keeps 15d" in got.warnings[1]
    assert "may be missing" in got.warnings[1]


def test_both_down_answers_nulls_and_says_why() -> None:
    transport, _ = stores_transport(down={"vm.test", "prom.test"})
    got = latency_for_range(STORES, "shop", ago(90), NOW, NOW, transport=transport)
    assert got.source is None and set(got.quantiles.values()) == {None}
    assert len(got.warnings) == 3 and "Prometheus at" in got.warnings[2]


def test_without_a_long_term_store_older_ranges_warn() -> None:
    transport, asked = stores_transport()
    stores = Stores(PROM, None, timedelta(days=2), "2d")
    got = latency_for_range(stores, "shop", ago(7), NOW, NOW, transport=transport)
    assert asked == ["prom.test"] and got.source == PROMETHEUS
    assert got.warnings == [
        "response time: the range starts before Prometheus' retention (2d) and no "
        "long-term store is configured (UPWATCH_LONG_TERM_URL): older data may be missing"
    ]
    got = latency_for_range(stores, "shop", ago(1), NOW, NOW, transport=transport)
    assert got.warnings == []


def test_long_term_store_error_answer_falls_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "vm.test":
            return httpx.Response(422, json={"status": "error", "error": "cannot parse"})
        return httpx.Response(200, json=answer("0.1"))

    got = latency_for_range(
        STORES, "shop", ago(90), NOW, NOW, transport=httpx.MockTransport(handler)
    )
    assert got.source == PROMETHEUS
    assert "the long-term store answered 422 (cannot parse)" in got.warnings[0]


def test_settings_from_the_environment() -> None:
    config = from_env({"UPWATCH_DATA_DIR": "/tmp/x"})
    assert config["LONG_TERM_URL"] is None and config["PROMETHEUS_RETENTION"] == "15d"
    config = from_env(
        {
            "UPWATCH_LONG_TERM_URL": "http://vm.internal:8428/",
            "UPWATCH_PROMETHEUS_RETENTION": "30d",
        }
    )
    assert config["LONG_TERM_URL"] == "http://vm.internal:8428"
    stores = Stores.from_config(config)
    assert (
        stores.retention == timedelta(days=30) and stores.long_term_url == config["LONG_TERM_URL"]
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "UPWATCH_PROMETHEUS_RETENTION",
            "two weeks",
            "UPWATCH_PROMETHEUS_RETENTION: 'two weeks' "
            "is not a duration: use e.g. 15d, 30d, 1y or 2w3d",
        ),
        (
            "UPWATCH_LONG_TERM_URL",
            "vm:8428",
            "UPWATCH_LONG_TERM_URL='vm:8428' is not an http(s) URL",
        ),
    ],
)
def test_bad_settings_are_clear_errors(
    name: str, value: str, message: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(
        ConfigurationError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        from_env({name: value})
    monkeypatch.setenv("UPWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["init-db"], catch_exceptions=False)
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_uptime_endpoint_names_its_source(app, api) -> None:
    """The endpoint reports which store answered (both unreachable here: null)."""
    from admin_app.db import session_scope
    from admin_app.models import Site

    with session_scope(app) as session:
        session.add(
            Site(
                slug="shop",
                name="Shop",
                url="https://shop.example.com/",
                created_at=datetime.now(UTC) - timedelta(days=100),
            )
        )
    app.config.update(
        PROMETHEUS_URL="http://127.0.0.1:9", LONG_TERM_URL=None, PROMETHEUS_TIMEOUT=0.5
    )
    body = api.as_role("admin").get("/api/v1/sites/shop/uptime?window=90d").get_json()
    assert body["response_time_source"] is None
    assert "no long-term store is configured" in body["warnings"][0]
    assert "Prometheus at http://127.0.0.1:9 could not be queried" in body["warnings"][1]
