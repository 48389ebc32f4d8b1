"""Login rate limiting: failed attempts are counted per (username, client IP) and
per client IP in a sliding window, in memory. Past the limit the login answers 429
with a Retry-After header until the window has passed. A success clears the
(username, IP) counter.

Memory storage is per process: behind several gunicorn workers each keeps its own
count, which still bounds guessing to ``workers x limit`` per window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from flask import Flask, current_app

EXTENSION_KEY = "upwatch.login_limiter"
IP_FACTOR = 4  # an IP may fail this many times the per-user limit (password spraying)


class LoginLimiter:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, ip: str) -> tuple[str, str]:
        return f"user:{username.strip().lower()}|{ip}", f"ip:{ip}"

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, ip: str) -> int | None:
        """Seconds to wait before trying again, or None when a try is allowed."""
        now = self.clock()
        user_key, ip_key = self.keys(username, ip)
        with self._lock:
            waits = []
            for key, limit in ((user_key, self.limit), (ip_key, self.limit * IP_FACTOR)):
                q = self._prune(key, now)
                if len(q) >= limit:
                    waits.append(q[len(q) - limit] + self.window - now)
            if not waits:
                return None
            return max(1, math.ceil(max(waits)))

    def record_failure(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self.keys(username, ip):
                self._prune(key, now).append(now)

    def reset(self, username: str, ip: str) -> None:
        user_key, _ = self.keys(username, ip)
        with self._lock:
            self._failures.pop(user_key, None)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()


def init_app(app: Flask) -> LoginLimiter:
    limiter = LoginLimiter(app.config["LOGIN_RATE_LIMIT"], app.config["LOGIN_RATE_WINDOW"])
    app.extensions[EXTENSION_KEY] = limiter
    return limiter


def get_limiter() -> LoginLimiter:
    return current_app.extensions[EXTENSION_KEY]


def too_many_message(retry_after: int) -> str:
    return f"Too many failed login attempts. Try again in {retry_after} seconds."
