"""Site pages: the list (with the configuration status), create, the site's page
(its contacts and groups, "test now"), edit, delete, pause/resume and maintenance
on/off, and adding or removing contacts and groups."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_app.contacts.commit import KIND_SITES, commit_change
from admin_app.contacts.service import all_contacts, all_groups
from admin_app.contacts.views import contact_form_data
from admin_app.db import get_session
from admin_app.errors import AppError, ValidationError
from admin_app.models import Site
from admin_app.rbac import requires
from admin_app.roles import Feature
from admin_app.sites import bp
from admin_app.sites.config_status import current_status
from admin_app.sites.forms import blank_values, form_to_data, input_errors, raw_values, site_values
from admin_app.sites.probe import ProbeOutcome
from admin_app.sites.service import (
    add_to_site,
    all_sites,
    create_site,
    delete_site,
    get_site,
    remove_contact,
    remove_group,
    set_flag,
    update_site,
)
from admin_app.sites.testnow import probe_now

Page = Response | str | tuple[str, int]
BLANK_CONTACT = {"name": "", "email": "", "phone": "", "wants_email": True, "wants_sms": False}


def _site(slug: str) -> Site:
    return get_site(get_session(), slug)


@bp.route("/sites")
@requires(Feature.SERVER_MANAGEMENT)
def index() -> str:
    return render_template(
        "sites/list.html",
        rows=[(s, site_values(s)) for s in all_sites(get_session())],
        config_status=current_status(current_app),
    )


# --------------------------------------------------------------------------- the form


def _render_form(site: Site | None, values: dict[str, Any], err: AppError | None) -> Page:
    page = render_template(
        "sites/form.html",
        site=site,
        values=values,
        error=err.message if err else None,
        field_errors=input_errors(err.fields) if err else {},
    )
    return (page, err.status) if err else page


def _submitted() -> dict[str, Any]:
    data, errors = form_to_data(request.form)
    if errors:
        raise ValidationError(errors)
    return data


@bp.route("/sites/new", methods=["GET", "POST"])
@requires(Feature.SERVER_MANAGEMENT)
def create() -> Page:
    if request.method == "GET":
        return _render_form(None, blank_values(), None)
    session = get_session()
    try:
        site = create_site(session, _submitted())
        commit_change(session, KIND_SITES)
    except AppError as err:
        session.rollback()
        return _render_form(None, raw_values(request.form), err)
    flash(f"Site {site.name or site.slug!r} created.", "success")
    return redirect(url_for("sites.detail", slug=site.slug))


@bp.route("/sites/<slug>/edit", methods=["GET", "POST"])
@requires(Feature.SERVER_MANAGEMENT)
def edit(slug: str) -> Page:
    site = _site(slug)
    if request.method == "GET":
        return _render_form(site, site_values(site), None)
    session = get_session()
    try:
        update_site(session, site, _submitted(), replace=True)
        commit_change(session, KIND_SITES)
    except AppError as err:
        session.rollback()
        return _render_form(site, raw_values(request.form), err)
    flash(f"Site {site.name or site.slug!r} saved.", "success")
    return redirect(url_for("sites.detail", slug=site.slug))


@bp.route("/sites/<slug>/delete", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def delete(slug: str) -> Response:
    session = get_session()
    site = _site(slug)
    label = site.name or site.slug
    delete_site(session, site)
    commit_change(session, KIND_SITES)
    flash(f"Site {label!r} deleted.", "success")
    return redirect(url_for("sites.index"), code=303)


# --------------------------------------------------------------------------- the site page


def _render_detail(
    site: Site,
    err: AppError | None = None,
    probe: ProbeOutcome | None = None,
    probe_error: AppError | None = None,
    contact_values: dict[str, Any] | None = None,
) -> Page:
    session = get_session()
    page = render_template(
        "sites/detail.html",
        site=site,
        values=site_values(site),
        contacts=all_contacts(session),
        groups=all_groups(session),
        contact_values=contact_values or BLANK_CONTACT,
        error=err.message if err else None,
        field_errors=err.fields if err else {},
        probe=probe,
        probe_error=probe_error,
    )
    status = err.status if err else probe_error.status if probe_error else 200
    return page, status


@bp.route("/sites/<slug>")
@requires(Feature.SERVER_MANAGEMENT)
def detail(slug: str) -> Page:
    return _render_detail(_site(slug))


def _set_flag(slug: str, flag: str, on: str, off: str) -> Page:
    session = get_session()
    site = _site(slug)
    try:
        set_flag(session, site, flag, request.form.get(flag))
        commit_change(session, KIND_SITES)
    except AppError as err:
        session.rollback()
        return _render_detail(site, err)
    flash(f"Site {site.name or site.slug!r} {on if getattr(site, flag) else off}.", "success")
    if request.form.get("back") == "list":
        return redirect(url_for("sites.index"), 303)
    return redirect(url_for("sites.detail", slug=site.slug), 303)


@bp.route("/sites/<slug>/pause", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def pause(slug: str) -> Page:
    return _set_flag(slug, "paused", "paused: it is no longer probed", "resumed")


@bp.route("/sites/<slug>/maintenance", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def maintenance(slug: str) -> Page:
    return _set_flag(
        slug,
        "maintenance",
        "is in maintenance: still probed, but nobody is paged",
        "is out of maintenance",
    )


def _add_request() -> tuple[dict[str, Any], dict[str, Any] | None]:
    kind = request.form.get("kind", "")
    if kind == "new":
        contact = contact_form_data(request.form, "contact.")
        return {"contact": contact}, contact
    if kind == "group":
        return {"group_id": request.form.get("group_id", "")}, None
    return {"contact_id": request.form.get("contact_id", "")}, None


@bp.route("/sites/<slug>/contacts", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def add_contact(slug: str) -> Page:
    session = get_session()
    site = _site(slug)
    data, typed = _add_request()
    try:
        kind, added = add_to_site(session, site, data)
        commit_change(session, KIND_SITES)
    except AppError as err:
        session.rollback()
        return _render_detail(site, err, contact_values=typed)
    what = "Contact group" if kind == "group" else "Contact"
    flash(f"{what} {added.name!r} added to {site.name or site.slug!r}.", "success")
    return redirect(url_for("sites.detail", slug=site.slug), code=303)


@bp.route("/sites/<slug>/contacts/<int:contact_id>/remove", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def remove_site_contact(slug: str, contact_id: int) -> Response:
    session = get_session()
    site = _site(slug)
    remove_contact(session, site, contact_id)
    commit_change(session, KIND_SITES)
    flash("Contact removed from the site.", "success")
    return redirect(url_for("sites.detail", slug=site.slug), code=303)


@bp.route("/sites/<slug>/groups/<int:group_id>/remove", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def remove_site_group(slug: str, group_id: int) -> Response:
    session = get_session()
    site = _site(slug)
    remove_group(session, site, group_id)
    commit_change(session, KIND_SITES)
    flash("Contact group removed from the site.", "success")
    return redirect(url_for("sites.detail", slug=site.slug), code=303)


@bp.route("/sites/<slug>/probe", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def probe(slug: str) -> Page:
    site = _site(slug)
    try:
        outcome = probe_now(get_session(), site)
    except AppError as err:
        return _render_detail(site, probe_error=err)
    return _render_detail(site, probe=outcome)
