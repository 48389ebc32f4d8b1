"""The site-list contract: defaults, strict validation, messages naming site and field."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from exporter.config import ConfigError, parse_duration, parse_site_list, parse_status, parse_yaml

FULL = textwrap.dedent(
    """
    defaults: {interval: 30s, timeout: 10s, confirmations: 2}
    sites:
      - id: shop
        name: Web shop
        url: https://shop.example.com/health
        interval: 15s
        timeout: 5s
        confirmations: 3
        method: GET
        headers: {Authorization: "Bearer abc"}
        expect: {status: ["200-299"], body_contains: "OK"}
        follow_redirects: true
        tls_verify: true
        max_body_bytes: 1048576
        maintenance: false
        labels: {group: payments}
      - id: db
        url: tcp://db.example.com:5432
    """
)


def errors_of(data) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_site_list(data) if not isinstance(data, str) else parse_yaml(data)
    return info.value.errors


def one(site: dict, defaults: dict | None = None) -> list[str]:
    data = {"sites": [site]}
    if defaults is not None:
        data["defaults"] = defaults
    return errors_of(data)


def test_full_example_from_the_contract_parses_with_every_field():
    shop, db = parse_yaml(FULL).sites
    assert shop.id == "shop" and shop.name == "Web shop"
    assert (shop.interval, shop.timeout, shop.confirmations) == (15.0, 5.0, 3)
    assert shop.headers == (("Authorization", "Bearer abc"),)
    assert shop.expect_status == ((200, 299),) and shop.body_contains == "OK"
    assert shop.labels == (("group", "payments"),)
    assert shop.kind == "http" and db.kind == "tcp"
    # defaults apply to the site that sets nothing
    assert (db.interval, db.timeout, db.confirmations) == (30.0, 10.0, 2)


def test_builtin_defaults_without_a_defaults_block():
    (site,) = parse_site_list({"sites": [{"id": "a", "url": "http://x"}]}).sites
    assert (site.interval, site.timeout, site.confirmations) == (30.0, 10.0, 2)
    assert site.method == "GET" and site.follow_redirects and site.tls_verify
    assert site.status_ok(204) and not site.status_ok(301)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (15, 15), (2.5, 2.5), ("1d", 86400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "30", "s", "1x", "10 s", "-5s", True, None, [1]])
def test_bad_durations_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(200, (200, 200)), ("200-299", (200, 299)), ("3xx", (300, 399)), ("503", (503, 503))],
)
def test_status_ranges(value, expected):
    assert parse_status(value) == expected


@pytest.mark.parametrize("bad", ["299-200", "600", "abc", "2xxx", 99, True])
def test_bad_status_ranges(bad):
    with pytest.raises(ValueError):
        parse_status(bad)


@pytest.mark.parametrize(
    ("site", "field", "words"),
    [
        ({"id": "a", "url": "http://x", "colour": "red"}, "sites[0] (a).colour", "unknown key"),
        ({"id": "a", "url": "ftp://x"}, "sites[0] (a).url", "scheme"),
        ({"id": "a", "url": "http://"}, "sites[0] (a).url", "no host"),
        ({"id": "a", "url": "tcp://db"}, "sites[0] (a).url", "needs a port"),
        ({"id": "a", "url": "http://x:99999"}, "sites[0] (a).url", "not a valid URL"),
        ({"id": "a"}, "sites[0] (a).url", "required"),
        ({"url": "http://x"}, "sites[0].id", "required"),
        ({"id": "Bad Id!", "url": "http://x"}, "sites[0] (Bad Id!).id", "slug"),
        ({"id": "a", "url": "http://x", "interval": "soon"}, "sites[0] (a).interval", "duration"),
        ({"id": "a", "url": "http://x", "interval": "100ms"}, "sites[0] (a).interval", "between"),
        ({"id": "a", "url": "http://x", "timeout": "0s"}, "sites[0] (a).timeout", "longer than 0s"),
        (
            {"id": "a", "url": "http://x", "interval": "10s", "timeout": "15s"},
            "sites[0] (a).timeout",
            "15s is longer than the interval 10s",
        ),
        ({"id": "a", "url": "http://x", "confirmations": 0}, "sites[0] (a).confirmations", "1 to 100"),
        ({"id": "a", "url": "http://x", "method": "FETCH"}, "sites[0] (a).method", "one of"),
        ({"id": "a", "url": "http://x", "maintenance": "yes"}, "sites[0] (a).maintenance", "true or false"),
        ({"id": "a", "url": "http://x", "headers": ["a"]}, "sites[0] (a).headers", "mapping"),
        ({"id": "a", "url": "http://x", "labels": {"bad-name": "x"}}, "sites[0] (a).labels", "label name"),
        ({"id": "a", "url": "http://x", "labels": {"site": "x"}}, "sites[0] (a).labels.site", "reserved"),
        ({"id": "a", "url": "http://x", "labels": {"location": "eu"}}, "sites[0] (a).labels.location", "reserved"),
        ({"id": "a", "url": "http://x", "labels": {"quorum": "most"}}, "sites[0] (a).labels.quorum", "'most' must be one of any, majority, all"),
        ({"id": "a", "url": "http://x", "labels": {"quorum": "All"}}, "sites[0] (a).labels.quorum", "one of any, majority, all"),
        ({"id": "a", "url": "http://x", "expect": {"status": ["2xx", "abc"]}}, "sites[0] (a).expect.status", "abc"),
        ({"id": "a", "url": "http://x", "expect": {"body": "x"}}, "sites[0] (a).expect.body", "unknown key"),
        ({"id": "a", "url": "http://x", "expect": {"body_regex": "("}}, "sites[0] (a).expect.body_regex", "regular expression"),
        (
            {"id": "a", "url": "http://x", "expect": {"body_regex": "a", "body_contains": "b"}},
            "sites[0] (a).expect",
            "not both",
        ),
        ({"id": "a", "url": "tcp://db:5432", "expect": {"status": [200]}}, "sites[0] (a).expect", "only to http"),
        ({"id": "a", "url": "http://x", "max_body_bytes": 0}, "sites[0] (a).max_body_bytes", "positive"),
        ({"id": "a", "url": "http://x", "name": "two\nlines"}, "sites[0] (a).name", "line break"),
    ],
)  # fmt: skip
def test_each_bad_field_gets_a_message_naming_site_and_field(site, field, words):
    errors = one(site)
    assert any(e.startswith(field + ":") and words in e for e in errors), errors


def test_all_errors_are_reported_at_once():
    errors = errors_of(
        {
            "sites": [
                {"id": "a", "url": "ftp://x"},
                {"id": "b", "url": "http://x", "interval": "nope", "confirmations": -1},
            ]
        }
    )
    assert len(errors) == 3


def test_duplicate_ids():
    errors = errors_of({"sites": [{"id": "a", "url": "http://x"}, {"id": "a", "url": "http://y"}]})
    assert errors == ["sites[1] (a).id: duplicate id, already used by sites[0]"]


def test_unknown_top_level_and_defaults_keys():
    errors = errors_of({"default": {}, "sites": []})
    assert errors[0].startswith("default: unknown top-level key")
    errors = errors_of({"defaults": {"intervall": "5s"}, "sites": []})
    assert errors[0].startswith("defaults.intervall: unknown key")


def test_defaults_are_validated_and_timeout_checked_against_site_interval():
    assert one({"id": "a", "url": "http://x"}, {"interval": "5s", "timeout": "6s"})[0].startswith(
        "defaults.timeout"
    )
    # a site's own timeout longer than its interval is an error...
    errors = one({"id": "a", "url": "http://x", "interval": "5s", "timeout": "8s"})
    assert errors == ["sites[0] (a).timeout: 8s is longer than the interval 5s"]


def test_a_default_timeout_longer_than_a_sites_interval_is_cut_to_the_interval():
    # ...but a default one is cut to the interval, as Prometheus does for scrape_timeout
    data = {
        "defaults": {"timeout": "10s"},
        "sites": [{"id": "a", "url": "http://x", "interval": "5s"}],
    }
    assert parse_site_list(data).sites[0].timeout == 5.0


def test_yaml_errors_name_the_line():
    errors = errors_of("sites:\n  - id: a\n    url: [unclosed\n")
    assert "line" in errors[0] and "invalid YAML" in errors[0]


def test_duplicate_yaml_keys_are_errors_not_silently_overwritten():
    errors = errors_of("sites:\n  - id: a\n    url: http://x\n    url: http://y\n")
    assert "duplicate key 'url'" in errors[0]


def test_empty_file_is_an_empty_site_list():
    assert parse_yaml("").sites == ()


def test_names_with_quotes_colons_and_unicode_survive():
    text = 'sites:\n  - id: a\n    url: http://x\n    name: "Caf\u00e9: \\"main\\" #1"\n'
    assert parse_yaml(text).sites[0].name == 'Caf\u00e9: "main" #1'


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_cli_ok(tmp_path):
    path = tmp_path / "sites.yml"
    path.write_text(FULL)
    proc = run_cli("--check-config", str(path))
    assert proc.returncode == 0
    assert "OK, 2 sites" in proc.stdout


def test_check_config_cli_prints_errors_and_exits_non_zero(tmp_path):
    path = tmp_path / "sites.yml"
    path.write_text(
        "sites:\n  - id: shop\n    url: https://x\n    interval: 10s\n    timeout: 15s\n"
    )
    proc = run_cli("--check-config", str(path))
    assert proc.returncode == 1
    assert "sites[0] (shop).timeout: 15s is longer than the interval 10s" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_config_cli_missing_file(tmp_path):
    proc = run_cli("--check-config", str(tmp_path / "nope.yml"))
    assert proc.returncode == 1 and "file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_rejects_a_bad_shard_and_listen_address(tmp_path):
    proc = run_cli("--config", "x.yml", "--shard", "4/3")
    assert proc.returncode == 2 and "between 1 and N" in proc.stderr
    proc = run_cli("--config", "x.yml", "--listen", "nowhere")
    assert proc.returncode == 2 and "HOST:PORT" in proc.stderr


def test_exporter_refuses_to_start_on_an_invalid_file(tmp_path):
    path = tmp_path / "sites.yml"
    path.write_text("sites: [{id: a, url: 'ftp://x'}]\n")
    proc = run_cli("--config", str(path), "--listen", "127.0.0.1:0")
    assert proc.returncode == 1 and "sites[0] (a).url" in proc.stderr


@pytest.mark.parametrize("quorum", ["any", "majority", "all"])
def test_the_quorum_label_takes_any_majority_or_all(quorum):
    site_list = parse_site_list(
        {"sites": [{"id": "a", "url": "http://x", "labels": {"quorum": quorum}}]}
    )
    assert dict(site_list.sites[0].labels) == {"quorum": quorum}


def test_cli_location_must_be_a_short_slug(tmp_path):
    proc = run_cli("--config", "x.yml", "--location", "EU West")
    assert proc.returncode == 2
    assert "location 'EU West' must be a short slug" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--config", "x.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "UPWATCH_LOCATION": "x" * 33},
    )
    assert proc.returncode == 2 and "UPWATCH_LOCATION" in proc.stderr
