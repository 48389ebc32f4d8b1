"""A generic HTTP SMS gateway: one JSON request per message.

Settings:

* ``sms_gateway_url`` (required) and ``sms_gateway_method`` (``POST`` or ``PUT``);
* ``sms_gateway_body``: a JSON template; in every string of it (keys and values)
  ``{to}`` becomes the E.164 number and ``{text}`` the message. The substitution
  happens on the parsed JSON, so a quote or a backslash in the text cannot break
  the body. Default: ``{"to": "{to}", "text": "{text}"}``;
* ``sms_gateway_token`` (secret, optional): sent as ``Authorization: Bearer
  <token>``, or with ``sms_gateway_username`` set, as HTTP basic auth
  ``username:token``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from admin_app.notify.sms.base import (
    HttpRequest,
    ProviderConfigError,
    SendResult,
    send_http,
    setting,
)
from admin_app.notify.sms.twilio import basic_auth

DEFAULT_BODY = '{"to": "{to}", "text": "{text}"}'
METHODS = ("POST", "PUT")


@dataclass(frozen=True)
class GatewayConfig:
    url: str
    method: str = "POST"
    body_template: str = DEFAULT_BODY
    token: str = field(default="", repr=False)
    username: str = ""


def parse_template(template: str) -> Any:
    """The template as JSON; ValueError with a reason when it cannot be used."""
    try:
        data = json.loads(template)
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict | list):
        raise ValueError("must be a JSON object or list")
    text = json.dumps(data)
    if "{text}" not in text:
        raise ValueError("must contain {text} (the message)")
    if "{to}" not in text:
        raise ValueError("must contain {to} (the number)")
    return data


def fill(template: Any, to: str, text: str) -> Any:
    """``template`` (parsed JSON) with ``{to}`` and ``{text}`` replaced in every string."""
    if isinstance(template, str):
        return template.replace("{to}", to).replace("{text}", text)
    if isinstance(template, list):
        return [fill(item, to, text) for item in template]
    if isinstance(template, dict):
        return {fill(k, to, text): fill(v, to, text) for k, v in template.items()}
    return template


def build_request(config: GatewayConfig, to: str, text: str) -> HttpRequest:
    """The request that sends ``text`` to ``to`` (pure)."""
    body = fill(parse_template(config.body_template), to, text)
    headers: list[tuple[str, str]] = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ]
    if config.token:
        auth = (
            basic_auth(config.username, config.token)
            if config.username
            else f"Bearer {config.token}"
        )
        headers.insert(0, ("Authorization", auth))
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpRequest(config.method, config.url, tuple(headers), content)


class HttpGatewayProvider:
    name: ClassVar[str] = "http"

    def __init__(self, config: GatewayConfig, client: httpx.Client):
        self.config = config
        self.client = client

    @classmethod
    def validate(cls, settings: Mapping[str, Any]) -> dict[str, str]:
        problems = {}
        url = setting(settings, "sms_gateway_url")
        if not url:
            problems["sms_gateway_url"] = "is required when the SMS provider is http"
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems["sms_gateway_url"] = "must be an http:// or https:// URL"
        method = (setting(settings, "sms_gateway_method") or "POST").upper()
        if method not in METHODS:
            problems["sms_gateway_method"] = f"must be one of: {', '.join(METHODS)}"
        try:
            parse_template(setting(settings, "sms_gateway_body") or DEFAULT_BODY)
        except ValueError as exc:
            problems["sms_gateway_body"] = str(exc)
        if setting(settings, "sms_gateway_username") and not setting(settings, "sms_gateway_token"):
            problems["sms_gateway_token"] = "is required with a gateway username (basic auth)"
        return problems

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], client: httpx.Client
    ) -> HttpGatewayProvider:
        problems = cls.validate(settings)
        if problems:
            raise ProviderConfigError(cls.name, problems)
        config = GatewayConfig(
            url=setting(settings, "sms_gateway_url"),
            method=(setting(settings, "sms_gateway_method") or "POST").upper(),
            body_template=setting(settings, "sms_gateway_body") or DEFAULT_BODY,
            token=setting(settings, "sms_gateway_token"),
            username=setting(settings, "sms_gateway_username"),
        )
        return cls(config, client)

    def send(self, to: str, text: str) -> SendResult:
        return send_http(self.client, build_request(self.config, to, text))
