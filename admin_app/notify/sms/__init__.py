"""The SMS provider seam: one module per provider, named in :data:`PROVIDERS`
(the ``sms_provider`` setting, ``UPWATCH_SMS_PROVIDER``). The interface is in
:mod:`admin_app.notify.sms.base`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from admin_app.notify.sms.base import (
    DEFAULT_TIMEOUT,
    ProviderConfigError,
    SendResult,
    SmsProvider,
    mask_number,
)
from admin_app.notify.sms.console import ConsoleProvider
from admin_app.notify.sms.http import HttpGatewayProvider
from admin_app.notify.sms.twilio import TwilioProvider

PROVIDERS: dict[str, type[SmsProvider]] = {
    ConsoleProvider.name: ConsoleProvider,
    TwilioProvider.name: TwilioProvider,
    HttpGatewayProvider.name: HttpGatewayProvider,
}
DEFAULT_PROVIDER = ConsoleProvider.name


def provider_name(settings: Mapping[str, Any]) -> str:
    return str(settings.get("sms_provider") or DEFAULT_PROVIDER).strip()


def validate_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    """Problems with the SMS settings, keyed by setting (empty: ready to send)."""
    name = provider_name(settings)
    provider = PROVIDERS.get(name)
    if provider is None:
        return {"sms_provider": f"must be one of: {', '.join(PROVIDERS)}"}
    return provider.validate(settings)


def provider_from_settings(settings: Mapping[str, Any], client: httpx.Client) -> SmsProvider:
    """The configured provider; :class:`ProviderConfigError` when it cannot be built."""
    name = provider_name(settings)
    provider = PROVIDERS.get(name)
    if provider is None:
        raise ProviderConfigError(name, {"sms_provider": f"must be one of: {', '.join(PROVIDERS)}"})
    return provider.from_settings(settings, client)


def new_client() -> httpx.Client:
    """An HTTP client with the short timeouts of a send made while Alertmanager waits."""
    return httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)


__all__ = [
    "DEFAULT_PROVIDER",
    "PROVIDERS",
    "ProviderConfigError",
    "SendResult",
    "SmsProvider",
    "mask_number",
    "new_client",
    "provider_from_settings",
    "provider_name",
    "validate_settings",
]
