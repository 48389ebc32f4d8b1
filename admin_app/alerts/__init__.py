"""The alerts page (``/alerts``, "Alerts"): the recent down and up events of every
site from the incident log, with who was told and how (email routed through
Alertmanager, SMS sent or failed)."""

from flask import Blueprint

bp = Blueprint("alerts", __name__)

from admin_app.alerts import views  # noqa: E402, F401  (routes)
