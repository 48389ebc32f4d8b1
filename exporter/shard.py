"""Sharding: which exporter of N probes a site. Stable across processes and hosts
(a hash of the site id, not Python's randomised hash())."""

from __future__ import annotations

import hashlib
import re

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> (2, 3). Shards are numbered 1..N."""
    m = _SHARD.match(text.strip())
    if not m:
        raise ValueError(f"--shard {text!r}: expected I/N, such as 1/3")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard {text!r}: I must be between 1 and N (shards are 1..N)")
    return i, n


def shard_of(site_id: str, n: int) -> int:
    """The shard (1..n) that probes ``site_id``."""
    digest = hashlib.sha256(site_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def phase_fraction(site_id: str) -> float:
    """A stable number in [0, 1) used to order sites when spreading them."""
    digest = hashlib.sha256(b"phase:" + site_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
