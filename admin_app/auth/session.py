"""flask-login set-up: the user loader (``<id>:<nonce>``, so that rotating a user's
nonce ends their sessions) and session protection "strong"."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager

from admin_app.db import get_session
from admin_app.models import User


def init_app(app: Flask) -> LoginManager:
    manager = LoginManager()
    manager.session_protection = "strong"
    manager.login_view = "auth.login"
    manager.login_message = "Please log in to see this page."
    manager.login_message_category = "info"
    manager.user_loader(load_user)
    manager.init_app(app)
    return manager


def load_user(user_id: str) -> User | None:
    raw_id, _, nonce = user_id.partition(":")
    if not raw_id.isdigit() or not nonce:
        return None
    user = get_session().get(User, int(raw_id))
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return user
