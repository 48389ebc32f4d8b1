"""/metrics rendering with per-site lines kept ready (exporter.metrics.SiteRenderer):
the text is exactly what rendering every family from scratch gives, and a site's
lines change as soon as its state does (nothing stale is ever served)."""

from __future__ import annotations

import random

from prometheus_client.parser import text_string_to_metric_families

from exporter import config
from exporter.metrics import _RENDERERS, SiteRenderer, _head
from exporter.probes import REASONS, ProbeResult
from exporter.state import SiteState


def site_list(n: int):
    lines = ["sites:"]
    for i in range(n):
        url = f"tcp://127.0.0.1:{1000 + i}" if i % 5 == 0 else f"https://s{i}.example.com/"
        lines += [f"  - id: s{i}", f"    url: {url}", f"    maintenance: {str(i % 7 == 0).lower()}"]
    return config.parse_yaml("\n".join(lines)).sites


def random_result(rng: random.Random, t: float) -> ProbeResult:
    ok = rng.random() < 0.7
    return ProbeResult(
        success=ok,
        duration_seconds=rng.choice([0.003, 0.04, 0.3, 2.0, 12.0]),
        reason=None if ok else rng.choice(sorted(REASONS)),
        status_code=rng.choice([None, 200, 503]),
        tls_expiry=rng.choice([None, 1.9e9]),
        started_at=t,
    )


def from_scratch(renderer: SiteRenderer, states: dict[str, SiteState]) -> str:
    """The exposition rendered family by family over every site, no cache."""
    rows = [(s, renderer.labels[s.id], states.get(s.id)) for s in renderer.sites]
    out = []
    for name, render in _RENDERERS:
        out.append(_head(name))
        out.extend(render(rows))
    out.append(_head("upwatch_site_info"))
    out.extend(renderer.info[s.id] for s in renderer.sites)
    return "".join(out)


def test_ready_lines_give_exactly_the_text_rendered_from_scratch() -> None:
    rng = random.Random(7)
    sites = site_list(60)
    renderer = SiteRenderer(sites, location="eu")
    states = {s.id: SiteState() for s in sites[:50]}  # ten never probed
    for step in range(300):
        s = rng.choice(sites[:50])
        states[s.id].observe(random_result(rng, 1000.0 + step), confirmations=2)
        if rng.random() < 0.5:  # as the exporter does on most results
            renderer.update(s.id, states[s.id])
        if step % 37 == 0:
            assert renderer.render(states) == from_scratch(renderer, states)
    text = renderer.render(states)
    assert text == from_scratch(renderer, states)
    families = {f.name for f in text_string_to_metric_families(text)}
    assert {"upwatch_site_up", "upwatch_probe_duration_seconds", "upwatch_site_info"} <= families


def test_a_changed_state_is_never_served_stale() -> None:
    (site,) = site_list(1)
    renderer = SiteRenderer([site])
    state = SiteState()
    state.observe(ProbeResult(True, 0.01, started_at=1.0), confirmations=1)
    assert 'upwatch_site_up{site="s0"} 1\n' in renderer.render({site.id: state})
    # no update() call: the next scrape still sees the change
    state.observe(ProbeResult(False, 0.01, reason="timeout", started_at=2.0), confirmations=1)
    text = renderer.render({site.id: state})
    assert 'upwatch_site_up{site="s0"} 0\n' in text
    assert 'upwatch_site_failure_reason{site="s0",reason="timeout"} 1\n' in text
    # a new state object for the same site (a reload) is rendered anew
    fresh = SiteState()
    assert "upwatch_site_up{" not in renderer.render({site.id: fresh})


def test_update_of_a_site_not_in_the_list_is_ignored() -> None:
    renderer = SiteRenderer(site_list(2))
    renderer.update("gone", SiteState())
    assert "gone" not in renderer.render({})
