"""Contacts and contact groups: the people told about sites, their pages, and
``/api/v1/contacts`` and ``/api/v1/contact-groups``."""

from flask import Blueprint

bp = Blueprint("contacts", __name__)

from admin_app.contacts import api, group_api, group_views, views  # noqa: E402, F401  (routes)
