"""The confirmation state machine: down after N consecutive failures, up on the first
success, and the time of each change."""

from __future__ import annotations

from exporter.probes import ProbeResult
from exporter.state import DOWN, FIRST_UP, UP, SiteState


def ok(t: float, duration: float = 0.01) -> ProbeResult:
    return ProbeResult(success=True, duration_seconds=duration, status_code=200, started_at=t)


def fail(t: float, reason: str = "timeout") -> ProbeResult:
    return ProbeResult(
        success=False, duration_seconds=1.0, reason=reason, message="x", started_at=t
    )


def test_unknown_until_the_first_result_then_up():
    st = SiteState()
    assert st.up is None
    assert st.observe(ok(100), confirmations=3) == FIRST_UP
    assert st.up is True and st.last_change == 100


def test_down_only_after_n_consecutive_failures_dated_from_the_first():
    st = SiteState()
    st.observe(ok(0), 3)
    assert st.observe(fail(10), 3) is None
    assert st.observe(fail(20), 3) is None
    assert st.up is True
    assert st.observe(fail(30), 3) == DOWN
    assert st.up is False and st.last_change == 10  # the outage began at the first failure
    assert st.observe(fail(40), 3) is None  # still down: no second transition


def test_up_again_on_the_first_success():
    st = SiteState()
    for r in [ok(0), fail(1), fail(2)]:
        st.observe(r, 2)
    assert st.up is False
    assert st.observe(ok(3), 2) == UP
    assert st.up is True and st.last_change == 3


def test_flapping_shorter_than_the_confirmations_never_goes_down():
    st = SiteState()
    st.observe(ok(0), 3)
    t = 1
    for _ in range(10):
        assert st.observe(fail(t), 3) is None
        assert st.observe(fail(t + 1), 3) is None
        assert st.observe(ok(t + 2), 3) is None
        t += 3
    assert st.up is True and st.last_change == 0
    assert st.failures == 20 and st.successes == 11


def test_a_site_failing_from_the_start_goes_down_without_ever_being_up():
    st = SiteState()
    assert st.observe(fail(5, "dns"), 2) is None
    assert st.up is None
    assert st.observe(fail(6, "dns"), 2) == DOWN
    assert st.last_change == 5


def test_counters_reasons_and_histogram():
    st = SiteState()
    st.observe(ok(0, duration=0.003), 1)
    st.observe(ok(1, duration=0.2), 1)
    st.observe(fail(2, "dns"), 1)
    st.observe(fail(3, "connect"), 1)
    st.observe(fail(4, "connect"), 1)
    assert (st.successes, st.failures, st.probes) == (2, 3, 5)
    assert st.failures_by_reason == {"dns": 1, "connect": 2}
    assert sum(st.buckets) == 5
    assert st.buckets[0] == 1  # 3 ms <= 5 ms bucket


def test_lowering_confirmations_on_reload_takes_effect_on_the_next_failure():
    st = SiteState()
    st.observe(ok(0), 5)
    for t in (1, 2, 3):
        st.observe(fail(t), 5)
    assert st.up is True
    assert st.observe(fail(4), 2) == DOWN
    assert st.last_change == 1
