"""alertmanager.yml generation: routing per site, maintenance, the base config, what
amtool accepts, and what the email templates render (with the real amtool)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from admin_app.configgen.alertmanager_yml import (
    DEFAULT_RECEIVER,
    LINKS_TEMPLATE,
    NOBODY_PAGED,
    OPERATIONS_RECEIVER,
    build_alertmanager_config,
    generation_warnings,
    go_string,
    links_template,
    matcher,
    template_literal,
)
from admin_app.configgen.apply import DEFAULT_BASE_CONFIG, load_base_config
from admin_app.configgen.apply import validate_alertmanager_text as amtool_check
from admin_app.configgen.sites_yml import render_yaml
from admin_app.configgen.specs import ContactSpec, GlobalSpec, SiteSpec, SmtpSpec
from tests.admin_app.test_configgen_sites import TRICKY_TEXT
from tests.servers import binary

TEMPLATES = str(DEFAULT_BASE_CONFIG.parent / "templates" / "*.tmpl")
WEBHOOK = "http://admin.internal:8000/hooks/alertmanager"

ALICE = ContactSpec("Alice", "alice@example.com", "+15551230001", True, True)
BOB = ContactSpec("Bob", None, "+15551230002", False, True)
CAROL = ContactSpec("Carol", "carol@example.com", None, True, False)
DAVE_NO_EMAIL_WANTED = ContactSpec("Dave", "dave@example.com", None, False, True)
OPS_ODD = ContactSpec("Odd ops", "ops{{.Status}}@example.com", None, True, False)


def global_spec(**kw: Any) -> GlobalSpec:
    values: dict[str, Any] = {
        "admin_base_url": "http://admin.internal:8000/",
        "webhook_token": "s3cret-token",
        "smtp": SmtpSpec("smtp.example.com:587", "Upwatch <upwatch@example.com>", "user", "pw"),
        "grafana_url": "http://grafana.internal:3000",
    }
    values.update(kw)
    return GlobalSpec(**values)


def base() -> dict[str, Any]:
    return load_base_config(DEFAULT_BASE_CONFIG)


def build(sites: list[SiteSpec], spec: GlobalSpec | None = None, **kw: Any) -> dict[str, Any]:
    return build_alertmanager_config(
        sites, spec or global_spec(), base(), base_dir=str(DEFAULT_BASE_CONFIG.parent), **kw
    )


def receivers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in config["receivers"]}


def site_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in config["route"]["routes"]
        if r["receiver"] not in (DEFAULT_RECEIVER, OPERATIONS_RECEIVER)
    ]


def emails(receiver: dict[str, Any]) -> list[str]:
    return [e["to"] for e in receiver.get("email_configs", [])]


SITES = [
    SiteSpec("shop", "https://shop.example.com", name="Web shop", contacts=(ALICE, BOB, CAROL)),
    SiteSpec("blog", "https://blog.example.com", name="Blog", maintenance=True, contacts=(ALICE,)),
    SiteSpec("lonely", "https://lonely.example.com", name="No contacts"),
    SiteSpec("old", "https://old.example.com", name="Paused", paused=True, contacts=(ALICE,)),
]


# --------------------------------------------------------------------------- structure


def test_one_route_per_active_site_to_its_own_receiver_after_the_base_routes() -> None:
    config = build(SITES)
    routes = config["route"]["routes"]
    assert routes[0]["matchers"] == ['alertname="Watchdog"']  # from base.yml, first
    assert site_routes(config) == [
        {"matchers": ['site="blog"'], "receiver": "site-blog", "continue": False},
        {"matchers": ['site="lonely"'], "receiver": "site-lonely", "continue": False},
        {"matchers": ['site="shop"'], "receiver": "site-shop", "continue": False},
    ]
    assert set(receivers(config)) == {
        DEFAULT_RECEIVER,
        OPERATIONS_RECEIVER,
        "site-blog",
        "site-lonely",
        "site-shop",
    }


def test_grouping_and_timing_come_from_the_base() -> None:
    route = build(SITES)["route"]
    assert route["receiver"] == DEFAULT_RECEIVER
    assert route["group_by"] == ["alertname", "site"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "10s",
        "1m",
        "4h",
    )


def test_a_site_mails_each_contact_who_wants_email_and_always_calls_the_hook() -> None:
    shop = receivers(build(SITES))["site-shop"]
    assert emails(shop) == ["alice@example.com", "carol@example.com"]
    for email in shop["email_configs"]:
        assert email["send_resolved"] is True
        assert email["headers"]["Subject"] == '{{ template "upwatch.email.subject" . }}'
        assert email["text"].endswith('{{ template "upwatch.email.text" . }}')
        assert email["html"].endswith('{{ template "upwatch.email.html" . }}')
    assert shop["webhook_configs"] == [
        {
            "url": WEBHOOK,
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": "s3cret-token"}},
        }
    ]


def test_a_site_in_maintenance_only_calls_the_hook() -> None:
    blog = receivers(build(SITES))["site-blog"]
    assert "email_configs" not in blog
    assert [w["url"] for w in blog["webhook_configs"]] == [WEBHOOK]


def test_a_site_without_contacts_only_calls_the_hook() -> None:
    lonely = receivers(build(SITES))["site-lonely"]
    assert "email_configs" not in lonely
    assert [w["url"] for w in lonely["webhook_configs"]] == [WEBHOOK]


def test_the_default_receiver_only_calls_the_hook() -> None:
    default = receivers(build(SITES))[DEFAULT_RECEIVER]
    assert set(default) == {"name", "webhook_configs"}
    assert default["webhook_configs"][0]["url"] == WEBHOOK


def test_a_paused_site_has_no_route() -> None:
    config = build(SITES)
    assert "site-old" not in receivers(config)
    assert all('site="old"' not in r["matchers"] for r in config["route"]["routes"])


def test_an_address_shared_by_two_contacts_is_mailed_once() -> None:
    twin = ContactSpec("Alice at home", "ALICE@example.com", None, True, False)
    site = SiteSpec("s", "https://s.example", contacts=(ALICE, twin, DAVE_NO_EMAIL_WANTED))
    assert emails(receivers(build([site]))["site-s"]) == ["alice@example.com"]


def test_the_settings_pages_smtp_values_replace_the_bases() -> None:
    g = build(SITES)["global"]
    assert g["smtp_smarthost"] == "smtp.example.com:587"
    assert g["smtp_from"] == "Upwatch <upwatch@example.com>"
    assert (g["smtp_auth_username"], g["smtp_auth_password"]) == ("user", "pw")
    assert g["resolve_timeout"] == "5m"  # kept from the base


def test_without_smtp_no_email_is_configured_and_the_page_is_told() -> None:
    spec = global_spec(smtp=SmtpSpec())
    config = build(SITES, spec)
    assert all("email_configs" not in r for r in config["receivers"])
    warnings = generation_warnings(SITES, spec, base())
    assert any("SMTP is not configured" in w and "1 site(s)" in w for w in warnings)
    assert (
        amtool_check(render_yaml(config), binary("amtool"), links_text=links_template(spec)) == []
    )


def test_without_a_token_the_hook_has_no_credentials_and_the_page_is_told() -> None:
    spec = global_spec(webhook_token=None)
    hook = receivers(build(SITES, spec))["site-shop"]["webhook_configs"][0]
    assert "http_config" not in hook
    assert any("webhook token" in w for w in generation_warnings(SITES, spec, base()))


def test_template_paths_are_made_absolute_against_the_base_or_replaced() -> None:
    assert build(SITES)["templates"] == [TEMPLATES, LINKS_TEMPLATE]
    assert build(SITES, templates=["/etc/alertmanager/templates/*.tmpl"])["templates"] == [
        "/etc/alertmanager/templates/*.tmpl",
        LINKS_TEMPLATE,
    ]
    assert build(SITES, links=None)["templates"] == [TEMPLATES]


def test_the_base_is_not_modified() -> None:
    original = base()
    snapshot = json.dumps(original, sort_keys=True)
    build_alertmanager_config(SITES, global_spec(), original, base_dir="/x")
    assert json.dumps(original, sort_keys=True) == snapshot


# --------------------------------------------------------------------------- operations

OPS_MATCHER = 'alertname=~"UpwatchExporterDown|UpwatchConfigReloadFailed"'


def ops_spec(*contacts: ContactSpec, **kw: Any) -> GlobalSpec:
    return global_spec(operations_group="Ops", operations=contacts, **kw)


def test_exporter_alerts_route_to_the_operations_receiver_before_the_sites() -> None:
    routes = build(SITES, ops_spec(ALICE))["route"]["routes"]
    assert routes[0]["matchers"] == ['alertname="Watchdog"']
    assert routes[0]["receiver"] == DEFAULT_RECEIVER  # Watchdog: the admin app only
    assert routes[1] == {
        "matchers": [OPS_MATCHER],
        "receiver": OPERATIONS_RECEIVER,
        "group_by": ["alertname", "instance"],
        "continue": False,
    }
    assert all(r["matchers"][0].startswith("site=") for r in routes[2:])


def test_the_operations_receiver_mails_each_ops_contact_who_wants_email_and_calls_the_hook() -> (
    None
):
    twin = ContactSpec("Alice again", "ALICE@example.com", None, True, False)
    spec = ops_spec(ALICE, BOB, CAROL, DAVE_NO_EMAIL_WANTED, twin)
    ops = receivers(build(SITES, spec))[OPERATIONS_RECEIVER]
    assert emails(ops) == ["alice@example.com", "carol@example.com"]
    for email in ops["email_configs"]:
        assert email["send_resolved"] is True
        assert email["headers"]["Subject"] == '{{ template "upwatch.email.subject" . }}'
    assert ops["webhook_configs"] == [
        {
            "url": WEBHOOK,
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": "s3cret-token"}},
        }
    ]
    assert generation_warnings(SITES, spec, base()) == []


def test_without_operations_contacts_the_route_has_the_hook_only_and_the_page_is_told() -> None:
    for spec in (global_spec(), ops_spec(), ops_spec(ContactSpec("Mute", None, None, True, True))):
        config = build(SITES, spec)
        ops = receivers(config)[OPERATIONS_RECEIVER]
        assert set(ops) == {"name", "webhook_configs"}
        assert ops["webhook_configs"][0]["url"] == WEBHOOK
        assert config["route"]["routes"][1]["receiver"] == OPERATIONS_RECEIVER
        warnings = generation_warnings(SITES, spec, base())
        assert any("nobody is emailed or texted" in w and "exporter" in w for w in warnings)
        text = render_yaml(config)
        assert amtool_check(text, binary("amtool"), links_text=links_template(spec)) == []
    assert NOBODY_PAGED in generation_warnings(SITES, global_spec(), base())


def test_sms_only_operations_contacts_are_someone() -> None:
    spec = ops_spec(BOB)
    assert "email_configs" not in receivers(build(SITES, spec))[OPERATIONS_RECEIVER]
    assert generation_warnings(SITES, spec, base()) == []


def test_operations_email_without_smtp_is_a_warning() -> None:
    spec = ops_spec(ALICE, smtp=SmtpSpec())
    assert "email_configs" not in receivers(build(SITES, spec))[OPERATIONS_RECEIVER]
    warnings = generation_warnings(SITES, spec, base())
    assert any("operations contacts get no email" in w for w in warnings)


# --------------------------------------------------------------------------- quoting


@pytest.mark.parametrize(
    "value,literal",
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
        ("bell\x07", '"bell\\x07"'),
        ("日本", '"日本"'),
    ],
)
def test_go_string_literals(value: str, literal: str) -> None:
    assert go_string(value) == literal


def test_template_literal_leaves_plain_text_alone() -> None:
    assert template_literal("alice@example.com") == "alice@example.com"
    assert template_literal("a{{b}}@x") == '{{ "a{{b}}@x" }}'


def test_matchers_escape_quotes_and_backslashes() -> None:
    assert matcher("site", "shop") == 'site="shop"'
    assert matcher("site", 'a"b\\c') == 'site="a\\"b\\\\c"'


# --------------------------------------------------------------------------- amtool


def tricky_sites() -> list[SiteSpec]:
    out = []
    for i, text in enumerate(TRICKY_TEXT):
        contact = ContactSpec(text or "x", f"user{i}@example.com", None, True, False)
        out.append(SiteSpec(f"s-{i}", f"https://s{i}.example", name=text, contacts=(contact,)))
    odd = ContactSpec("Odd", "odd{{.Status}}@example.com", None, True, False)
    out.append(SiteSpec("odd_mail", "https://odd.example", name="odd", contacts=(odd,)))
    return out


@pytest.mark.parametrize(
    "spec",
    [
        global_spec(),
        global_spec(operations_group="Ops", operations=(ALICE, BOB, OPS_ODD)),
        global_spec(smtp=SmtpSpec()),
        global_spec(webhook_token=None, grafana_url=None),
        global_spec(
            admin_base_url='http://[::1]:8000/a"b',
            smtp=SmtpSpec("[::1]:25", '"Up: {{watch}}" <up@example.com>', require_tls=False),
            webhook_token='to"ken: #1',
        ),
    ],
    ids=["full", "operations", "no-smtp", "no-token-no-grafana", "odd-settings"],
)
def test_amtool_accepts_the_generated_config(spec: GlobalSpec, tmp_path: Path) -> None:
    config = build([*SITES, *tricky_sites()], spec)
    text = render_yaml(config)
    assert yaml.safe_load(text) == config
    assert amtool_check(text, binary("amtool"), links_text=links_template(spec)) == []


def test_amtool_check_reports_an_invalid_config() -> None:
    config = build(SITES)
    config["route"]["routes"].append({"receiver": "nobody", "matchers": ['site="x"']})
    errors = amtool_check(render_yaml(config), binary("amtool"))
    assert errors and any("nobody" in e for e in errors)


# --------------------------------------------------------------------------- templates


def alert(status: str, **annotations: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "SiteDown", "site": "shop", "severity": "page"},
        "annotations": annotations,
        "startsAt": "2024-05-01T10:00:00Z",
        "endsAt": "2024-05-01T10:05:04Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "abc",
    }


def data(status: str, **annotations: str) -> dict[str, Any]:
    a = alert(status, **annotations)
    return {
        "receiver": "site-shop",
        "status": status,
        "alerts": [a],
        "groupLabels": {"alertname": "SiteDown", "site": "shop"},
        "commonLabels": a["labels"],
        "commonAnnotations": a["annotations"],
        "externalURL": "http://alertmanager.internal:9093",
    }


def render(
    text: str,
    payload: dict[str, Any],
    tmp_path: Path,
    kind: str = "text",
    spec: GlobalSpec | None = None,
) -> str:
    """``text`` rendered by amtool with upwatch.tmpl and the links file generated
    for ``spec``, as Alertmanager renders a message."""
    path = tmp_path / "data.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    links = tmp_path / LINKS_TEMPLATE
    links.write_text(links_template(spec or global_spec()), encoding="utf-8")
    proc = subprocess.run(
        [
            binary("amtool"),
            "template",
            "render",
            f"--template.glob={TEMPLATES}",
            f"--template.glob={links}",
            f"--template.data={path}",
            f"--template.type={kind}",
            f"--template.text={text}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def email_of(config: dict[str, Any], receiver: str = "site-shop") -> dict[str, Any]:
    return receivers(config)[receiver]["email_configs"][0]


NAME = 'Shop "<b>bold</b>" & {{ .Status }} — 日本'
DOWN = {
    "site_name": NAME,
    "url": "https://shop.example.com/health?a=1&b=2",
    "reason": "timeout",
    "down_since": "2024-05-01 09:59:50 UTC",
    "locations": "eu, us",
    "summary": f"{NAME} is down",
}


def test_down_email_subject_text_and_html(tmp_path: Path) -> None:
    email = email_of(build(SITES))
    payload = data("firing", **DOWN)
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == f"[DOWN] {NAME} is down"
    text = render(email["text"], payload, tmp_path)
    assert f"{NAME} is down" in text
    assert "URL:        https://shop.example.com/health?a=1&b=2" in text
    assert "Reason:     timeout" in text
    assert "Down since: 2024-05-01 09:59:50 UTC" in text
    assert "Seen down from: eu, us" in text
    assert "Down for" not in text
    assert "Admin app:  http://admin.internal:8000/sites/shop" in text
    assert "Grafana:    http://grafana.internal:3000/d/upwatch-site?var-site=shop" in text
    html = render(email["html"], payload, tmp_path, "html")
    assert "<b>bold</b>" not in html  # annotations are escaped in HTML
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="http://admin.internal:8000/sites/shop"' in html
    assert "shop.example.com/health?a=1&amp;b=2" in html
    assert '<tr><th align="left">Seen down from</th><td>eu, us</td></tr>' in html


def test_up_email_says_how_long_the_site_was_down(tmp_path: Path) -> None:
    email = email_of(build(SITES))
    payload = data("resolved", **DOWN)
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == f"[UP] {NAME} is back up after 5m4s"
    text = render(email["text"], payload, tmp_path)
    assert f"{NAME} is back up" in text
    assert "Back up at: 2024-05-01 10:05:04 UTC" in text
    assert "Down for:   5m4s" in text
    assert "Seen down from: eu, us" in text  # where the outage was seen
    html = render(email["html"], payload, tmp_path, "html")
    assert "5m4s" in html and "Back up at" in html


def test_missing_annotations_fall_back_to_the_labels_and_start_time(tmp_path: Path) -> None:
    email = email_of(build(SITES))
    payload = data("firing")
    assert render(email["headers"]["Subject"], payload, tmp_path).strip() == "[DOWN] shop is down"
    text = render(email["text"], payload, tmp_path)
    assert "Down since: 2024-05-01 10:00:00 UTC" in text
    assert "URL:" not in text and "Reason:" not in text
    assert "Seen down from" not in text


def test_no_locations_line_when_the_exporters_have_no_location(tmp_path: Path) -> None:
    """Without --location the rule's locations annotation is empty: no line for it."""
    email = email_of(build(SITES))
    payload = data("firing", **{**DOWN, "locations": ""})
    text = render(email["text"], payload, tmp_path)
    html = render(email["html"], payload, tmp_path, "html")
    assert "Seen down from" not in text and "Seen down from" not in html
    assert "Down since: 2024-05-01 09:59:50 UTC" in text


