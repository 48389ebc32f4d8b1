"""The API's description: ``/api/openapi.json`` (OpenAPI 3.1, generated from the
app's URL map and RBAC registry plus hand-written schemas) and ``/docs``, an
interactive page that renders it without any outside resource."""

from flask import Blueprint

bp = Blueprint("docs", __name__)

from admin_app.docs import views  # noqa: E402, F401  (routes)
