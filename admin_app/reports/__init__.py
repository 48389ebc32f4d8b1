"""Downtime reports for a range and a set of sites, as CSV and Excel, through the
API and from the browser. The content is :mod:`admin_app.reports.data`; each file
format is a module of :mod:`admin_app.reports.formats`."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from admin_app.reports import downloads  # noqa: E402, F401  (routes)
