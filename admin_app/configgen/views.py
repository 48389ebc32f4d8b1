"""The config page ("Codebase Access"): the generated sites.yml and alertmanager.yml
(secrets shown as ``<secret>``), their download, and the status of the last
application; "apply now" and the status API ("System Settings").

``init_app`` (called by the blueprint registry) creates the app's
:class:`~admin_app.configgen.apply.ConfigApplier` and connects it to
:data:`admin_app.changes.config_changed`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)

from admin_app.configgen import apply as apply_module
from admin_app.configgen.redact import redact_alertmanager, redact_sites
from admin_app.configgen.sites_yml import render_yaml
from admin_app.errors import AppError, NotFound
from admin_app.rbac import can_access, current_actor, requires
from admin_app.roles import Feature

bp = Blueprint("configgen", __name__, template_folder="templates")

# name in the URL -> (Flask config key of the path, redaction)
FILES = {
    "sites": ("SITES_FILE", redact_sites),
    "alertmanager": ("ALERTMANAGER_CONFIG", redact_alertmanager),
}


def init_app(app: Flask) -> None:
    apply_module.init_app(app)


def _path(name: str) -> Path:
    settings = apply_module.get_applier().settings
    return settings.sites_file if name == "sites" else settings.alertmanager_file


def shown_text(name: str) -> str | None:
    """The file as written, secrets replaced; None when it does not exist yet."""
    try:
        text = _path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return "# (the file is not valid YAML and is not shown)\n"
    if not isinstance(data, dict):
        return header
    return render_yaml(FILES[name][1](data), header=header)


def status_dict() -> dict[str, Any]:
    """This process's status, or the one another worker wrote when this process has
    not applied anything yet."""
    applier = apply_module.get_applier()
    status = applier.status().to_dict()
    if status["last_result"] is None and applier.status_path is not None:
        stored = apply_module.read_status_file(applier.status_path)
        if stored:
            return stored
    return status


def _name_or_404(name: str) -> str:
    if name not in FILES:
        raise NotFound(f"no generated file called {name}.yml (sites.yml, alertmanager.yml)")
    return name


def _download(name: str) -> Response:
    text = shown_text(_name_or_404(name))
    if text is None:
        raise NotFound(f"{name}.yml has not been generated yet")
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}.yml"'},
    )


@bp.route("/admin/config", methods=["GET"])
@requires(Feature.CODEBASE_ACCESS)
def index() -> str:
    files = {name: shown_text(name) for name in FILES}
    paths = {name: str(_path(name)) for name in FILES}
    may_apply = can_access(current_actor().role, Feature.SYSTEM_SETTINGS)
    return render_template(
        "configgen/index.html", status=status_dict(), files=files, paths=paths, may_apply=may_apply
    )


@bp.route("/admin/config/<name>.yml", methods=["GET"])
@requires(Feature.CODEBASE_ACCESS)
def download(name: str) -> Response:
    return _download(name)


@bp.route("/admin/config/apply", methods=["POST"])
@requires(Feature.SYSTEM_SETTINGS)
def apply_now() -> Response:
    result = apply_module.get_applier().apply_now(force_reload=True)
    if not result.ok:
        flash("Configuration not applied: " + "; ".join(result.errors), "error")
    elif result.reload_pending:
        flash("Configuration written; reload pending (it is retried).", "error")
    else:
        flash("Configuration applied and reloaded.", "success")
    return redirect(url_for("configgen.index"), code=303)


@bp.route("/api/v1/config/status", methods=["GET"])
@requires(Feature.SYSTEM_SETTINGS)
def api_status() -> Response:
    return jsonify(status_dict())


@bp.route("/api/v1/config/apply", methods=["POST"])
@requires(Feature.SYSTEM_SETTINGS)
def api_apply() -> Response:
    result = apply_module.get_applier().apply_now(force_reload=True)
    if not result.ok:
        raise AppError(422, "invalid_config", "; ".join(result.errors))
    return jsonify(result.to_dict())


@bp.route("/api/v1/config/<name>.yml", methods=["GET"])
@requires(Feature.CODEBASE_ACCESS)
def api_download(name: str) -> Response:
    return _download(name)
