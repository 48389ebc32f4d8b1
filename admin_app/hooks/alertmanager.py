"""``POST /hooks/alertmanager``: Alertmanager's webhook receiver.

Answers (JSON; errors as ``{"error": {"code", "message"}}``):

* 200 ``{"status": "ok", "alerts", "incidents_opened", "incidents_closed",
  "incidents", "notifications": {...}}``: recorded, and every message is sent (or
  failed for good);
* 400 ``invalid_payload``: not Alertmanager's payload; the message names the field.
  Alertmanager does not retry a 4xx;
* 401 ``unauthorized``: no or wrong token; 503 ``webhook_token_unset``: the app
  has no token (see :mod:`admin_app.hooks.auth`);
* 503 ``notification_retry``: the incidents are recorded but an SMS failed with a
  retryable error (or is being sent by another request): Alertmanager sends the
  webhook again, and only what is not sent yet goes out then.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from admin_app import metrics
from admin_app.db import get_session
from admin_app.errors import AppError
from admin_app.hooks import auth, bp
from admin_app.logs import log
from admin_app.notify import payload, service
from admin_app.rbac import public


def _settings() -> dict[str, Any]:
    from admin_app.settings.store import effective

    return effective(get_session(), current_app.config["SECRET_KEY"])


@bp.route("/hooks/alertmanager", methods=["POST"])
@public
def alertmanager() -> tuple[Response, int]:
    result = "error"
    try:
        try:
            auth.check(
                request.headers.get("Authorization"), current_app.config.get("WEBHOOK_TOKEN")
            )
        except AppError as err:
            result = "unconfigured" if err.status == 503 else "unauthorized"
            log("webhook_refused", reason=err.code, remote=request.remote_addr or "-")
            raise
        try:
            data = payload.parse_json(request.get_data(cache=False))
        except payload.PayloadError as err:
            result = "invalid"
            log("webhook_invalid", field=err.field, problem=err.message)
            raise AppError(
                400, "invalid_payload", str(err), fields={err.field: err.message}
            ) from None
        outcome = service.handle(
            get_session(), data, _settings, current_app.config.get("PROMETHEUS_URL")
        )
        if outcome.needs_retry:
            result = "retry"
            report = outcome.report
            detail = "; ".join(dict.fromkeys(report.errors))[:500]
            raise AppError(
                503,
                "notification_retry",
                f"incidents recorded; {report.retry} SMS failed with a retryable error and "
                f"{report.busy} are being sent by another request: send the webhook again"
                + (f" ({detail})" if detail else ""),
            )
        result = "ok"
        return jsonify({"status": "ok", **outcome.as_dict()}), 200
    finally:
        metrics.count_webhook(result)