def test_a_line_break_in_an_annotation_cannot_split_the_subject(tmp_path: Path) -> None:
    email = email_of(build(SITES))
    payload = data("firing", site_name="Shop\r\nBcc: evil@example.com")
    subject = render(email["headers"]["Subject"], payload, tmp_path)
    assert subject.strip() == "[DOWN] Shop Bcc: evil@example.com is down"
    assert "\n" not in subject.strip()


def test_other_alerts_use_their_summary(tmp_path: Path) -> None:
    email = email_of(build(SITES))
    payload = data("firing", summary="Certificate of Web shop expires in 5 days")
    payload["commonLabels"] = {**payload["commonLabels"], "alertname": "SiteCertificateExpiring"}
    payload["alerts"][0]["labels"]["alertname"] = "SiteCertificateExpiring"
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == "[ALERT] Certificate of Web shop expires in 5 days"


def test_no_grafana_line_without_a_grafana_url(tmp_path: Path) -> None:
    spec = global_spec(grafana_url=None)
    email = email_of(build(SITES, spec))
    text = render(email["text"], data("firing", **DOWN), tmp_path, spec=spec)
    html = render(email["html"], data("firing", **DOWN), tmp_path, "html", spec=spec)
    assert "Grafana" not in text and "Grafana" not in html
    assert "Admin app:  http://admin.internal:8000/sites/shop" in text


