"""The settings that exist, their types, limits, defaults and environment variables,
and their validation (pure; shared by the page and the API).

Precedence of a value: the database (set on the settings page or the API), then the
``UPWATCH_*`` environment variable, then the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from admin_app.api import bool_value

SMS_PROVIDERS = ("console", "twilio", "http")
# The largest row id (a 32-bit SQL integer): larger numbers are no group's id.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class SettingField:
    key: str
    label: str
    kind: str  # text | int | float | bool | email | choice | url | phone | contact_group
    group: str
    default: Any = None
    secret: bool = False
    env: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


FIELDS: tuple[SettingField, ...] = (
    SettingField("smtp_host", "SMTP host", "text", "Email", env="UPWATCH_SMTP_HOST"),
    SettingField(
        "smtp_port",
        "SMTP port",
        "int",
        "Email",
        25,
        env="UPWATCH_SMTP_PORT",
        minimum=1,
        maximum=65535,
    ),
    SettingField("smtp_from", "Sender address", "email", "Email", env="UPWATCH_SMTP_FROM"),
    SettingField("smtp_username", "SMTP username", "text", "Email", env="UPWATCH_SMTP_USERNAME"),
    SettingField(
        "smtp_password", "SMTP password", "text", "Email", secret=True, env="UPWATCH_SMTP_PASSWORD"
    ),
    SettingField(
        "smtp_require_tls",
        "Require STARTTLS",
        "bool",
        "Email",
        False,
        env="UPWATCH_SMTP_REQUIRE_TLS",
    ),
    SettingField(
        "sms_provider",
        "SMS provider",
        "choice",
        "SMS",
        "console",
        env="UPWATCH_SMS_PROVIDER",
        choices=SMS_PROVIDERS,
    ),
    SettingField(
        "twilio_account_sid", "Twilio account SID", "text", "SMS", env="UPWATCH_TWILIO_ACCOUNT_SID"
    ),
    SettingField(
        "twilio_auth_token",
        "Twilio auth token",
        "text",
        "SMS",
        secret=True,
        env="UPWATCH_TWILIO_AUTH_TOKEN",
    ),
    SettingField(
        "twilio_from", "Twilio sender number (E.164)", "phone", "SMS", env="UPWATCH_TWILIO_FROM"
    ),
    SettingField(
        "twilio_base_url",
        "Twilio API base URL",
        "url",
        "SMS",
        env="UPWATCH_TWILIO_BASE_URL",
        help="empty: Twilio's own API (api.twilio.com); set it for a proxy or a test fake",
    ),
    SettingField(
        "sms_gateway_url", "HTTP gateway URL", "url", "SMS", env="UPWATCH_SMS_GATEWAY_URL"
    ),
    SettingField(
        "sms_gateway_method",
        "HTTP gateway method",
        "choice",
        "SMS",
        "POST",
        env="UPWATCH_SMS_GATEWAY_METHOD",
        choices=("POST", "PUT"),
    ),
    SettingField(
        "sms_gateway_body",
        "HTTP gateway JSON body",
        "text",
        "SMS",
        '{"to": "{to}", "text": "{text}"}',
        env="UPWATCH_SMS_GATEWAY_BODY",
        help="a JSON template: {to} becomes the number, {text} the message",
    ),
    SettingField(
        "sms_gateway_username",
        "HTTP gateway user name",
        "text",
        "SMS",
        env="UPWATCH_SMS_GATEWAY_USERNAME",
        help="with a token: HTTP basic auth (user name and token); without: a bearer token",
    ),
    SettingField(
        "sms_gateway_token",
        "HTTP gateway token",
        "text",
        "SMS",
        secret=True,
        env="UPWATCH_SMS_GATEWAY_TOKEN",
    ),
    SettingField(
        "default_interval_seconds",
        "Default probe interval (s)",
        "float",
        "Probes",
        30.0,
        minimum=5,
        maximum=86400,
    ),
    SettingField(
        "default_timeout_seconds",
        "Default probe timeout (s)",
        "float",
        "Probes",
        10.0,
        minimum=0.1,
        maximum=300,
    ),
    SettingField(
        "default_confirmations",
        "Default confirmations",
        "int",
        "Probes",
        2,
        minimum=1,
        maximum=100,
        help="consecutive failed probes before a site counts as down",
    ),
    SettingField(
        "operations_group",
        "Operations contact group",
        "contact_group",
        "Operations",
        help=(
            "who operates Upwatch itself: its members are emailed (and, those who want "
            "SMS, texted) when an exporter is down, so that its sites are not monitored, "
            "and emailed when an exporter rejects its site list"
        ),
    ),
)
BY_KEY: dict[str, SettingField] = {f.key: f for f in FIELDS}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(f.group for f in FIELDS))
PROVIDER_NEEDS = {
    "twilio": ("twilio_account_sid", "twilio_auth_token", "twilio_from"),
    "http": ("sms_gateway_url",),
    "console": (),
}


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_value(field: SettingField, value: Any) -> tuple[Any, str | None]:
    """``(typed value, None)`` or ``(None, message)``. ``None``/``""`` are handled by
    the caller (they clear a setting)."""
    kind = field.kind
    if kind == "bool":
        b = bool_value(value)
        return (b, None) if b is not None else (None, "must be true or false")
    if kind in ("int", "float"):
        if isinstance(value, bool):
            return None, "must be a number"
        try:
            number = float(value) if isinstance(value, str) else value
            if not isinstance(number, int | float) or math.isnan(number) or math.isinf(number):
                raise ValueError
        except ValueError:
            return None, "must be a number"
        if kind == "int":
            if not float(number).is_integer():
                return None, "must be a whole number"
            number = int(number)
        else:
            number = float(number)
        if field.minimum is not None and number < field.minimum:
            return None, f"must be at least {_number_text(field.minimum)}"
        if field.maximum is not None and number > field.maximum:
            return None, f"must be at most {_number_text(field.maximum)}"
        return number, None
    if kind == "contact_group":
        return parse_group_ref(value)
    if not isinstance(value, str):
        return None, "must be a string"
    text = value.strip()
    if len(text) > 1000:
        return None, "must be at most 1000 characters"
    if any(c in text for c in "\r\n\x00"):
        return None, "must be one line"
    if kind == "email":
        try:
            return validate_email(text, check_deliverability=False).normalized, None
        except EmailNotValidError as err:
            return None, f"is not a valid email address ({err})"
    if kind == "choice":
        if text not in field.choices:
            return None, f"must be one of: {', '.join(field.choices)}"
        return text, None
    if kind == "url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None, "must be an http:// or https:// URL"
        return text, None
    if kind == "phone":
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            return None, "must be a phone number in E.164 form, like +15551234567"
        if not phonenumbers.is_valid_number(number):
            return None, "is not a valid phone number (E.164, like +15551234567)"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
    return (value if field.secret else text), None


def parse_group_ref(value: Any) -> tuple[Any, str | None]:
    """A contact group by id (a whole number, or its digits as text) or by name (any
    other text): the id as an ``int``, or the name as a ``str``. Whether the group
    exists is checked against the database when saving
    (:func:`admin_app.settings.operations.resolve_group`)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None, "must be a contact group's id or name"
    if isinstance(value, int | float):
        if 1 <= value <= MAX_ID:
            return int(value), None
        return None, "must be a contact group's id or name"
    if not isinstance(value, str):
        return None, "must be a contact group's id or name"
    text = value.strip()
    if len(text) > 200 or any(c in text for c in "\r\n\x00"):
        return None, "must be a contact group's id or name"
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID:
        return int(text), None
    return text, None


