"""The "test now" action: ask the exporter to probe one site at once (``GET /probe?site=ID``).

The exporter probes the site as its site list has it and answers with the result
(``success``, ``reason``, ``message``, ``status_code``, ``duration_seconds``,
``tls_expiry``, ``started_at``), or 404 when the site is not in its list (just
created and not yet reloaded, or paused). Every way this can go wrong becomes an
:class:`~admin_app.errors.AppError` with a message a person can act on: 502 when no
exporter can be reached or one answers nonsense, 504 when it takes too long, 409
when it does not know the site. With several exporters (shards, comma-separated
``UPWATCH_EXPORTER_URL``) the first one that answers is used: each reads the whole
file and probes any site of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from admin_app.errors import AppError

CONNECT_TIMEOUT = 3.0
# Added to the site's own timeout: the exporter answers once its probe has ended.
MARGIN = 5.0
MAX_TIMEOUT = 60.0
RESULT_KEYS = ("success", "reason", "duration_seconds")


@dataclass(frozen=True)
class ProbeOutcome:
    """What the exporter answered; ``result`` is its JSON as it sent it."""

    exporter: str
    result: dict[str, Any]

    @property
    def success(self) -> bool:
        return bool(self.result.get("success"))

    def to_json(self) -> dict[str, Any]:
        return {**self.result, "exporter": self.exporter}

    def display(self) -> dict[str, str]:
        """The result as the site page shows it."""
        r = self.result
        out = {"verdict": "up" if self.success else "down"}
        duration = r.get("duration_seconds")
        if isinstance(duration, int | float):
            out["duration"] = f"{duration * 1000:.0f} ms"
        if r.get("status_code") is not None:
            out["status_code"] = f"HTTP {r['status_code']}"
        if r.get("reason"):
            out["reason"] = str(r["reason"])
        if r.get("message"):
            out["message"] = str(r["message"])
        for key in ("tls_expiry", "started_at"):
            value = r.get(key)
            if isinstance(value, int | float) and value > 0:
                when = datetime.fromtimestamp(value, UTC)
                out[key] = when.strftime("%Y-%m-%d %H:%M:%S UTC")
        return out


def request_timeout(site_timeout: float, maximum: float = MAX_TIMEOUT) -> float:
    return max(CONNECT_TIMEOUT, min(site_timeout + MARGIN, maximum))


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return _short(response.text) or response.reason_phrase


def probe_site(
    exporter_urls: Sequence[str],
    slug: str,
    timeout: float,
    paused: bool = False,
) -> ProbeOutcome:
    if not exporter_urls:
        raise AppError(
            502,
            "exporter_not_configured",
            "no exporter is configured (UPWATCH_EXPORTER_URL), so the site cannot be tested",
        )
    failures: list[str] = []
    for base in exporter_urls:
        url = base.rstrip("/") + "/probe"
        try:
            with httpx.Client(
                timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT), trust_env=False
            ) as client:
                response = client.get(url, params={"site": slug})
        except httpx.TimeoutException:
            raise AppError(
                504,
                "exporter_timeout",
                f"the exporter at {base} did not answer within {timeout:g}s; "
                "the site may be very slow, or the exporter overloaded",
            ) from None
        except httpx.HTTPError as exc:
            failures.append(f"{base} ({exc.__class__.__name__}: {exc})")
            continue
        return _interpret(base, slug, response, paused)
    raise AppError(
        502,
        "exporter_unreachable",
        "cannot reach the exporter to test the site: " + "; ".join(failures) + ". Is it running?",
    )


def _interpret(base: str, slug: str, response: httpx.Response, paused: bool) -> ProbeOutcome:
    if response.status_code == 404:
        if paused:
            message = (
                f"the site {slug!r} is paused, so it is not in the exporter's site list; "
                "resume it to test it"
            )
        else:
            message = (
                f"the exporter at {base} does not know the site {slug!r} yet: the new "
                "site list has not been applied or reloaded yet (see the configuration "
                "status on the sites page); try again in a few seconds"
            )
        raise AppError(409, "not_in_site_list", message)
    if response.status_code != 200:
        raise AppError(
            502,
            "exporter_error",
            f"the exporter at {base} answered HTTP {response.status_code}: "
            f"{_error_message(response)}",
        )
    try:
        result = response.json()
    except ValueError:
        result = None
    if not isinstance(result, dict) or any(k not in result for k in RESULT_KEYS):
        raise AppError(
            502,
            "exporter_error",
            f"the exporter at {base} answered something that is not a probe result: "
            f"{_short(response.text)!r}",
        )
    return ProbeOutcome(exporter=base, result=result)
