"""Structured logs: one line per event, ``key=value`` pairs, never secrets."""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger("upwatch.exporter")


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [f"ts={ts}.{int(record.msecs):03d}Z", f"level={record.levelname.lower()}"]
        parts.append(f"event={_quote(record.getMessage())}")
        for key, value in getattr(record, "kv", {}).items():
            parts.append(f"{key}={_quote(value)}")
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger("upwatch")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def log(event: str, level: int = logging.INFO, **kv: object) -> None:
    logger.log(level, event, extra={"kv": kv})
