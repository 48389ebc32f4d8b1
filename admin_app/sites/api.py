"""The sites JSON API (DESIGN.md): ``GET|POST /api/v1/sites``, ``GET|PATCH|DELETE
/api/v1/sites/<id>`` (``id`` is the site's slug), ``POST /api/v1/sites/<id>/contacts``
(add a contact or group: the original ``website/addmail/<id>``), ``DELETE
/api/v1/sites/<id>/contacts/<contact id>`` and ``.../contact-groups/<group id>``,
and ``POST /api/v1/sites/<id>/probe`` ("test now")."""

from __future__ import annotations

from flask import jsonify, url_for
from werkzeug.wrappers import Response

from admin_app.api import json_body
from admin_app.contacts.commit import KIND_SITES, commit_change
from admin_app.contacts.service import contact_brief, group_brief
from admin_app.db import get_session
from admin_app.rbac import requires
from admin_app.roles import Feature
from admin_app.sites import bp
from admin_app.sites.serialize import site_json
from admin_app.sites.service import (
    add_to_site,
    all_sites,
    create_site,
    delete_site,
    get_site,
    remove_contact,
    remove_group,
    update_site,
)
from admin_app.sites.testnow import probe_now


@bp.route("/api/v1/sites", methods=["GET"])
@requires(Feature.SERVER_MANAGEMENT)
def api_list() -> Response:
    return jsonify({"sites": [site_json(s) for s in all_sites(get_session())]})


@bp.route("/api/v1/sites", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def api_create() -> tuple[Response, int, dict[str, str]]:
    data = json_body()
    session = get_session()
    site = create_site(session, data)
    commit_change(session, KIND_SITES)
    return jsonify(site_json(site)), 201, {"Location": url_for("sites.api_get", slug=site.slug)}


@bp.route("/api/v1/sites/<slug>", methods=["GET"])
@requires(Feature.SERVER_MANAGEMENT)
def api_get(slug: str) -> Response:
    return jsonify(site_json(get_site(get_session(), slug)))


@bp.route("/api/v1/sites/<slug>", methods=["PATCH"])
@requires(Feature.SERVER_MANAGEMENT)
def api_update(slug: str) -> Response:
    session = get_session()
    site = get_site(session, slug)
    data = json_body()
    update_site(session, site, data)
    commit_change(session, KIND_SITES)
    return jsonify(site_json(site))


@bp.route("/api/v1/sites/<slug>", methods=["DELETE"])
@requires(Feature.SERVER_MANAGEMENT)
def api_delete(slug: str) -> tuple[str, int]:
    session = get_session()
    delete_site(session, get_site(session, slug))
    commit_change(session, KIND_SITES)
    return "", 204


@bp.route("/api/v1/sites/<slug>/contacts", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def api_add_contact(slug: str) -> Response:
    session = get_session()
    site = get_site(session, slug)
    data = json_body()
    kind, added = add_to_site(session, site, data)
    commit_change(session, KIND_SITES)
    brief = contact_brief(added) if kind == "contact" else group_brief(added)  # type: ignore[arg-type]
    return jsonify({"added": {"type": kind, **brief}, "site": site_json(site)})


@bp.route("/api/v1/sites/<slug>/contacts/<int:contact_id>", methods=["DELETE"])
@requires(Feature.SERVER_MANAGEMENT)
def api_remove_contact(slug: str, contact_id: int) -> tuple[str, int]:
    session = get_session()
    remove_contact(session, get_site(session, slug), contact_id)
    commit_change(session, KIND_SITES)
    return "", 204


@bp.route("/api/v1/sites/<slug>/contact-groups/<int:group_id>", methods=["DELETE"])
@requires(Feature.SERVER_MANAGEMENT)
def api_remove_group(slug: str, group_id: int) -> tuple[str, int]:
    session = get_session()
    remove_group(session, get_site(session, slug), group_id)
    commit_change(session, KIND_SITES)
    return "", 204


@bp.route("/api/v1/sites/<slug>/probe", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def api_probe(slug: str) -> Response:
    session = get_session()
    outcome = probe_now(session, get_site(session, slug))
    return jsonify(outcome.to_json())
