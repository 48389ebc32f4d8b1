"""The one validator of sites (no database): the exporter's own rules, its messages
turned into field-level ones, defaults, slugs, and what the admin app adds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from admin_app.sites.validation import (
    Defaults,
    config_errors_to_fields,
    contract_of,
    slugify,
    validate_site,
)
from tests.admin_app.sites_fixtures import SITE

DEFAULTS = Defaults()


def errors_of(data: dict, **kw) -> dict[str, str]:
    values, errors = validate_site(data, DEFAULTS, **kw)
    assert values is None
    return errors


def test_every_field_of_the_contract_is_kept() -> None:
    values, errors = validate_site(SITE, DEFAULTS)
    assert errors == {}
    assert values.column_values() == {
        "slug": "shop",
        "name": "Web shop",
        "url": "https://shop.example.com/health",
        "interval_seconds": 15.0,
        "timeout_seconds": 5.0,
        "confirmations": 3,
        "method": "GET",
        "headers": {"Authorization": "Bearer abc"},
        "expect_status": ["200-299"],
        "body_contains": "OK",
        "body_regex": None,
        "follow_redirects": True,
        "tls_verify": True,
        "max_body_bytes": 1048576,
        "maintenance": False,
        "labels": {"group": "payments"},
    }
    assert values.paused is None and values.contact_ids is None


def test_left_out_fields_use_the_defaults() -> None:
    values, errors = validate_site(
        {"name": 'Café Zürich: "EU"', "url": "tcp://db.example.com:5432"}, DEFAULTS
    )
    assert errors == {}
    assert values.slug == "cafe-zurich-eu"
    assert values.name == 'Café Zürich: "EU"'
    assert (values.interval_seconds, values.timeout_seconds, values.confirmations) == (
        None,
        None,
        None,
    )
    assert values.expect_status == ["200-299"] and values.method == "GET"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"id": "Bad Id"}, "id", "'Bad Id' must be a slug"),
        ({"id": "new"}, "id", "'new' is reserved"),
        ({"url": "ftp://x"}, "url", "the scheme must be http, https or tcp"),
        ({"url": None}, "url", "is required"),
        ({"interval": "soon"}, "interval", "'soon' is not a duration"),
        ({"interval": "0s"}, "interval", "must be between 1s and 24h"),
        ({"timeout": "abc"}, "timeout", "'abc' is not a duration"),
        ({"timeout": "20s"}, "timeout", "20s is longer than the interval 15s"),
        ({"confirmations": 0}, "confirmations", "must be a whole number from 1 to 100"),
        ({"confirmations": "three"}, "confirmations", "'three' must be a whole number"),
        ({"method": "FETCH"}, "method", "'FETCH' must be one of GET"),
        ({"headers": ["x"]}, "headers", "must be a mapping of header names to values"),
        ({"headers": {"X-A": "a\nb"}}, "headers", "X-A: the value must not contain a line break"),
        ({"expect": {"status": ["600"]}}, "expect.status", "status codes run from 100 to 599"),
        ({"expect": {"status": "2xx, nope"}}, "expect.status", "'nope' is not a status code"),
        ({"expect": {"body_regex": "("}}, "expect.body_regex", "is not a valid regular expression"),
        ({"expect": {"body_contains": "a", "body_regex": "b"}}, "expect", "not both"),
        ({"expect": {"color": "red"}}, "expect.color", "unknown key"),
        ({"follow_redirects": "maybe"}, "follow_redirects", "'maybe' must be true or false"),
        ({"tls_verify": 3}, "tls_verify", "3 must be true or false"),
        ({"max_body_bytes": -1}, "max_body_bytes", "must be a positive whole number of bytes"),
        ({"maintenance": "perhaps"}, "maintenance", "must be true or false"),
        ({"labels": {"site": "x"}}, "labels", "site: is a reserved label name"),
        ({"labels": {"bad-name": "x"}}, "labels", "'bad-name' is not a valid label name"),
        ({"name": "two\nlines"}, "name", "must not contain a line break"),
        ({"name": "x" * 201}, "name", "must be at most 200 characters"),
        ({"url": "https://e.com/" + "a" * 2048}, "url", "must be at most 2048 characters"),
        ({"paused": "sometimes"}, "paused", "must be true or false"),
        ({"contacts": "ada"}, "contacts", "must be a list of contact ids"),
        ({"contact_groups": [True]}, "contact_groups", "must be a list of contact group ids"),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_each_bad_field_is_named(change: dict, field: str, message: str) -> None:
    errors = errors_of({**SITE, **change})
    assert field in errors, errors
    assert message in errors[field]
    assert not any(k.startswith("sites[") for k in errors)  # the exporter's prefix is gone


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of({**SITE, "interval": "x", "method": "FETCH", "labels": {"le": "1"}})
    assert set(errors) == {"interval", "method", "labels"}


def test_http_only_fields_are_refused_for_tcp() -> None:
    errors = errors_of({"id": "db", "url": "tcp://db:5432", "method": "POST"})
    assert errors == {"method": "applies only to http and https sites, not tcp"}


def test_the_defaults_take_part() -> None:
    # A timeout longer than the default interval is refused, as the exporter would.
    errors = errors_of({"id": "a", "url": "https://a.example", "timeout": "45s"})
    assert errors["timeout"] == "45s is longer than the interval 30s"
    values, errors = validate_site(
        {"id": "a", "url": "https://a.example", "timeout": "45s"}, Defaults(interval=60.0)
    )
    assert errors == {} and values.timeout_seconds == 45.0


def test_changes_merge_with_the_current_site_and_the_slug_is_fixed() -> None:
    values, _ = validate_site(SITE, DEFAULTS)
    current = contract_of(SimpleNamespace(**values.column_values(), paused=False))
    changed, errors = validate_site({"interval": None, "timeout": "2s"}, DEFAULTS, current, "shop")
    assert errors == {}
    assert changed.interval_seconds is None and changed.timeout_seconds == 2.0
    assert changed.headers == {"Authorization": "Bearer abc"}  # untouched
    errors = errors_of({"id": "other"}, current=current, fixed_id="shop")
    assert "cannot be changed" in errors["id"]
    # http -> tcp works when the HTTP fields are at their defaults except for what was set
    errors = errors_of({"url": "tcp://db:5432"}, current=current, fixed_id="shop")
    assert set(errors) == {"headers", "expect"}


def test_no_slug_can_be_made() -> None:
    errors = errors_of({"name": "東京", "url": "https://tokyo.example"})
    assert "none could be made from the name" in errors["id"]


def test_messages_of_the_exporter_become_fields() -> None:
    assert config_errors_to_fields(
        [
            "sites[0] (a).timeout: 'x' is not a duration",
            "sites[0] (a).labels.site: is a reserved label name",
            "sites[0] (a).labels.name: is a reserved label name",
            "sites[0] (a): must be a mapping",
        ],
        "a",
    ) == {
        "timeout": "'x' is not a duration",
        "labels": "site: is a reserved label name; name: is a reserved label name",
        "site": "must be a mapping",
    }
    # an id with the separators in it is still cut off exactly
    assert config_errors_to_fields(["sites[0] (a): b.).id: 'a): b.' must be a slug"], "a): b.") == {
        "id": "'a): b.' must be a slug"
    }


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Web shop", "web-shop"),
        ("  Ça va? ", "ca-va"),
        ("a" * 80, "a" * 64),
        ("!!!", ""),
        (None, ""),
    ],
)
def test_slugify(text, slug) -> None:
    assert slugify(text) == slug
