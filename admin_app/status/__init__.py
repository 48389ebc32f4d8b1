"""The live status dashboard (``/status``, "Real-Time Server Status"), its event
stream (``/status/events``), and the history pages built on the history module:
the per-site history page (``/history/<id>``, "Server Logs") and the reports page
(``/reports``, "Reports")."""

from flask import Blueprint, Flask

bp = Blueprint("status", __name__)

from admin_app.status import views  # noqa: E402, F401  (routes)
from admin_app.status.history_page import bp as history_page_bp  # noqa: E402
from admin_app.status.reports_page import bp as reports_page_bp  # noqa: E402

blueprints = (history_page_bp, reports_page_bp)


def init_app(app: Flask) -> None:
    from admin_app import nav

    # The nav's defaults name history.index and reports.index (the API modules'
    # blueprints); these pages live here.
    nav.add_item(app, "History", "history_page.index", 50)
    nav.add_item(app, "Reports", "reports_page.index", 60)
