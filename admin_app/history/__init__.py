"""History: per-site up/down/maintenance intervals, uptime figures and the incident
log as a JSON API (``/api/v1/sites/<id>/history``, ``/api/v1/sites/<id>/uptime``,
``/api/v1/incidents``). The arithmetic is in :mod:`admin_app.uptime`."""

from flask import Blueprint

bp = Blueprint("history", __name__)

from admin_app.history import api  # noqa: E402, F401  (routes)