def test_odd_urls_are_escaped_in_the_links(tmp_path: Path) -> None:
    spec = global_spec(
        admin_base_url='http://admin/"><script>x</script>', grafana_url="http://g/{{x}}"
    )
    email = email_of(build(SITES, spec))
    html = render(email["html"], data("firing", **DOWN), tmp_path, "html", spec=spec)
    assert "<script>" not in html
    assert "%22%3e%3cscript%3ex%3c/script%3e/sites/shop" in html
    text = render(email["text"], data("firing", **DOWN), tmp_path, spec=spec)
    assert "Grafana:    http://g/{{x}}/d/upwatch-site?var-site=shop" in text


def test_a_broken_links_file_is_caught_by_the_check() -> None:
    errors = amtool_check(render_yaml(build(SITES)), binary("amtool"), links_text="{{ define }}")
    assert errors and any("upwatch-links.tmpl" in e or "template" in e for e in errors)


def test_an_odd_address_is_used_literally(tmp_path: Path) -> None:
    config = build(tricky_sites())
    to = receivers(config)["site-odd_mail"]["email_configs"][0]["to"]
    assert render(to, data("firing"), tmp_path).strip() == "odd{{.Status}}@example.com"


def exporter_data(status: str, **labels: str) -> dict[str, Any]:
    instance = labels.pop("instance", "10.0.0.5:9115")
    a = {
        "status": status,
        "labels": {
            "alertname": "UpwatchExporterDown",
            "instance": instance,
            "job": "upwatch-exporter",
            "severity": "critical",
            **labels,
        },
        "annotations": {
            "summary": f"Upwatch exporter {instance} is down",
            "description": f"Prometheus has not been able to scrape the Upwatch exporter at "
            f"{instance} for a minute: the sites it probes are not monitored.",
        },
        "startsAt": "2024-05-01T10:00:00Z",
        "endsAt": "2024-05-01T10:07:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "e1",
    }
    return {
        "receiver": OPERATIONS_RECEIVER,
        "status": status,
        "alerts": [a],
        "groupLabels": {"alertname": "UpwatchExporterDown", "instance": instance},
        "commonLabels": a["labels"],
        "commonAnnotations": a["annotations"],
        "externalURL": "http://alertmanager.internal:9093",
    }


