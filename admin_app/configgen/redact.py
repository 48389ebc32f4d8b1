"""Secrets taken out of the generated files before people see them (pure).

The config page and the download show the files as written, except the SMTP
password, the webhook's bearer token and probe headers that carry credentials,
which read ``<secret>`` (as Alertmanager's own ``/api/v2/status`` does).
"""

from __future__ import annotations

import re
from typing import Any

SECRET = "<secret>"

# Keys of alertmanager.yml whose values are secrets (Alertmanager's Secret fields).
SECRET_KEYS = frozenset(
    {
        "smtp_auth_password",
        "smtp_auth_secret",
        "auth_password",
        "auth_secret",
        "password",
        "credentials",
        "bearer_token",
        "api_key",
        "api_secret",
        "token",
        "routing_key",
        "service_key",
        "slack_api_url",
        "opsgenie_api_key",
        "victorops_api_key",
        "wechat_api_secret",
        "telegram_bot_token",
        "webex_bot_token",
    }
)
SENSITIVE_HEADER = re.compile(r"auth|token|secret|key|cookie|password|session|signature", re.I)


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (SECRET if k in SECRET_KEYS and value[k] not in (None, "") else _walk(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v) for v in value]
    return value


def redact_alertmanager(config: dict[str, Any]) -> dict[str, Any]:
    return _walk(config)


def redact_sites(site_list: dict[str, Any]) -> dict[str, Any]:
    out = dict(site_list)
    sites = []
    for site in site_list.get("sites") or []:
        if isinstance(site, dict) and isinstance(site.get("headers"), dict):
            headers = {
                k: (SECRET if SENSITIVE_HEADER.search(str(k)) else v)
                for k, v in site["headers"].items()
            }
            site = {**site, "headers": headers}
        sites.append(site)
    if "sites" in site_list:
        out["sites"] = sites
    return out
