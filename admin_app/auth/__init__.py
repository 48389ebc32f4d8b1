"""Authentication: browser sessions (log in, log out) and API tokens."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from admin_app.auth import api, views  # noqa: E402, F401  (routes)
