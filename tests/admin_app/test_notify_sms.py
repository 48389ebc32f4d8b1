"""The SMS provider seam: the requests each provider builds (exactly), how the
outcome of a send is classified (2xx ok; 5xx, 429, timeouts and connection errors
retryable; other 4xx permanent) against a real fake server, settings validation,
and logs that never show a whole phone number."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from admin_app.notify import sms
from admin_app.notify.sms import base, console, twilio
from admin_app.notify.sms import http as gateway
from admin_app.settings.schema import SMS_PROVIDERS
from exporter.logs import KeyValueFormatter
from tests.admin_app.fake_sms import FakeSmsServer
from tests.servers import free_port

TO = "+447700900123"
TEXT = '[Upwatch] DOWN: Web "shop" & co (https://shop.example.com/?a=1&b=2) since now: tls'

TWILIO = twilio.TwilioConfig(
    account_sid="AC0123456789abcdef0123456789abcdef",
    auth_token="tw-secret-token",
    from_number="+15005550006",
    base_url="https://api.twilio.example",
)


@pytest.fixture
def fake() -> Iterator[FakeSmsServer]:
    with FakeSmsServer() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with sms.new_client() as c:
        yield c


@pytest.fixture
def admin_logs() -> Iterator[list[str]]:
    """The admin app's log lines, formatted as in production."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger("upwatch.admin")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


# --------------------------------------------------------------------------- registry


def test_the_registry_names_every_provider_of_the_settings_page() -> None:
    assert set(sms.PROVIDERS) == set(SMS_PROVIDERS)
    for name, provider in sms.PROVIDERS.items():
        assert provider.name == name


def test_provider_from_settings_picks_the_configured_one(client: httpx.Client) -> None:
    assert isinstance(sms.provider_from_settings({}, client), console.ConsoleProvider)
    built = sms.provider_from_settings(
        {
            "sms_provider": "twilio",
            "twilio_account_sid": "AC1",
            "twilio_auth_token": "t",
            "twilio_from": "+15005550006",
        },
        client,
    )
    assert isinstance(built, twilio.TwilioProvider)
    assert built.config.base_url == twilio.DEFAULT_BASE_URL
    assert "auth_token" not in repr(built.config)


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        ({"sms_provider": "console"}, {}),
        ({"sms_provider": "pigeon"}, {"sms_provider": "must be one of: console, twilio, http"}),
        (
            {"sms_provider": "twilio", "twilio_account_sid": "AC1"},
            {
                "twilio_auth_token": "is required when the SMS provider is twilio",
                "twilio_from": "is required when the SMS provider is twilio",
            },
        ),
        (
            {
                "sms_provider": "twilio",
                "twilio_account_sid": "AC1",
                "twilio_auth_token": "x",
                "twilio_from": "+15005550006",
                "twilio_base_url": "ftp://twilio",
            },
            {"twilio_base_url": "must be an http:// or https:// URL"},
        ),
        (
            {"sms_provider": "http"},
            {"sms_gateway_url": "is required when the SMS provider is http"},
        ),
        (
            {
                "sms_provider": "http",
                "sms_gateway_url": "https://sms.example.com/send",
                "sms_gateway_method": "DELETE",
                "sms_gateway_body": '{"to": "{to}"}',
                "sms_gateway_username": "upwatch",
            },
            {
                "sms_gateway_method": "must be one of: POST, PUT",
                "sms_gateway_body": "must contain {text} (the message)",
                "sms_gateway_token": "is required with a gateway username (basic auth)",
            },
        ),
        (
            {"sms_provider": "http", "sms_gateway_url": "x", "sms_gateway_body": "{"},
            {
                "sms_gateway_url": "must be an http:// or https:// URL",
                "sms_gateway_body": "is not valid JSON (Expecting property name enclosed in "
                "double quotes: line 1 column 2 (char 1))",
            },
        ),
    ],
)
def test_validate_names_the_settings(settings: dict, problems: dict) -> None:
    assert sms.validate_settings(settings) == problems


