"""WSGI entry point: ``gunicorn 'admin_app.wsgi:app'`` (structured logs on stderr)."""

from admin_app import create_app
from admin_app.logs import setup

setup("info")
app = create_app()
