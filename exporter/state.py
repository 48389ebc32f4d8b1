"""Per-site state: the confirmation state machine and the figures exported for it.

A site goes down only after ``confirmations`` consecutive failed probes, and comes
back up on the first success. The time of a change is the start of what changed:
for "down", the first failed probe of the confirming streak (when the outage began,
not when it was confirmed); for "up", the successful probe.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from exporter.probes import REASONS, ProbeResult

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

UP, DOWN, FIRST_UP = "up", "down", "first_up"


@dataclass(slots=True)
class SiteState:
    up: bool | None = None  # None until the first result decides it
    consecutive_failures: int = 0
    streak_started_at: float | None = None
    last_change: float | None = None
    last_result: ProbeResult | None = None
    status_code: int | None = None
    tls_expiry: float | None = None
    successes: int = 0
    failures: int = 0
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    duration_sum: float = 0.0
    # Bumped by every observe(): the /metrics renderer re-renders a site's lines only
    # when it changed (exporter.metrics.SiteRenderer).
    version: int = 0

    def observe(self, result: ProbeResult, confirmations: int) -> str | None:
        """Record one probe result; return UP, DOWN or FIRST_UP when the site's state
        changed, else None."""
        self.version += 1
        self.last_result = result
        self.buckets[bisect_left(DURATION_BUCKETS, result.duration_seconds)] += 1
        self.duration_sum += result.duration_seconds
        if result.status_code is not None or not result.success:
            self.status_code = result.status_code or 0
        if result.tls_expiry is not None:
            self.tls_expiry = result.tls_expiry
        if result.success:
            self.successes += 1
            self.consecutive_failures = 0
            self.streak_started_at = None
            if self.up is not True:
                transition = FIRST_UP if self.up is None else UP
                self.up = True
                self.last_change = result.started_at
                return transition
            return None
        self.failures += 1
        reason = result.reason if result.reason in REASONS else "other"
        self.failures_by_reason[reason] = self.failures_by_reason.get(reason, 0) + 1
        self.consecutive_failures += 1
        if self.consecutive_failures == 1:
            self.streak_started_at = result.started_at
        if self.up is not False and self.consecutive_failures >= confirmations:
            self.up = False
            self.last_change = self.streak_started_at
            return DOWN
        return None

    @property
    def probes(self) -> int:
        return self.successes + self.failures