def test_an_incomplete_provider_cannot_be_built(client: httpx.Client) -> None:
    with pytest.raises(sms.ProviderConfigError) as info:
        sms.provider_from_settings({"sms_provider": "twilio"}, client)
    assert info.value.provider == "twilio"
    assert "twilio_account_sid is required" in str(info.value)


# --------------------------------------------------------------------------- twilio


def test_twilio_request_is_exactly_the_rest_api_call() -> None:
    request = twilio.build_request(TWILIO, TO, TEXT)
    assert request.method == "POST"
    assert request.url == (
        "https://api.twilio.example/2010-04-01/Accounts/"
        "AC0123456789abcdef0123456789abcdef/Messages.json"
    )
    credentials = base64.b64encode(b"AC0123456789abcdef0123456789abcdef:tw-secret-token").decode()
    assert request.headers == (
        ("Authorization", f"Basic {credentials}"),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
    )
    assert request.content == (
        b"To=%2B447700900123&From=%2B15005550006&Body=%5BUpwatch%5D+DOWN%3A+Web+%22shop%22"
        b"+%26+co+%28https%3A%2F%2Fshop.example.com%2F%3Fa%3D1%26b%3D2%29+since+now%3A+tls"
    )
    # credentials never show in a repr (logs, tracebacks)
    assert "tw-secret-token" not in repr(request) and credentials not in repr(request)
    assert "tw-secret-token" not in repr(TWILIO)


def test_twilio_base_url_may_end_in_a_slash() -> None:
    config = twilio.TwilioConfig("AC1", "t", "+15005550006", "http://127.0.0.1:1234/")
    assert (
        twilio.messages_url(config) == "http://127.0.0.1:1234/2010-04-01/Accounts/AC1/Messages.json"
    )


def _twilio(fake: FakeSmsServer, client: httpx.Client) -> twilio.TwilioProvider:
    return twilio.TwilioProvider(
        twilio.TwilioConfig("AC1", "tok", "+15005550006", fake.url), client
    )


def test_twilio_send_to_the_fake(fake: FakeSmsServer, client: httpx.Client) -> None:
    result = _twilio(fake, client).send(TO, TEXT)
    assert result.ok and result.status_code == 201
    assert result.message_id and result.message_id.startswith("SM")
    (req,) = fake.requests
    assert req.method == "POST" and req.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert req.form == {"To": TO, "From": "+15005550006", "Body": TEXT}
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"AC1:tok").decode()
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (429, True), (400, False), (401, False), (404, False)],
)
def test_twilio_errors_are_classified(
    fake: FakeSmsServer, client: httpx.Client, status: int, retryable: bool
) -> None:
    fake.fail(status)
    result = _twilio(fake, client).send(TO, TEXT)
    assert not result.ok and result.retryable is retryable and result.status_code == status
    assert result.error.startswith(f"HTTP {status}: ")
    # Twilio's message quotes the number: it is masked
    assert TO not in result.error
    if status == 400:
        assert "The 'To' number +44*******123 is not a valid phone number. (code 21211)" in (
            result.error
        )


def test_a_timeout_is_retryable(fake: FakeSmsServer) -> None:
    fake.delay = 1.0
    with httpx.Client(timeout=0.2) as short:
        result = _twilio(fake, short).send(TO, TEXT)
    assert not result.ok and result.retryable and result.error.startswith("timeout")


def test_a_refused_connection_is_retryable(client: httpx.Client) -> None:
    config = twilio.TwilioConfig("AC1", "tok", "+15005550006", f"http://127.0.0.1:{free_port()}")
    result = twilio.TwilioProvider(config, client).send(TO, TEXT)
    assert not result.ok and result.retryable and "ConnectError" in result.error


# --------------------------------------------------------------------------- http gateway


