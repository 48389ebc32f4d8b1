"""Structured logs of the admin app: one ``key=value`` line per event.

Values of keys that look like secrets (password, token, secret, key, authorization)
are replaced by ``[redacted]`` so that a careless call cannot leak them.
"""

from __future__ import annotations

import logging

from exporter.logs import KeyValueFormatter, setup  # noqa: F401  (one log format for both)

logger = logging.getLogger("upwatch.admin")

_SECRET_MARKERS = ("password", "token", "secret", "authorization", "api_key", "credential")


def redact(kv: dict[str, object]) -> dict[str, object]:
    return {
        k: ("[redacted]" if any(m in k.lower() for m in _SECRET_MARKERS) else v)
        for k, v in kv.items()
    }


def log(event: str, level: int = logging.INFO, **kv: object) -> None:
    logger.log(level, event, extra={"kv": redact(kv)})
