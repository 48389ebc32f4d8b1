"""What every SMS provider is: the interface, the result of a send, the
classification of HTTP outcomes, and number masking for logs.

A provider (one module each, named in :data:`admin_app.notify.sms.PROVIDERS`):

* ``validate(settings) -> dict[str, str]``: problems with the settings it needs,
  keyed by the settings key (``{"twilio_from": "is required ..."}``); empty when it
  can be built. A classmethod: nothing is built or sent.
* ``from_settings(settings, client) -> provider``: an instance, sending through
  ``client`` (an :class:`httpx.Client` the caller owns and closes); raises
  :class:`ProviderConfigError` when ``validate`` finds problems.
* ``send(to, text) -> SendResult``: one message to one E.164 number. Never raises
  for a delivery problem: the result says whether it worked and, if not, whether
  trying again later can help (:attr:`SendResult.retryable`).

HTTP providers build their request with a pure ``build_request(...)`` function
(tests compare it exactly) and send it with :func:`send_http`, which classifies the
outcome as Alertmanager's notifiers do: 2xx is success; 5xx, a timeout or a
connection error are retryable; any other status is permanent. One deliberate
difference: 429 (Too Many Requests, what Twilio answers when rate limited) is
retryable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import httpx

# Short: the hook sends while Alertmanager waits for its answer.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
ERROR_MAX = 300


class ProviderConfigError(ValueError):
    """The provider's settings are incomplete or wrong (``problems`` by key)."""

    def __init__(self, provider: str, problems: Mapping[str, str]):
        self.provider = provider
        self.problems = dict(problems)
        detail = "; ".join(f"{k} {v}" for k, v in self.problems.items())
        super().__init__(f"SMS provider {provider!r} is not configured: {detail}")


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool = False
    error: str = ""  # never holds a full phone number
    status_code: int | None = None
    message_id: str | None = None  # the provider's id of the message, when it gives one

    @classmethod
    def success(cls, status_code: int | None = None, message_id: str | None = None) -> SendResult:
        return cls(True, False, "", status_code, message_id)

    @classmethod
    def failure(cls, error: str, retryable: bool, status_code: int | None = None) -> SendResult:
        return cls(False, retryable, scrub(error)[:ERROR_MAX], status_code)


class SmsProvider(Protocol):
    name: ClassVar[str]

    @classmethod
    def validate(cls, settings: Mapping[str, Any]) -> dict[str, str]: ...

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], client: httpx.Client) -> SmsProvider: ...

    def send(self, to: str, text: str) -> SendResult: ...


@dataclass(frozen=True)
class HttpRequest:
    """A request, exactly as it will be sent. ``headers`` may hold credentials and
    are left out of ``repr``."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    content: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def retryable_status(status: int) -> bool:
    return status >= 500 or status == 429


def classify(status: int) -> tuple[bool, bool]:
    """``(ok, retryable)`` for an HTTP status."""
    if 200 <= status < 300:
        return True, False
    return False, retryable_status(status)


def send_http(
    client: httpx.Client,
    request: HttpRequest,
    message_id: Any = None,
) -> SendResult:
    """Send ``request``; ``message_id(response)`` extracts the provider's id on
    success. Transport problems (timeouts, refused connections, DNS) are retryable."""
    try:
        response = client.request(
            request.method, request.url, headers=list(request.headers), content=request.content
        )
    except httpx.TimeoutException as exc:
        return SendResult.failure(f"timeout ({exc.__class__.__name__})", retryable=True)
    except httpx.HTTPError as exc:  # connection refused or reset, DNS, TLS, bad URL
        return SendResult.failure(f"{exc.__class__.__name__}: {exc}", retryable=True)
    ok, retryable = classify(response.status_code)
    if ok:
        mid = None
        if message_id is not None:
            try:
                mid = message_id(response)
            except Exception:
                mid = None
        return SendResult.success(response.status_code, mid)
    return SendResult.failure(
        f"HTTP {response.status_code}: {response_detail(response)}",
        retryable=retryable,
        status_code=response.status_code,
    )


def response_detail(response: httpx.Response) -> str:
    """The gist of an error response: a JSON ``message``/``error`` or the text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                code = data.get("code")
                return f"{value} (code {code})" if code is not None else value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
    text = " ".join(response.text.split())
    return text[:200] or response.reason_phrase


# --------------------------------------------------------------------------- numbers

_NUMBER_RE = re.compile(r"(?<![\w+])\+?\d{7,15}(?!\d)")


def mask_number(number: str) -> str:
    """``+447700900123`` -> ``+44*******123``: enough to tell numbers apart in logs,
    never the whole number."""
    digits = number.strip()
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 6) + digits[-3:]


def scrub(text: str) -> str:
    """``text`` with anything that looks like a phone number masked (provider error
    messages often quote the number)."""
    return _NUMBER_RE.sub(lambda m: mask_number(m.group(0)), text)


def setting(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    return str(value).strip() if value is not None else ""