def test_gateway_request_default_body_and_bearer() -> None:
    config = gateway.GatewayConfig(url="https://sms.example.com/v1/send", token="gw-token")
    request = gateway.build_request(config, TO, TEXT)
    assert (request.method, request.url) == ("POST", "https://sms.example.com/v1/send")
    assert request.headers == (
        ("Authorization", "Bearer gw-token"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    )
    assert request.content == (
        b'{"to":"+447700900123","text":"[Upwatch] DOWN: Web \\"shop\\" & co '
        b'(https://shop.example.com/?a=1&b=2) since now: tls"}'
    )
    assert json.loads(request.content) == {"to": TO, "text": TEXT}


def test_gateway_request_custom_template_method_and_basic_auth() -> None:
    config = gateway.GatewayConfig(
        url="https://sms.example.com/v1/send",
        method="PUT",
        body_template=(
            '{"messages": [{"destinations": [{"to": "{to}"}], "text": "{text}", '
            '"from": "Upwatch", "flash": false, "priority": 1}], "note": "to={to}"}'
        ),
        token="pw",
        username="upwatch",
    )
    request = gateway.build_request(config, TO, "Café \\ done")
    assert request.method == "PUT"
    assert request.header("authorization") == "Basic " + base64.b64encode(b"upwatch:pw").decode()
    assert json.loads(request.content) == {
        "messages": [
            {
                "destinations": [{"to": TO}],
                "text": "Café \\ done",
                "from": "Upwatch",
                "flash": False,
                "priority": 1,
            }
        ],
        "note": f"to={TO}",
    }
    assert "Café".encode() in request.content  # UTF-8, not \\u escapes


def test_gateway_without_token_sends_no_authorization() -> None:
    request = gateway.build_request(gateway.GatewayConfig(url="http://x/send"), TO, "hi")
    assert request.header("Authorization") is None


def test_gateway_send_to_the_fake(fake: FakeSmsServer, client: httpx.Client) -> None:
    provider = sms.provider_from_settings(
        {
            "sms_provider": "http",
            "sms_gateway_url": f"{fake.url}/api/sms",
            "sms_gateway_token": "gw-token",
        },
        client,
    )
    assert provider.send(TO, TEXT).ok
    fake.fail(503)
    assert provider.send(TO, TEXT) == base.SendResult(
        False, True, "HTTP 503: failing with 503", 503
    )
    fake.fail(422)
    result = provider.send(TO, TEXT)
    assert not result.ok and not result.retryable
    first = fake.requests[0]
    assert first.path == "/api/sms" and first.headers["Authorization"] == "Bearer gw-token"
    assert first.json == {"to": TO, "text": TEXT}


# --------------------------------------------------------------------------- console


def test_console_logs_one_line_with_the_number_masked(admin_logs: list[str]) -> None:
    result = console.ConsoleProvider().send(TO, "[Upwatch] UP: Web shop is back after 4m 12s")
    assert result.ok
    (line,) = [line for line in admin_logs if "event=sms_console" in line]
    assert "to=+44*******123" in line
    assert 'text="[Upwatch] UP: Web shop is back after 4m 12s"' in line
    assert "chars=43" in line
    assert TO not in line and "7700900" not in line


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+447700900123", "+44*******123"), ("+15005550006", "+15******006"), ("12345", "*****")],
)
def test_mask_number(number: str, masked: str) -> None:
    assert base.mask_number(number) == masked


def test_scrub_masks_numbers_in_text() -> None:
    assert base.scrub("To +14155552671 and 4155552672, error 21211 at 10:00") == (
        "To +14******671 and 415****672, error 21211 at 10:00"
    )


def test_a_crashing_provider_is_a_retryable_failure() -> None:
    from admin_app.notify.deliver import Job, _send_one
    from admin_app.notify.plan import Delivery

    class Broken:
        name = "broken"

        def send(self, to: str, text: str) -> base.SendResult:
            raise RuntimeError(f"bug while sending to {to}")

    job = Job(1, Delivery(1, "A", "sms", "down", TO, "x", "k"), None, "shop")
    result = _send_one(Broken(), job)  # type: ignore[arg-type]
    assert not result.ok and result.retryable
    assert result.error == "RuntimeError: bug while sending to +44*******123"
