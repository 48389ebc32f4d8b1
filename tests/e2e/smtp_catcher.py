"""An SMTP server on loopback that keeps every message it is sent (aiosmtpd, in a
thread), for tests of what Alertmanager mails.

    with SmtpCatcher() as smtp:
        ...  # point Alertmanager at 127.0.0.1:smtp.port
        mail = smtp.wait_for(lambda m: m.to == ["ops@example.com"])
        assert mail.subject.startswith("[DOWN]")

No TLS and no AUTH are offered: the sender must not require either
(``smtp_require_tls: false``).
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers import free_port


@dataclass(frozen=True)
class Mail:
    """One message as it arrived."""

    mail_from: str  # the envelope sender
    rcpt_tos: list[str]  # the envelope recipients
    subject: str
    to: list[str]  # the To: header's addresses, lowercased
    text: str  # the text/plain part ('' when there is none)
    html: str  # the text/html part ('' when there is none)
    received_at: float  # unix time the DATA command ended
    message: EmailMessage = field(repr=False)

    @property
    def body(self) -> str:
        """The plain text part, or the HTML when there is no plain part."""
        return self.text or self.html


def parse(raw: bytes, mail_from: str, rcpt_tos: list[str], received_at: float) -> Mail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts: dict[str, str] = {}
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is not None and part.get_content_subtype() == kind:
            parts[kind] = part.get_content()
    to_header = message.get("To")
    addresses = [a.addr_spec.lower() for a in to_header.addresses] if to_header else []
    return Mail(
        mail_from=mail_from,
        rcpt_tos=[r.lower() for r in rcpt_tos],
        subject=str(message.get("Subject", "")),
        to=addresses,
        text=parts.get("plain", ""),
        html=parts.get("html", ""),
        received_at=received_at,
        message=message,
    )


class _Handler:
    def __init__(self, catcher: SmtpCatcher) -> None:
        self.catcher = catcher

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        mail = parse(raw, envelope.mail_from or "", list(envelope.rcpt_tos), time.time())
        self.catcher._add(mail)
        return "250 Message accepted for delivery"


class SmtpCatcher:
    """``start()``/``stop()`` (or a context manager); ``host``/``port`` to send to."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._mails: list[Mail] = []
        self._cond = threading.Condition()
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, ready_timeout=10
        )

    def start(self) -> SmtpCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _add(self, mail: Mail) -> None:
        with self._cond:
            self._mails.append(mail)
            self._cond.notify_all()

    def messages(self, to: str | None = None) -> list[Mail]:
        """Every message so far (only those to ``to`` when given), oldest first."""
        with self._cond:
            mails = list(self._mails)
        if to is not None:
            mails = [m for m in mails if to.lower() in m.rcpt_tos]
        return mails

    def wait_for(
        self, predicate: Callable[[Mail], bool], count: int = 1, timeout: float = 30.0
    ) -> list[Mail]:
        """Wait until ``count`` messages satisfy ``predicate``; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self._mails if predicate(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {m.rcpt_tos} {m.subject!r}" for m in self._mails)
                    raise AssertionError(
                        f"{len(found)} of {count} expected messages within {timeout:.0f}s; "
                        f"all messages:\n{seen or '  (none)'}"
                    )
                self._cond.wait(left)
