"""Benchmark: how long after a site goes down (and comes back) its people hear of it.

    .venv/bin/python bench/alert_latency.py [--mode fast|shipped|both] [--sites N] [--no-up]

Starts the whole alert path of the end-to-end tests (``tests/e2e/stack.py``: the
exporter, Prometheus with the shipped rules, Alertmanager on the admin app's generated
configuration, the admin app under gunicorn, an SMTP catcher and a fake Twilio API)
once per mode, adds N sites with one contact each (email and SMS), switches all of
them down at one instant and measures, per site, the time from the switch to the
"down" email arriving at the SMTP server and to the "down" SMS arriving at the SMS
provider's API; then the same for the switch back up and the "up" messages.

Modes:

``fast``
    the end-to-end tests' intervals: 1 s probe interval, 2 confirmations, 1 s scrape
    and rule evaluation, Prometheus resending alerts every 1 s, Alertmanager
    group_wait and group_interval 1 s.
``shipped``
    what is shipped: the default probe interval (30 s) and confirmations (2), the
    intervals of prometheus/prometheus.yml and alertmanager/base.yml, Prometheus'
    default resend delay. Slow: a few minutes.

The sites are probed at different points of their interval (the exporter spreads
them), so the N sites of one run are N samples of where in the interval an outage
starts; the figures are min / median / max over them. Nothing here is asserted.

It also prints how far the "down for" that the "up" email (its subject) and the "up"
SMS state is from the outage the exporter saw (from the probe that saw the site down
to the one that saw it up, read from the target's request log), and any person who
got other than exactly one "down" and one "up" of each kind. ``--keep`` keeps the
work directory with every part's log. Raw figures go to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import (  # noqa: E402
    FAST,
    SHIPPED,
    Contact,
    Site,
    Stack,
    Timing,
    prometheus_config,
    sms_kind,
    stated_seconds,
)

RESULTS = ROOT / "bench" / "results"


def site_down_for(rules_dir: Path = ROOT / "prometheus" / "rules") -> str:
    """The ``for`` of the shipped SiteDown rule ('0s' when it has none)."""
    for path in sorted(rules_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                if rule.get("alert") == "SiteDown":
                    return str(rule.get("for", "0s"))
    return "?"


def effective_intervals(timing: Timing) -> dict[str, str]:
    """The intervals a run with ``timing`` uses, as the files and flags set them."""
    ports = {"exporter": 1, "prometheus": 2, "alertmanager": 3, "admin": 4}
    prom = prometheus_config(ports, timing)
    jobs = {j.get("job_name"): j for j in prom.get("scrape_configs") or []}
    exporter_job = next((j for n, j in jobs.items() if "exporter" in str(n)), {})
    glob = prom.get("global") or {}
    base = yaml.safe_load((ROOT / "alertmanager" / "base.yml").read_text())["route"]
    return {
        "probe interval": timing.site_interval or "30s (default)",
        "confirmations": str(timing.confirmations or "2 (default)"),
        "exporter scrape interval": str(
            exporter_job.get("scrape_interval") or glob.get("scrape_interval", "1m")
        ),
        "rule evaluation interval": str(glob.get("evaluation_interval", "1m")),
        "SiteDown for": site_down_for(),
        "Prometheus resend delay": timing.resend_delay or "1m (default)",
        "group_wait": timing.group_wait or str(base.get("group_wait", "30s")),
        "group_interval": timing.group_interval or str(base.get("group_interval", "5m")),
    }


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"min {min(values):6.1f} s   median {statistics.median(values):6.1f} s   "
        f"max {max(values):6.1f} s   (n={len(values)})"
    )


def run(mode: str, timing: Timing, n_sites: int, measure_up: bool, keep: bool = False) -> dict:
    timeout = 30.0 if timing is FAST else 300.0
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix=f"upwatch-latency-{mode}-")
    try:
        return _run(Path(tmp), mode, timing, n_sites, measure_up, timeout, started)
    finally:
        if keep:
            print(f"[{mode}] work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _run(
    tmp: Path,
    mode: str,
    timing: Timing,
    n_sites: int,
    measure_up: bool,
    timeout: float,
    started: float,
) -> dict:
    with Stack(tmp, timing) as stack:
        people: list[tuple[Site, Contact]] = []
        for i in range(n_sites):
            contact = Contact(f"Person {i}", email=f"p{i}@example.com", phone=f"+1415555{2680 + i}")
            people.append((stack.add_site(f"bench{i}", [contact], name=f"Bench {i}"), contact))
        stack.wait_monitored(*(s for s, _ in people), timeout=max(timeout, 120))
        print(f"[{mode}] stack up and {n_sites} sites monitored", flush=True)

        went_down: dict[str, float] = {}

        def measure(kind: str) -> dict[str, list[float]]:
            switch = stack.down if kind == "down" else stack.up
            subject = "[DOWN]" if kind == "down" else "[UP]"
            at = {site.slug: switch(site) for site, _ in people}
            email, sms, stated_error = [], [], []
            for site, contact in people:
                address = contact.email
                mail = stack.smtp.wait_for(
                    lambda m, a=address: a in m.rcpt_tos and m.subject.startswith(subject),
                    timeout=timeout,
                )[0]
                text = stack.twilio.wait_for(
                    lambda s, p=contact.phone: s.to == p and sms_kind(s.body) == kind,
                    timeout=timeout,
                )[0]
                email.append(mail.received_at - at[site.slug])
                sms.append(text.received_at - at[site.slug])
                if kind == "up":  # what the messages say the outage lasted, minus the truth:
                    # from the probe that saw the site down to the one that saw it up
                    seen_up = stack.first_probe_after(site, at[site.slug])
                    seen_down = stack.first_probe_after(site, went_down[site.slug])
                    assert seen_up is not None and seen_down is not None
                    outage = seen_up - seen_down
                    email_error = stated_seconds(mail.subject, "after") - outage
                    sms_error = stated_seconds(text.body, "after") - outage
                    stated_error.append(
                        {
                            "outage": round(outage, 1),
                            "email": round(email_error, 1) + 0.0,  # + 0.0: never "-0.0"
                            "sms": round(sms_error, 1) + 0.0,
                        }
                    )
                else:
                    went_down[site.slug] = at[site.slug]
            print(f"[{mode}] {kind}: email {summary(email)}", flush=True)
            print(f"[{mode}] {kind}: SMS   {summary(sms)}", flush=True)
            if stated_error:
                print(f"[{mode}] stated 'down for' minus the real outage: {stated_error}")
            return {"email": email, "sms": sms, "stated_duration_error": stated_error}

        result = {"down": measure("down")}
        if measure_up:
            result["up"] = measure("up")
        time.sleep(5)
        # every message each person got (one "down" and one "up" of each kind expected)
        result["messages"] = {
            site.slug: {
                "email": [m.subject for m in stack.smtp.messages(to=contact.email)],
                "sms": [sms_kind(s.body) for s in stack.twilio.messages(to=contact.phone)],
            }
            for site, contact in people
        }
    result["intervals"] = effective_intervals(timing)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["fast", "shipped", "both"], default="both")
    parser.add_argument("--sites", type=int, default=4, help="sites (samples) per run")
    parser.add_argument("--no-up", action="store_true", help="measure the down path only")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (logs)")
    args = parser.parse_args()
    modes = {"fast": FAST, "shipped": SHIPPED}
    chosen = list(modes) if args.mode == "both" else [args.mode]
    results = {}
    for mode in chosen:
        results[mode] = run(mode, modes[mode], args.sites, not args.no_up, args.keep)

    print("\nAlert latency: from the site's switch to the message arriving")
    for mode, result in results.items():
        print(f"\n{mode}: " + ", ".join(f"{k} {v}" for k, v in result["intervals"].items()))
        for kind in ("down", "up"):
            if kind in result:
                print(f"  {kind:>4} -> email  {summary(result[kind]['email'])}")
                print(f"  {kind:>4} -> SMS    {summary(result[kind]['sms'])}")
        errors = result.get("up", {}).get("stated_duration_error") or []
        for channel in ("email", "sms"):
            values = [e[channel] for e in errors]
            if values:
                print(
                    f"  'down for' in the {channel} up message minus the real outage: "
                    f"{min(values):+.1f} .. {max(values):+.1f} s"
                )
        extra = {
            slug: got
            for slug, got in result["messages"].items()
            if len(got["email"]) != 2 or got["sms"] != ["down", "up"]
        }
        print(f"  messages other than one down and one up each: {extra or 'none'}")
        print(f"  (run took {result['wall_seconds']} s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"alert-latency-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nraw figures: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
