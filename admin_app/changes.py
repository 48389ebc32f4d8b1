"""One signal for "what the generated configuration depends on has changed".

Views that change sites, contacts, groups or settings call :func:`notify` after
their commit; config generation connects to :data:`config_changed` (and may batch
many quick edits into one regeneration). Sender: the app; ``kind`` names what
changed (``"sites"``, ``"contacts"``, ``"groups"``, ``"settings"``).
"""

from __future__ import annotations

from blinker import Namespace
from flask import current_app

_signals = Namespace()
config_changed = _signals.signal("upwatch-config-changed")


def notify(kind: str) -> None:
    config_changed.send(current_app._get_current_object(), kind=kind)  # type: ignore[attr-defined]
