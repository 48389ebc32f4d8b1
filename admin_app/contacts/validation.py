"""Validation of contacts and contact groups, in one place for the pages and the
JSON API, so that each gives the same message for the same mistake. Pure: no
database (references to other rows are checked by the services).

Email addresses are checked with email-validator (syntax only: no DNS lookups) and
stored normalized; phone numbers are parsed with phonenumbers from the usual ways
of writing them (``+44 20 7946 0958``, ``0044 20 7946 0958``, ``+1 (415) 555-2671``,
or national form when a default region is configured) and stored in E.164.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from admin_app.api import bool_value
from admin_app.models import NAME_MAX

CONTACT_FIELDS = frozenset({"name", "email", "phone", "wants_email", "wants_sms"})
CONTACT_READ_ONLY = frozenset({"id", "groups", "sites", "created_at", "updated_at"})
GROUP_FIELDS = frozenset({"name", "description", "members"})
GROUP_READ_ONLY = frozenset({"id", "sites", "created_at", "updated_at"})
EMAIL_MAX = 320
DESCRIPTION_MAX = 2000
PHONE_EXAMPLE = "+44 20 7946 0958"
INT_MAX = 2**31 - 1  # the largest id (and integer) an INTEGER column holds


def _unknown(data: Mapping[str, Any], allowed: frozenset[str], read_only: frozenset[str]) -> dict:
    return {
        str(key): f"unknown field (allowed: {', '.join(sorted(allowed))})"
        for key in data
        if key not in allowed and key not in read_only
    }


def name_problem(value: Any, what: str = "a name") -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{what} is required"
    if not isinstance(value, str):
        return "must be a string"
    if "\n" in value or "\r" in value:
        return "must not contain a line break"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    if len(value.strip()) > NAME_MAX:
        return f"must be at most {NAME_MAX} characters"
    return None


def normalize_email(value: Any) -> tuple[str | None, str | None]:
    """``(address, problem)``: the normalized address (None when empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if not isinstance(value, str):
        return None, "must be a string such as ops@example.com"
    text = value.strip()
    if len(text) > EMAIL_MAX:
        return None, f"must be at most {EMAIL_MAX} characters"
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"{text!r} is not a valid email address: {exc}"
    return info.normalized, None


def normalize_phone(value: Any, region: str | None = None) -> tuple[str | None, str | None]:
    """``(e164, problem)``: the number in E.164 (None when empty).

    Without a default ``region`` the number must carry its country code (``+`` or
    ``00``); with one (e.g. ``"GB"``), national numbers are read as that country's.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if not isinstance(value, str):
        return None, f"must be a string such as {PHONE_EXAMPLE!r}"
    text = value.strip()
    compact = text.replace(" ", "")
    if compact.startswith("00") and region is None:
        text = "+" + compact[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            return None, (
                f"{value.strip()!r} has no country code: write it in international form, "
                f"such as {PHONE_EXAMPLE!r}"
            )
        return None, f"{value.strip()!r} is not a phone number (use e.g. {PHONE_EXAMPLE!r})"
    if not phonenumbers.is_valid_number(number):
        return None, (
            f"{value.strip()!r} is not a valid phone number for its country "
            f"(use e.g. {PHONE_EXAMPLE!r})"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def validate_contact(
    data: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
    region: str | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(clean, errors)`` for a contact.

    ``current`` (the stored values) makes this an update: only the given fields
    change, and the rules across fields are checked on the result. When creating,
    a ``wants_*`` flag that is not given defaults to whether that address is given.
    The read-only fields of the JSON form (id, groups, sites, timestamps) are ignored.
    """
    errors = _unknown(data, CONTACT_FIELDS, CONTACT_READ_ONLY)
    clean: dict[str, Any] = dict(current or {})

    if "name" in data or current is None:
        problem = name_problem(data.get("name"))
        if problem:
            errors["name"] = problem
        else:
            clean["name"] = data["name"].strip()
    if "email" in data or current is None:
        email, problem = normalize_email(data.get("email"))
        if problem:
            errors["email"] = problem
        clean["email"] = email
    if "phone" in data or current is None:
        phone, problem = normalize_phone(data.get("phone"), region)
        if problem:
            errors["phone"] = problem
        clean["phone"] = phone
    for flag, address in (("wants_email", "email"), ("wants_sms", "phone")):
        if flag in data:
            value = bool_value(data[flag])
            if value is None:
                errors[flag] = "must be true or false"
            else:
                clean[flag] = value
        elif current is None:
            clean[flag] = clean.get(address) is not None or address in errors
    if errors:
        return clean, errors

    wants_email, wants_sms = clean["wants_email"], clean["wants_sms"]
    if not wants_email and not wants_sms:
        if not clean.get("email") and not clean.get("phone"):
            errors["email"] = "a contact needs an email address or a phone number (or both)"
        else:
            errors["wants_email"] = (
                "choose at least one channel: email (wants_email), SMS (wants_sms) or both"
            )
    if wants_email and not clean.get("email"):
        errors["email"] = "is required to send this contact email (wants_email is on)"
    if wants_sms and not clean.get("phone"):
        errors["phone"] = "is required to send this contact SMS (wants_sms is on)"
    return clean, errors


def id_list(value: Any, what: str) -> tuple[list[int], str | None]:
    """A list of ids, given as integers or as objects with an ``id`` (what GET
    returns), without repeats. ``(ids, problem)``."""
    if value is None:
        return [], None
    if not isinstance(value, list):
        return [], f"must be a list of {what} ids"
    ids: list[int] = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= INT_MAX:
            return [], f"must be a list of {what} ids ({item!r} is not one)"
        if item not in ids:
            ids.append(item)
    return ids, None


def validate_group(
    data: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(clean, errors)`` for a contact group; ``clean["members"]`` holds contact
    ids (when given). ``current`` makes this an update of the given fields only."""
    errors = _unknown(data, GROUP_FIELDS, GROUP_READ_ONLY)
    clean: dict[str, Any] = {}
    if "name" in data or current is None:
        problem = name_problem(data.get("name"))
        if problem:
            errors["name"] = problem
        else:
            clean["name"] = data["name"].strip()
    if "description" in data:
        description = data["description"]
        if description is None:
            clean["description"] = ""
        elif not isinstance(description, str):
            errors["description"] = "must be a string"
        elif len(description.strip()) > DESCRIPTION_MAX:
            errors["description"] = f"must be at most {DESCRIPTION_MAX} characters"
        else:
            clean["description"] = description.strip()
    elif current is None:
        clean["description"] = ""
    if "members" in data:
        ids, problem = id_list(data["members"], "contact")
        if problem:
            errors["members"] = problem
        else:
            clean["members"] = ids
    return clean, errors