def test_exporter_down_email_names_the_exporter_and_its_unmonitored_sites(tmp_path: Path) -> None:
    email = email_of(build(SITES, ops_spec(ALICE)), OPERATIONS_RECEIVER)
    payload = exporter_data("firing", location="eu", shard="2/3")
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == (
        "[DOWN] Upwatch exporter 10.0.0.5:9115 (eu, shard 2/3) is down: its sites are not monitored"
    )
    text = render(email["text"], payload, tmp_path)
    assert "Exporter:   10.0.0.5:9115" in text
    assert "Location:   eu" in text and "Shard:      2/3" in text
    assert "Severity:   critical" in text
    assert "Since:      2024-05-01 10:00:00 UTC" in text
    assert "the sites it probes are not monitored" in text
    assert "Admin app:  http://admin.internal:8000/\n" in text
    assert "Site:" not in text and "/sites/" not in text and "Grafana" not in text
    html = render(email["html"], payload, tmp_path, "html")
    assert '<th align="left">Exporter</th><td>10.0.0.5:9115</td>' in html
    assert '<th align="left">Site</th>' not in html
    assert 'href="http://admin.internal:8000/"' in html and "/sites/" not in html


def test_exporter_back_email(tmp_path: Path) -> None:
    email = email_of(build(SITES, ops_spec(ALICE)), OPERATIONS_RECEIVER)
    payload = exporter_data("resolved")
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == "[UP] Upwatch exporter 10.0.0.5:9115 is back"
    text = render(email["text"], payload, tmp_path)
    assert text.startswith("Upwatch exporter 10.0.0.5:9115 is back\n")
    assert "Resolved:   2024-05-01 10:07:00 UTC" in text
    assert "Location:" not in text and "Shard:" not in text


