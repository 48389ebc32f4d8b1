"""Webhooks called by the rest of the stack, not by people: ``POST
/hooks/alertmanager`` (:mod:`admin_app.hooks.alertmanager`). They are ``@public`` in
the RBAC sense (no user) and check their own shared token (:mod:`admin_app.hooks.auth`);
CSRF does not apply under ``/hooks/`` and errors are JSON."""

from flask import Blueprint

bp = Blueprint("hooks", __name__)

from admin_app.hooks import alertmanager  # noqa: E402, F401  (routes)
