"""Users: the admin dashboard, user management pages, one's own account, and
``/api/v1/users``."""

from flask import Blueprint

bp = Blueprint("users", __name__)

from admin_app.users import api, views  # noqa: E402, F401  (routes)
