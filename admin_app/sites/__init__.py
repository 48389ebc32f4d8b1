"""Sites: the list, create/edit/delete, pause and maintenance, who is told about each
site, "test now", and ``/api/v1/sites``."""

from flask import Blueprint

bp = Blueprint("sites", __name__)

from admin_app.sites import api, views  # noqa: E402, F401  (routes)
