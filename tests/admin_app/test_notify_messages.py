"""The SMS texts (exact, at most 160 characters however long the names) and the plan
of who gets what, with its dedup keys (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin_app.notify.messages import (
    SMS_MAX,
    clean,
    down_text,
    format_duration,
    shorten,
    up_text,
)
from admin_app.notify.plan import EMAIL, SMS, Recipient, dedup_key, plan_deliveries

SINCE = datetime(2024, 5, 2, 10, 0, 0, 500000, tzinfo=UTC)


def test_down_text() -> None:
    assert (
        down_text("Web shop", "https://shop.example.com/health", SINCE, "timeout")
        == "[Upwatch] DOWN: Web shop (https://shop.example.com/health) since "
        "2024-05-02 10:00:00 UTC: timeout"
    )


def test_down_text_without_url_or_reason() -> None:
    assert down_text("Web shop", "", SINCE, "") == (
        "[Upwatch] DOWN: Web shop since 2024-05-02 10:00:00 UTC"
    )


def test_down_text_in_another_time_zone_is_shown_in_utc() -> None:
    from datetime import timezone

    local = SINCE.astimezone(timezone(timedelta(hours=2)))
    assert "since 2024-05-02 10:00:00 UTC" in down_text("x", "", local)


def test_up_text() -> None:
    assert up_text("Web shop", 252) == "[Upwatch] UP: Web shop is back after 4m 12s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.4, "0s"),
        (45, "45s"),
        (60, "1m 0s"),
        (252, "4m 12s"),
        (3605, "1h 0m 5s"),
        (2 * 86400 + 3 * 3600, "2d 3h 0m 0s"),
        (-3, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_long_names_are_shortened_first() -> None:
    name = "The Very Long Name Of The Online Banking Platform Of A Regional Bank " * 3
    url = "https://ebanking.example.com/health"
    text = down_text(name, url, SINCE, "connect")
    assert len(text) <= SMS_MAX
    assert text.startswith("[Upwatch] DOWN: The Very Long Name")
    assert (
        "... (https://ebanking.example.com/health) since 2024-05-02 10:00:00 UTC: connect" in text
    )

    up = up_text(name, 252)
    assert len(up) <= SMS_MAX and up.endswith("... is back after 4m 12s")


def test_long_urls_are_shortened_after_the_name() -> None:
    url = "https://shop.example.com/" + "a" * 200
    text = down_text("Web shop with a name of some length", url, SINCE, "status")
    assert len(text) <= SMS_MAX
    assert "Web shop with a name" in text and "(https://shop.example.com/aaa" in text
    assert text.endswith("...) since 2024-05-02 10:00:00 UTC: status")


def test_everything_long_still_fits() -> None:
    text = down_text("n" * 300, "https://" + "u" * 300, SINCE, "r" * 300)
    assert len(text) == SMS_MAX and text.endswith("...")


def test_names_are_one_line() -> None:
    assert down_text("Web\nshop\x00", "", SINCE).startswith("[Upwatch] DOWN: Web shop since")
    assert clean("  a \t b\r\n") == "a b"


def test_shorten() -> None:
    assert shorten("abcdef", 6) == "abcdef"
    assert shorten("abcdefg", 6) == "abc..."
    assert shorten("abcdefg", 2) == "ab"


# --------------------------------------------------------------------------- plan

ALICE = Recipient(1, "Alice", "alice@example.com", "+447700900123", True, True)
BOB = Recipient(2, "Bob", "bob@example.com", None, True, False)
CAROL = Recipient(3, "Carol", None, "+14155552671", False, True)
DAN = Recipient(4, "Dan", "dan@example.com", "+14155552672", False, False)
EVE = Recipient(5, "Eve", None, None, False, True)  # wants SMS, has no number


def _plan(**kw: object) -> list:
    args: dict = {
        "site": "shop",
        "fingerprint": "c6a2f5e1d0b9a874",
        "started_at": SINCE,
        "event": "down",
        "recipients": [ALICE, BOB, CAROL, DAN, EVE],
        "sms_text": "[Upwatch] DOWN: ...",
        "pages": True,
        "email_routed": False,
    }
    args.update(kw)
    return plan_deliveries(**args)


def test_sms_to_those_who_want_it_and_have_a_number() -> None:
    plan = _plan()
    assert [(d.contact_name, d.channel, d.to) for d in plan] == [
        ("Alice", SMS, "+447700900123"),
        ("Carol", SMS, "+14155552671"),
    ]
    assert all(d.text == "[Upwatch] DOWN: ..." and d.event == "down" for d in plan)


def test_email_routes_are_recorded_when_smtp_is_configured() -> None:
    plan = _plan(email_routed=True)
    assert [(d.contact_name, d.channel) for d in plan] == [
        ("Alice", SMS),
        ("Alice", EMAIL),
        ("Bob", EMAIL),
        ("Carol", SMS),
    ]
    assert [d.text for d in plan if d.channel == EMAIL] == ["", ""]


def test_nothing_when_the_event_does_not_page() -> None:
    assert _plan(pages=False, email_routed=True) == []


def test_a_contact_listed_twice_gets_one_message() -> None:
    assert len(_plan(recipients=[ALICE, ALICE])) == 1


def test_dedup_keys_tell_every_part_apart() -> None:
    base = dedup_key("shop", "fp", SINCE, "down", 1, "sms")
    assert len(base) == 64 and base == dedup_key("shop", "fp", SINCE, "down", 1, "sms")
    others = {
        dedup_key("blog", "fp", SINCE, "down", 1, "sms"),
        dedup_key("shop", "fp2", SINCE, "down", 1, "sms"),
        dedup_key("shop", "fp", SINCE + timedelta(milliseconds=1), "down", 1, "sms"),
        dedup_key("shop", "fp", SINCE, "up", 1, "sms"),
        dedup_key("shop", "fp", SINCE, "down", 2, "sms"),
        dedup_key("shop", "fp", SINCE, "down", 1, "email"),
    }
    assert base not in others and len(others) == 6
    # the same instant in another zone is the same key
    from datetime import timezone

    assert base == dedup_key(
        "shop", "fp", SINCE.astimezone(timezone(timedelta(hours=-5))), "down", 1, "sms"
    )
    keys = [d.dedup_key for d in _plan(email_routed=True)]
    assert len(set(keys)) == len(keys)
