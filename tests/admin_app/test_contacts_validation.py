"""Contact and group validation (no database): emails with email-validator, phone
numbers in the usual formats stored as E.164, channels and their addresses."""

from __future__ import annotations

import pytest

from admin_app.contacts.validation import (
    id_list,
    normalize_email,
    normalize_phone,
    validate_contact,
    validate_group,
)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("+1.415.555.2671", None, "+14155552671"),
        ("tel:+1-415-555-2671", None, "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+254 712 345678", None, "+254712345678"),
        ("", None, None),
        (None, None, None),
    ],
)
def test_phone_formats_are_stored_as_e164(typed, region, e164) -> None:
    assert normalize_phone(typed, region) == (e164, None)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("020 7946 0958", "has no country code: write it in international form"),
        ("call me", "is not a phone number"),
        ("+44 12", "is not a valid phone number"),
        ("+1 555 0000 00000 000", "is not a valid phone number"),
        (4155552671, "must be a string"),
    ],
)
def test_bad_phone_numbers(typed, message) -> None:
    number, problem = normalize_phone(typed)
    assert number is None and message in problem


def test_emails() -> None:
    assert normalize_email(" Ops@Example.COM ") == ("Ops@example.com", None)
    assert normalize_email("josé@exämple.org")[0] == "josé@exämple.org"
    for bad in ("ops", "ops@", "@example.com", "a b@example.com", "ops@@example.com"):
        address, problem = normalize_email(bad)
        assert address is None and "is not a valid email address" in problem, bad
    assert "must be a string" in normalize_email(5)[1]
    assert "at most 320" in normalize_email("a" * 300 + "@" + "b" * 30 + ".com")[1]


def test_channels_need_their_address() -> None:
    clean, errors = validate_contact({"name": "Ada", "email": "a@example.com"})
    assert errors == {} and clean["wants_email"] and not clean["wants_sms"]
    clean, errors = validate_contact({"name": "Ada", "phone": "+14155552671"})
    assert errors == {} and clean["wants_sms"] and not clean["wants_email"]
    _, errors = validate_contact({"name": "Ada"})
    assert errors == {"email": "a contact needs an email address or a phone number (or both)"}
    _, errors = validate_contact({"name": "Ada", "email": "a@example.com", "wants_email": False})
    assert "choose at least one channel" in errors["wants_email"]
    _, errors = validate_contact({"name": "Ada", "email": "a@example.com", "wants_sms": True})
    assert errors == {"phone": "is required to send this contact SMS (wants_sms is on)"}
    _, errors = validate_contact({"name": "Ada", "phone": "+14155552671", "wants_email": True})
    assert errors == {"email": "is required to send this contact email (wants_email is on)"}
    _, errors = validate_contact({"name": "Ada", "email": "a@example.com", "wants_sms": "often"})
    assert errors == {"wants_sms": "must be true or false"}


def test_update_checks_the_result() -> None:
    current = {
        "name": "Ada",
        "email": "a@example.com",
        "phone": None,
        "wants_email": True,
        "wants_sms": False,
    }
    clean, errors = validate_contact({"phone": "+14155552671", "wants_sms": True}, current)
    assert errors == {} and clean["phone"] == "+14155552671" and clean["email"] == "a@example.com"
    _, errors = validate_contact({"email": None}, current)
    assert errors == {"email": "is required to send this contact email (wants_email is on)"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a name is required"),
        ("   ", "a name is required"),
        (None, "a name is required"),
        (7, "must be a string"),
        ("a\nb", "must not contain a line break"),
        ("a\tb", "must not contain control characters"),
        ("x" * 201, "at most 200"),
    ],
)
def test_names(name, message) -> None:
    _, errors = validate_contact({"name": name, "email": "a@example.com"})
    assert message in errors["name"]
    _, errors = validate_group({"name": name})
    assert message in errors["name"]


def test_unknown_and_read_only_fields() -> None:
    _, errors = validate_contact(
        {"name": "Ada", "email": "a@example.com", "id": 3, "groups": [], "pager": "x"}
    )
    assert list(errors) == ["pager"] and "unknown field" in errors["pager"]


def test_groups() -> None:
    clean, errors = validate_group({"name": ' Ops: "night" ', "members": [1, {"id": 2}, "3", 1]})
    assert errors == {}
    assert clean == {"name": 'Ops: "night"', "description": "", "members": [1, 2, 3]}
    _, errors = validate_group({"name": "Ops", "members": "all"})
    assert "must be a list of contact ids" in errors["members"]
    _, errors = validate_group({"name": "Ops", "description": "x" * 2001})
    assert "at most 2000" in errors["description"]
    assert id_list([1.5], "contact")[1] == "must be a list of contact ids (1.5 is not one)"
