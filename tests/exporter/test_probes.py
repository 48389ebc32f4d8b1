"""The probe layer against a real misbehaving server (tests/badsite.py): every
failure reason, status ranges, body checks, redirects, TLS and its expiry, DNS, TCP.

No mocked HTTP: every probe here opens real sockets on loopback.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from exporter.config import Site, parse_site_list
from exporter.probes import REASONS, ProbeContext, ProbeResult, run_probe
from tests.badsite import KEYWORD, BadSite

# RFC 2606: names under .invalid never resolve.
UNRESOLVABLE = "upwatch-probe-test.invalid"
TIMEOUT = 0.5  # the site timeout for the "too slow" cases
SLOW = 5.0  # how long the server dawdles in those cases


def make_site(url: str, **fields: Any) -> Site:
    """A site as the exporter would load it from sites.yml (defaults applied)."""
    raw: dict[str, Any] = {"id": "t", "url": url, "timeout": 3}
    raw.update(fields)
    return parse_site_list({"sites": [raw]}).sites[0]


# One event loop and one ProbeContext for the module: building a context loads the
# CA bundle (about 0.1 s), and the context keeps no connections between probes.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ctx() -> AsyncIterator[ProbeContext]:
    async with ProbeContext() as context:
        yield context


async def probe(ctx: ProbeContext, url: str, **fields: Any) -> ProbeResult:
    before = time.time()
    result = await run_probe(make_site(url, **fields), ctx)
    assert isinstance(result, ProbeResult)
    assert result.duration_seconds >= 0
    assert before - 1 <= result.started_at <= time.time() + 1
    return result


def assert_ok(result: ProbeResult, status: int | None = 200) -> None:
    assert result.success, f"expected success, got {result}"
    assert result.reason is None
    assert result.status_code == status


def assert_failed(result: ProbeResult, reason: str) -> None:
    assert reason in REASONS
    assert not result.success, f"expected failure {reason!r}, got {result}"
    assert result.reason == reason, f"expected {reason!r}, got {result}"
    assert result.message.strip(), f"a failure needs a message: {result}"


# ------------------------------------------------------------------ status codes


async def test_200_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/ok"))
    assert_ok(result)
    assert result.tls_expiry is None  # plain http: no certificate
    assert badsite.count("/ok") == 1


async def test_503_fails_with_status(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/status/503"))
    assert_failed(result, "status")
    assert result.status_code == 503
    assert "503" in result.message
    assert badsite.count("/status/503") == 1  # one probe, one request: no retries


@pytest.mark.parametrize(
    ("expect", "code", "up"),
    [
        (None, 200, True),
        (None, 204, True),
        (None, 299, True),
        (None, 301, False),
        (None, 404, False),
        (None, 500, False),
        (["200-299"], 201, True),
        (["200-299"], 300, False),
        (["2xx"], 250, True),
        (["2xx"], 300, False),
        ([503], 503, True),
        (["503"], 503, True),
        ([503], 200, False),
        (["2xx", 503], 503, True),
        (["2xx", 503], 502, False),
        (["400-404"], 404, True),
        (["5xx"], 599, True),
    ],
)
async def test_expected_status_ranges(
    ctx: ProbeContext, badsite: BadSite, expect: list | None, code: int, up: bool
) -> None:
    fields = {"expect": {"status": expect}} if expect is not None else {}
    result = await probe(ctx, badsite.url(f"/status/{code}"), **fields)
    assert result.status_code == code
    if up:
        assert_ok(result, code)
    else:
        assert_failed(result, "status")
        assert str(code) in result.message


async def test_flapping_site_follows_the_switch(ctx: ProbeContext, badsite: BadSite) -> None:
    url = badsite.url("/switch/flap")
    assert_ok(await probe(ctx, url))
    badsite.set_switch("flap", up=False)
    down = await probe(ctx, url)
    assert_failed(down, "status")
    assert down.status_code == 503
    badsite.set_switch("flap", up=True)
    assert_ok(await probe(ctx, url))
    assert badsite.count("/switch/flap") == 3


# ------------------------------------------------------------------ timeouts, connections


async def test_slow_beyond_timeout_is_timeout(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url(f"/slow?seconds={SLOW}"), timeout=TIMEOUT)
    assert_failed(result, "timeout")
    # The probe gives up at its timeout, not when the server finally answers.
    assert TIMEOUT * 0.8 <= result.duration_seconds < SLOW * 0.8
    assert result.status_code is None


async def test_slow_within_timeout_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/slow?seconds=0.2"), timeout=3)
    assert_ok(result)
    assert result.duration_seconds >= 0.15


async def test_server_that_never_answers_is_timeout(ctx: ProbeContext, silent_port: int) -> None:
    result = await probe(ctx, f"http://127.0.0.1:{silent_port}/", timeout=TIMEOUT)
    assert_failed(result, "timeout")
    assert result.duration_seconds < SLOW


async def test_tls_handshake_that_never_completes_is_timeout(
    ctx: ProbeContext, silent_port: int
) -> None:
    result = await probe(ctx, f"https://127.0.0.1:{silent_port}/", timeout=TIMEOUT)
    assert_failed(result, "timeout")
    assert result.duration_seconds < SLOW


async def test_connection_refused_is_connect(ctx: ProbeContext, refused_port: int) -> None:
    result = await probe(ctx, f"http://127.0.0.1:{refused_port}/", timeout=2)
    assert_failed(result, "connect")
    assert "refused" in result.message.lower()


async def test_reset_mid_response_is_connect(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/reset"))
    assert_failed(result, "connect")
    assert badsite.count("/reset") == 1


async def test_reset_mid_response_with_keyword_is_connect(
    ctx: ProbeContext, badsite: BadSite
) -> None:
    # The body is read to check the keyword: the reset is the failure, not the keyword.
    result = await probe(ctx, badsite.url("/reset"), expect={"body_contains": KEYWORD})
    assert_failed(result, "connect")


async def test_unresolvable_host_is_dns(ctx: ProbeContext) -> None:
    result = await probe(ctx, f"http://{UNRESOLVABLE}/", timeout=3)
    assert_failed(result, "dns")


# ------------------------------------------------------------------ body checks


async def test_keyword_present_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    assert_ok(await probe(ctx, badsite.url("/ok"), expect={"body_contains": KEYWORD}))


async def test_keyword_missing_is_body_mismatch(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/nokeyword"), expect={"body_contains": KEYWORD})
    assert_failed(result, "body_mismatch")
    assert result.status_code == 200
    assert KEYWORD in result.message


async def test_regex_match_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    assert_ok(await probe(ctx, badsite.url("/ok"), expect={"body_regex": r"all \w+ here$"}))


async def test_regex_mismatch_is_body_mismatch(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/nokeyword"), expect={"body_regex": r"all \w+ here"})
    assert_failed(result, "body_mismatch")
    assert result.status_code == 200


async def test_keyword_is_not_checked_on_a_bad_status(ctx: ProbeContext, badsite: BadSite) -> None:
    # A 503 is reported as the status it is, whatever the body says.
    result = await probe(ctx, badsite.url("/status/503"), expect={"body_contains": KEYWORD})
    assert_failed(result, "status")


async def test_endless_body_is_body_too_large(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/endless"), max_body_bytes=4096, timeout=3)
    assert_failed(result, "body_too_large")
    assert result.status_code == 200


async def test_endless_body_under_a_large_cap_times_out(
    ctx: ProbeContext, badsite: BadSite
) -> None:
    # The server streams about 200 KB/s at most: 10 MiB is not reached in the timeout.
    result = await probe(
        ctx, badsite.url("/endless"), max_body_bytes=10 * 1024 * 1024, timeout=TIMEOUT
    )
    assert_failed(result, "timeout")
    assert result.duration_seconds < SLOW


@pytest.mark.parametrize(
    ("size", "cap", "up"),
    [
        (10_000, 5_000, False),
        (10_000, 9_999, False),
        (10_000, 10_000, True),
        (10_000, 20_000, True),
        (300_000, 200_000, False),
        (0, 1, True),
    ],
)
async def test_body_size_cap(
    ctx: ProbeContext, badsite: BadSite, size: int, cap: int, up: bool
) -> None:
    result = await probe(ctx, badsite.url(f"/big?bytes={size}"), max_body_bytes=cap)
    if up:
        assert_ok(result)
    else:
        assert_failed(result, "body_too_large")
        assert result.status_code == 200


async def test_body_size_cap_applies_with_a_keyword(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(
        ctx, badsite.url("/big?bytes=50000"), max_body_bytes=1000, expect={"body_contains": "x"}
    )
    assert_failed(result, "body_too_large")


# ------------------------------------------------------------------ redirects


async def test_redirect_followed_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/redirect-ok"), follow_redirects=True)
    assert_ok(result, 200)
    assert [r.path for r in badsite.requests()] == ["/redirect-ok", "/ok"]


async def test_redirect_followed_checks_the_final_body(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(
        ctx, badsite.url("/redirect-ok"), follow_redirects=True, expect={"body_contains": KEYWORD}
    )
    assert_ok(result, 200)


async def test_redirect_not_followed_fails_by_default(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/redirect-ok"), follow_redirects=False)
    assert_failed(result, "status")
    assert result.status_code == 302
    assert badsite.count("/ok") == 0


async def test_redirect_not_followed_up_when_expected(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(
        ctx, badsite.url("/redirect-ok"), follow_redirects=False, expect={"status": [302]}
    )
    assert_ok(result, 302)
    assert badsite.count("/ok") == 0


async def test_redirect_loop_fails(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/redirect-loop"), follow_redirects=True)
    assert_failed(result, "status")
    assert "redirect" in result.message.lower()
    assert 2 <= badsite.count("/redirect-loop") <= 50  # it gave up after a bounded number


async def test_redirect_loop_not_followed_is_one_302(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/redirect-loop"), follow_redirects=False)
    assert_failed(result, "status")
    assert result.status_code == 302
    assert badsite.count("/redirect-loop") == 1


# ------------------------------------------------------------------ TLS


async def test_self_signed_with_verify_is_tls(ctx: ProbeContext, badsite_tls: BadSite) -> None:
    result = await probe(ctx, badsite_tls.url("/ok"), tls_verify=True)
    assert_failed(result, "tls")
    assert result.status_code is None


async def test_self_signed_without_verify_is_up_with_expiry(
    ctx: ProbeContext, badsite_tls: BadSite
) -> None:
    result = await probe(ctx, badsite_tls.url("/ok"), tls_verify=False)
    assert_ok(result)
    assert badsite_tls.cert_not_valid_after is not None
    assert result.tls_expiry == pytest.approx(badsite_tls.cert_not_valid_after, abs=0.5)
    assert result.tls_expiry > time.time() + 29 * 86400


async def test_tls_expiry_reported_when_status_fails(
    ctx: ProbeContext, badsite_tls: BadSite
) -> None:
    # The expiry alert must not go blind while the site answers errors.
    result = await probe(ctx, badsite_tls.url("/status/503"), tls_verify=False)
    assert_failed(result, "status")
    assert result.tls_expiry == pytest.approx(badsite_tls.cert_not_valid_after, abs=0.5)


async def test_https_keyword_and_redirect(ctx: ProbeContext, badsite_tls: BadSite) -> None:
    result = await probe(
        ctx,
        badsite_tls.url("/redirect-ok"),
        tls_verify=False,
        expect={"body_contains": KEYWORD},
    )
    assert_ok(result)
    assert result.tls_expiry == pytest.approx(badsite_tls.cert_not_valid_after, abs=0.5)


async def test_expired_with_verify_is_tls(ctx: ProbeContext, badsite_tls_expired: BadSite) -> None:
    result = await probe(ctx, badsite_tls_expired.url("/ok"), tls_verify=True)
    assert_failed(result, "tls")


async def test_expired_without_verify_is_up_with_past_expiry(
    ctx: ProbeContext, badsite_tls_expired: BadSite
) -> None:
    result = await probe(ctx, badsite_tls_expired.url("/ok"), tls_verify=False)
    assert_ok(result)
    assert result.tls_expiry is not None
    assert result.tls_expiry < time.time()
    assert result.tls_expiry == pytest.approx(badsite_tls_expired.cert_not_valid_after, abs=0.5)


async def test_reset_over_tls_is_connect(ctx: ProbeContext, badsite_tls: BadSite) -> None:
    result = await probe(ctx, badsite_tls.url("/reset"), tls_verify=False)
    assert_failed(result, "connect")


async def test_slow_over_tls_is_timeout(ctx: ProbeContext, badsite_tls: BadSite) -> None:
    result = await probe(
        ctx, badsite_tls.url(f"/slow?seconds={SLOW}"), tls_verify=False, timeout=TIMEOUT
    )
    assert_failed(result, "timeout")
    assert result.duration_seconds < SLOW * 0.8


# ------------------------------------------------------------------ what the probe sends


async def test_method_and_headers_are_sent(ctx: ProbeContext, badsite: BadSite) -> None:
    headers = {"Authorization": "Bearer s3cret", "X-Upwatch-Test": "yes"}
    result = await probe(ctx, badsite.url("/echo"), method="POST", headers=headers)
    assert_ok(result)
    seen = badsite.last("/echo")
    assert seen.method == "POST"
    assert seen.headers["authorization"] == "Bearer s3cret"
    assert seen.headers["x-upwatch-test"] == "yes"
    assert seen.headers.get("user-agent")


async def test_site_header_overrides_user_agent(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/echo"), headers={"User-Agent": "my-checker/1"})
    assert_ok(result)
    assert badsite.last("/echo").headers["user-agent"] == "my-checker/1"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS"])
async def test_methods(ctx: ProbeContext, badsite: BadSite, method: str) -> None:
    assert_ok(await probe(ctx, badsite.url("/ok"), method=method))
    assert badsite.last("/ok").method == method


async def test_head_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/ok"), method="HEAD")
    assert_ok(result)
    assert badsite.last("/ok").method == "HEAD"


async def test_head_of_an_error_fails(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, badsite.url("/status/500"), method="HEAD")
    assert_failed(result, "status")
    assert result.status_code == 500


async def test_each_probe_opens_a_fresh_request(ctx: ProbeContext, badsite: BadSite) -> None:
    site = make_site(badsite.url("/ok"))
    for _ in range(3):
        assert_ok(await run_probe(site, ctx))
    assert badsite.count("/ok") == 3


# ------------------------------------------------------------------ TCP


async def test_tcp_open_port_is_up(ctx: ProbeContext, badsite: BadSite) -> None:
    result = await probe(ctx, f"tcp://127.0.0.1:{badsite.port}", timeout=2)
    assert_ok(result, None)


async def test_tcp_refused_is_connect(ctx: ProbeContext, refused_port: int) -> None:
    result = await probe(ctx, f"tcp://127.0.0.1:{refused_port}", timeout=2)
    assert_failed(result, "connect")
    assert "refused" in result.message.lower()


async def test_tcp_unresolvable_is_dns(ctx: ProbeContext) -> None:
    result = await probe(ctx, f"tcp://{UNRESOLVABLE}:80", timeout=3)
    assert_failed(result, "dns")


# ------------------------------------------------------------------ the contract


async def test_results_serialise_to_json(ctx: ProbeContext, badsite: BadSite) -> None:
    data = (await probe(ctx, badsite.url("/status/503"))).to_json()
    assert data["success"] is False
    assert data["reason"] == "status"
    assert data["status_code"] == 503
    assert set(data) >= {"duration_seconds", "message", "tls_expiry", "started_at"}


async def test_a_timeout_that_cancelled_a_tls_read_is_a_timeout_not_a_tls_error() -> None:
    """The chain TimeoutError <- CancelledError <- SSLWantReadError (a TLS read cut
    short by the timeout) is a timeout, whatever client stack raised it."""
    import asyncio
    import ssl

    from exporter.probes.context import classify_error

    try:
        try:
            try:
                raise ssl.SSLWantReadError("The operation did not complete (read)")
            except ssl.SSLWantReadError as inner:
                raise asyncio.CancelledError() from inner
        except asyncio.CancelledError as cancelled:
            raise TimeoutError() from cancelled
    except TimeoutError as exc:
        assert classify_error(exc) == ("timeout", "timed out")
