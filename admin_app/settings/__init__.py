"""System settings: SMTP, the SMS provider and its credentials (secrets encrypted at
rest), and the default probe interval, timeout and confirmations."""

from flask import Blueprint

bp = Blueprint("settings", __name__)

from admin_app.settings import api, views  # noqa: E402, F401  (routes)
