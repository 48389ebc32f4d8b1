"""A fake SMS provider API: a real tiny HTTP server on a free loopback port that
records every request and answers as told.

* ``POST /2010-04-01/Accounts/<sid>/Messages.json`` answers like Twilio: 201 and a
  message resource ``{"sid": "SM...", ...}``, or Twilio's error object for a status
  queued with :meth:`FakeSmsServer.fail`.
* Any other path (a generic HTTP gateway) answers 200 ``{"ok": true}``, or the
  queued status.

    with FakeSmsServer() as fake:
        fake.fail(500)          # the next request gets a 500, then back to normal
        fake.fail(503, times=3) # the next three
        fake.fail(400, times=None)  # every request until fake.recover()
        ...
        fake.requests           # [Recorded(method, path, headers, body), ...]
        fake.messages()         # the accepted ones

``delay`` makes every answer wait (for timeout tests).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TWILIO_PREFIX = "/2010-04-01/Accounts/"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the fake answered
    at: float = field(default_factory=time.time)

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def to(self) -> str | None:
        if self.path.startswith(TWILIO_PREFIX):
            return self.form.get("To")
        try:
            data = self.json
        except ValueError:
            return None
        return data.get("to") if isinstance(data, dict) else None

    @property
    def text(self) -> str | None:
        if self.path.startswith(TWILIO_PREFIX):
            return self.form.get("Body")
        try:
            data = self.json
        except ValueError:
            return None
        return data.get("text") if isinstance(data, dict) else None


class FakeSmsServer:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._failures: list[int] = []  # statuses for the next requests
        self._always: int | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ----------------------------------------------------------------- control

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSmsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeSmsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, status: int, times: int | None = 1) -> None:
        """Answer ``status`` to the next ``times`` requests (None: until recover())."""
        with self._lock:
            if times is None:
                self._always = status
            else:
                self._failures.extend([status] * times)

    def recover(self) -> None:
        with self._lock:
            self._failures.clear()
            self._always = None

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def messages(self) -> list[Recorded]:
        return [r for r in self.requests if r.accepted]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # ----------------------------------------------------------------- serving

    def _next_status(self, default: int) -> int:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            if self._always is not None:
                return self._always
            return default

    def _record(self, entry: Recorded) -> None:
        with self._lock:
            self._requests.append(entry)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                twilio = self.path.startswith(TWILIO_PREFIX)
                status = fake._next_status(201 if twilio else 200)
                fake._record(
                    Recorded(self.command, self.path, dict(self.headers.items()), body, status)
                )
                if fake.delay:
                    time.sleep(fake.delay)
                if twilio:
                    answer = _twilio_answer(status, body)
                else:
                    answer = {"ok": True} if status < 300 else {"error": f"failing with {status}"}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = _serve
            do_PUT = _serve

        return Handler


def _twilio_answer(status: int, body: bytes) -> dict[str, Any]:
    form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    if status < 300:
        return {
            "sid": "SM" + secrets.token_hex(16),
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
        }
    return {
        "code": 21211 if status == 400 else 20500,
        "message": f"The 'To' number {form.get('To')} is not a valid phone number."
        if status == 400
        else "Internal Server Error",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": status,
    }