def test_no_exporter_scraped_at_all_uses_the_summary(tmp_path: Path) -> None:
    email = email_of(build(SITES, ops_spec(ALICE)), OPERATIONS_RECEIVER)
    payload = exporter_data("firing", instance="")
    for a in [payload["alerts"][0]]:
        a["labels"].pop("instance")
        a["annotations"]["summary"] = "No Upwatch exporter is scraped"
    payload["commonLabels"] = payload["alerts"][0]["labels"]
    payload["commonAnnotations"] = payload["alerts"][0]["annotations"]
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == "[ALERT] No Upwatch exporter is scraped"
    assert "Exporter:   none scraped" in render(email["text"], payload, tmp_path)


def test_config_reload_failed_email(tmp_path: Path) -> None:
    email = email_of(build(SITES, ops_spec(ALICE)), OPERATIONS_RECEIVER)
    payload = exporter_data("firing")
    a = payload["alerts"][0]
    a["labels"].update(alertname="UpwatchConfigReloadFailed", severity="warning")
    a["annotations"]["summary"] = "Upwatch exporter 10.0.0.5:9115 rejected its site list"
    payload["commonLabels"], payload["commonAnnotations"] = a["labels"], a["annotations"]
    subject = render(email["headers"]["Subject"], payload, tmp_path).strip()
    assert subject == "[ALERT] Upwatch exporter 10.0.0.5:9115 rejected its site list"
    text = render(email["text"], payload, tmp_path)
    assert "Exporter:   10.0.0.5:9115" in text and "Severity:   warning" in text
