"""A fake of Twilio's Messages API on loopback, for tests of the SMS path.

It answers ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (form fields ``To``,
``From``, ``Body``; HTTP basic auth with the account SID and auth token) the way
Twilio does: ``201`` and the message resource as JSON. Every request is recorded,
the refused ones too; ``fail(500)`` makes it answer with an error until ``recover()``
(or ``fail(500, times=2)`` for the next two requests only).

    with FakeTwilio() as twilio:
        ...  # configure the Twilio provider with base URL twilio.url
        sms = twilio.wait_for(lambda m: m.to == "+14155552671")
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "e2e-twilio-auth-token"
FROM_NUMBER = "+15005550006"
API_PREFIX = "/2010-04-01/Accounts/"


@dataclass(frozen=True)
class Sms:
    """One request to the Messages endpoint."""

    account_sid: str  # from the path
    to: str
    from_: str
    body: str
    username: str | None  # basic auth
    password: str | None
    status: int  # what the fake answered
    received_at: float

    @property
    def accepted(self) -> bool:
        return self.status == 201


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        arrived = time.time()
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        sid = path.removeprefix(API_PREFIX).removesuffix("/Messages.json")
        if not (path.startswith(API_PREFIX) and path.endswith("/Messages.json")) or "/" in sid:
            self._answer(404, {"code": 20404, "message": "not found", "status": 404})
            return
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        user = password = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        fake = self.server.fake
        status = fake._status_for_next()
        if status == 201 and (user != fake.account_sid or password != fake.auth_token):
            status = 401
        elif status == 201 and sid != fake.account_sid:
            status = 404  # another account's resource
        fake._record(
            Sms(sid, form.get("To", ""), form.get("From", ""), form.get("Body", ""),
                user, password, status, arrived)
        )  # fmt: skip
        if status == 201:
            self._answer(
                201,
                {
                    "sid": "SM" + secrets.token_hex(16),
                    "account_sid": sid,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "uri": f"{API_PREFIX}{sid}/Messages.json",
                },
            )
        elif status == 401:
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        elif status == 404:
            self._answer(404, {"code": 20404, "message": "not found", "status": 404})
        else:
            self._answer(status, {"code": 20500, "message": "Internal error", "status": status})

    def do_GET(self) -> None:
        self._answer(404, {"code": 20404, "message": "not found", "status": 404})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeTwilio) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeTwilio:
    """``start()``/``stop()`` (or a context manager); ``url`` is the API base URL
    (what Twilio's is ``https://api.twilio.com``)."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        from_number: str = FROM_NUMBER,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self._cond = threading.Condition()
        self._requests: list[Sms] = []
        self._fail_status: int | None = None
        self._fail_times: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeTwilio:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- failures

    def fail(self, status: int = 500, times: int | None = None) -> None:
        """Answer ``status`` to every request (or to the next ``times`` ones)."""
        with self._cond:
            self._fail_status, self._fail_times = status, times

    def recover(self) -> None:
        with self._cond:
            self._fail_status = self._fail_times = None

    def _status_for_next(self) -> int:
        with self._cond:
            if self._fail_status is None:
                return 201
            status = self._fail_status
            if self._fail_times is not None:
                self._fail_times -= 1
                if self._fail_times <= 0:
                    self._fail_status = self._fail_times = None
            return status

    # ---------------------------------------------------------------- records

    def _record(self, sms: Sms) -> None:
        with self._cond:
            self._requests.append(sms)
            self._cond.notify_all()

    def requests(self) -> list[Sms]:
        """Every request, accepted or not, oldest first."""
        with self._cond:
            return list(self._requests)

    def messages(self, to: str | None = None) -> list[Sms]:
        """The accepted messages (201), to ``to`` only when given."""
        return [r for r in self.requests() if r.accepted and (to is None or r.to == to)]

    def wait_for(
        self, predicate: Callable[[Sms], bool], count: int = 1, timeout: float = 30.0
    ) -> list[Sms]:
        """Wait until ``count`` accepted messages satisfy ``predicate``; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self._requests if r.accepted and predicate(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {r.status} {r.to} {r.body!r}" for r in self._requests)
                    raise AssertionError(
                        f"{len(found)} of {count} expected SMS within {timeout:.0f}s; "
                        f"all requests:\n{seen or '  (none)'}"
                    )
                self._cond.wait(left)
