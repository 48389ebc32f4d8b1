"""Errors as the client sees them: JSON ``{"error": {"code", "message"}}`` for the
API, the hooks and clients that ask for JSON; a small HTML page otherwise. Never a
stack trace: unexpected exceptions are logged and answered with a plain 500.

Views raise :class:`AppError` (or a subclass) with a status, a machine-readable
``code`` and a message a person can act on; validation errors carry ``fields``,
a mapping of field name -> message.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from admin_app.logs import log

JSON_PREFIXES = ("/api/", "/hooks/")


class AppError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class ValidationError(AppError):
    """Bad input: one message per field (and nothing was saved)."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        if message is None:
            message = "; ".join(f"{k}: {v}" for k, v in fields.items()) or "invalid input"
        super().__init__(422, "validation_error", message, fields=fields)


class Forbidden(AppError):
    def __init__(self, message: str, code: str = "forbidden"):
        super().__init__(403, code, message)


class NotFound(AppError):
    def __init__(self, message: str = "not found"):
        super().__init__(404, "not_found", message)


class Conflict(AppError):
    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(409, "conflict", message, fields=fields)


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def render_error(err: AppError) -> Response:
    if wants_json():
        response = jsonify(err.payload())
    else:
        if err.status == 401:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        try:
            body = render_template(
                "error.html", status=err.status, message=err.message, code=err.code
            )
        except Exception:  # the page itself failed (e.g. the database is down)
            body = f"<!doctype html><title>Error {err.status}</title><p>{escape(err.message)}</p>"
        response = Response(body, mimetype="text/html")
    response.status_code = err.status
    for key, value in err.headers.items():
        response.headers[key] = value
    if err.status == 401 and wants_json():
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="upwatch"')
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(err: AppError) -> Response:
        if err.status >= 500:
            log("request_failed", logging.ERROR, path=request.path, code=err.code)
        return render_error(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        message = exc.description or exc.name
        if isinstance(exc, CSRFError):
            err = AppError(
                400,
                "csrf_failed",
                "The form has expired or was not sent from this site; reload the page and try again.",
            )
        else:
            err = AppError(exc.code or 500, _code_for(exc), str(message))
        response = render_error(err)
        valid_methods = getattr(exc, "valid_methods", None)
        if valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return _http_error(exc)
        logging.getLogger("upwatch.admin").error(
            "unhandled_exception",
            exc_info=exc,
            extra={"kv": {"path": request.path, "method": request.method}},
        )
        return render_error(
            AppError(
                500, "internal_error", "Something went wrong on the server; it has been logged."
            )
        )