def serialize(field: SettingField, value: Any) -> str:
    if field.kind == "bool":
        return "true" if value else "false"
    if field.kind in ("int", "float"):
        return _number_text(value) if field.kind == "float" else str(int(value))
    return str(value)


def deserialize(field: SettingField, text: str) -> Any:
    value, problem = parse_value(field, text)
    return field.default if problem else value


def validate_changes(
    data: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(changes, errors)``. A value of ``None`` or ``""`` clears the stored value
    (back to the environment or the default). ``current`` are the effective values,
    used for checks across fields (timeout within interval, provider credentials)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, raw in data.items():
        field = BY_KEY.get(key)
        if field is None:
            errors[key] = "unknown setting"
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            changes[key] = None
            continue
        value, problem = parse_value(field, raw)
        if problem:
            errors[key] = problem
        else:
            changes[key] = value
    if errors:
        return changes, errors

    merged = dict(current)
    for key, value in changes.items():
        merged[key] = value if value is not None else BY_KEY[key].default
    interval, timeout = (
        merged.get("default_interval_seconds"),
        merged.get("default_timeout_seconds"),
    )
    if interval is not None and timeout is not None and timeout > interval:
        errors["default_timeout_seconds"] = (
            f"must not be longer than the default interval ({_number_text(interval)} s)"
        )
    provider = merged.get("sms_provider") or "console"
    for needed in PROVIDER_NEEDS.get(provider, ()):
        if not merged.get(needed):
            errors[needed] = f"is required when the SMS provider is {provider}"
    return changes, errors
