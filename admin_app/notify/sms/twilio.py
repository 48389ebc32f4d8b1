"""Twilio's Programmable Messaging REST API.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with the form
fields ``To``, ``From`` and ``Body``, HTTP basic auth ``AccountSid:AuthToken``;
Twilio answers 201 with the message resource (its ``sid``), or an error object
``{"code", "message", "status"}``.

Settings: ``twilio_account_sid``, ``twilio_auth_token`` (secret), ``twilio_from``
(E.164) and ``twilio_base_url`` (default ``https://api.twilio.com``; tests point it
at a fake).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

import httpx

from admin_app.notify.sms.base import (
    HttpRequest,
    ProviderConfigError,
    SendResult,
    send_http,
    setting,
)

DEFAULT_BASE_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    base_url: str = DEFAULT_BASE_URL


def basic_auth(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def messages_url(config: TwilioConfig) -> str:
    base = config.base_url.rstrip("/")
    return f"{base}/{API_VERSION}/Accounts/{quote(config.account_sid, safe='')}/Messages.json"


def build_request(config: TwilioConfig, to: str, text: str) -> HttpRequest:
    """The request that sends ``text`` to ``to`` (pure)."""
    body = urlencode([("To", to), ("From", config.from_number), ("Body", text)])
    return HttpRequest(
        method="POST",
        url=messages_url(config),
        headers=(
            ("Authorization", basic_auth(config.account_sid, config.auth_token)),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ),
        content=body.encode("utf-8"),
    )


def _message_sid(response: httpx.Response) -> str | None:
    sid = response.json().get("sid")
    return sid if isinstance(sid, str) else None


class TwilioProvider:
    name: ClassVar[str] = "twilio"

    def __init__(self, config: TwilioConfig, client: httpx.Client):
        self.config = config
        self.client = client

    @classmethod
    def validate(cls, settings: Mapping[str, Any]) -> dict[str, str]:
        problems = {}
        for key in ("twilio_account_sid", "twilio_auth_token", "twilio_from"):
            if not setting(settings, key):
                problems[key] = "is required when the SMS provider is twilio"
        base = setting(settings, "twilio_base_url")
        if base:
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems["twilio_base_url"] = "must be an http:// or https:// URL"
        return problems

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], client: httpx.Client) -> TwilioProvider:
        problems = cls.validate(settings)
        if problems:
            raise ProviderConfigError(cls.name, problems)
        config = TwilioConfig(
            account_sid=setting(settings, "twilio_account_sid"),
            auth_token=setting(settings, "twilio_auth_token"),
            from_number=setting(settings, "twilio_from"),
            base_url=setting(settings, "twilio_base_url") or DEFAULT_BASE_URL,
        )
        return cls(config, client)

    def send(self, to: str, text: str) -> SendResult:
        return send_http(self.client, build_request(self.config, to, text), _message_sid)
