"""The console provider, for development: each message becomes one structured log
line (``event=sms_console to=+44*******123 chars=57 text="..."``) and counts as
sent. The number is masked; the text carries no secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from admin_app.logs import log
from admin_app.notify.sms.base import SendResult, mask_number


class ConsoleProvider:
    name: ClassVar[str] = "console"

    @classmethod
    def validate(cls, settings: Mapping[str, Any]) -> dict[str, str]:
        return {}

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], client: httpx.Client | None = None
    ) -> ConsoleProvider:
        return cls()

    def send(self, to: str, text: str) -> SendResult:
        log("sms_console", to=mask_number(to), chars=len(text), text=text)
        return SendResult.success()
