"""Role-based access: the feature matrix of REQUIREMENTS.md as one table, the one
decorator that enforces it on every page and API endpoint, the escalation rule, and
a registry of (endpoint, rule, methods, access) that the tests are generated from.

Every view function is decorated with exactly one of:

* ``@requires(Feature.X)`` -- a feature of the matrix. Pages take the flask-login
  session user (anonymous: redirect to the login page); ``/api/`` endpoints take a
  bearer token (anonymous: 401) and additionally need :attr:`Feature.API_ACCESS`,
  since only those roles may use the API at all.
* ``@authenticated`` -- any signed-in user (log out, change one's own password).
* ``@public`` -- no user needed (log in, health check, token issue).

:func:`unmapped_endpoints` lists views carrying none of them; a test keeps it empty,
so a new blueprint cannot forget its access rule. Blueprints need nothing else: the
registry is read from the app's URL map.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, g, request

from admin_app.roles import Feature, Role

F = TypeVar("F", bound=Callable[..., Any])

_A = Feature  # short alias for the table below

# The feature matrix of REQUIREMENTS.md ("Role-based access"), row by row.
MATRIX: dict[Role, frozenset[Feature]] = {
    Role.ADMIN: frozenset(Feature),
    Role.IT_STAFF: frozenset(
        {
            _A.USER_MANAGEMENT,
            _A.SERVER_MANAGEMENT,
            _A.REAL_TIME_STATUS,
            _A.SERVER_LOGS,
            _A.ALERTS,
            _A.REPORTS,
            _A.ADMIN_DASHBOARD,
            _A.SYSTEM_SETTINGS,
        }
    ),
    Role.DEVELOPER: frozenset(Feature),
    Role.CUSTOMER_ENGAGEMENT: frozenset({_A.REAL_TIME_STATUS, _A.ALERTS, _A.REPORTS}),
    Role.FLEXIPAY_SUPPORT: frozenset({_A.REAL_TIME_STATUS, _A.ALERTS, _A.REPORTS}),
    Role.EBANKING_SUPPORT: frozenset(
        {
            _A.USER_MANAGEMENT,
            _A.SERVER_MANAGEMENT,
            _A.REAL_TIME_STATUS,
            _A.SERVER_LOGS,
            _A.ALERTS,
            _A.REPORTS,
            _A.ADMIN_DASHBOARD,
            _A.SYSTEM_SETTINGS,
        }
    ),
}

PUBLIC = "public"
AUTHENTICATED = "authenticated"
Access = Feature | str  # a Feature, PUBLIC or AUTHENTICATED

API_PREFIXES = ("/api/",)
_ACCESS_ATTR = "_upwatch_access"
_IMPLICITLY_PUBLIC = {"static"}


# --------------------------------------------------------------------------- the table


def features_of(role: Role | str) -> frozenset[Feature]:
    try:
        return MATRIX[Role(role)]
    except ValueError:
        return frozenset()


def has_feature(role: Role | str, feature: Feature) -> bool:
    return feature in features_of(role)


def missing_features(actor_role: Role | str, target_role: Role | str) -> list[Feature]:
    """Features the target role holds and the actor's role lacks, in table order."""
    mine = features_of(actor_role)
    return [f for f in Feature if f in features_of(target_role) and f not in mine]


def may_grant(actor_role: Role | str, target_role: Role | str) -> bool:
    """The escalation rule: nobody gives a role holding a permission they lack."""
    return not missing_features(actor_role, target_role)


def may_manage(actor_role: Role | str, target_role: Role | str) -> bool:
    """Nobody edits or deletes a user whose role holds a permission they lack."""
    return not missing_features(actor_role, target_role)


def grantable_roles(actor_role: Role | str) -> list[Role]:
    return [r for r in Role if may_grant(actor_role, r)]


def required_access(endpoint: str, method: str, app: Flask) -> Access | None:
    """The access rule of the view behind ``endpoint`` (None: not mapped)."""
    if endpoint in _IMPLICITLY_PUBLIC or endpoint.endswith(".static"):
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return access_of(view) if view is not None else None


def access_of(view: Callable[..., Any]) -> Access | None:
    while view is not None:
        access = getattr(view, _ACCESS_ATTR, None)
        if access is not None:
            return access
        view = getattr(view, "__wrapped__", None)
    return None


def can_access(role: Role | str | None, access: Access) -> bool:
    """Whether a user of ``role`` (None: anonymous) may use a view with ``access``."""
    if access == PUBLIC:
        return True
    if role is None:
        return False
    if access == AUTHENTICATED:
        return True
    return has_feature(role, Feature(access))


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIXES)


# --------------------------------------------------------------------------- decorators


def _mark(view: F, access: Access) -> F:
    setattr(view, _ACCESS_ATTR, access)
    return view


def public(view: F) -> F:
    """No user needed."""
    return _mark(view, PUBLIC)


def authenticated(view: F) -> F:
    """Any signed-in user (session for pages, bearer token with API Access for the API)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _resolve_actor(None)
        return view(*args, **kwargs)

    return _mark(wrapper, AUTHENTICATED)  # type: ignore[return-value]


def requires(feature: Feature) -> Callable[[F], F]:
    """Allow the view only to users whose role holds ``feature``."""
    feature = Feature(feature)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _resolve_actor(feature)
            return view(*args, **kwargs)

        return _mark(wrapper, feature)  # type: ignore[return-value]

    return decorator


def _resolve_actor(feature: Feature | None) -> None:
    """Authenticate the request and check ``feature``; raise on failure, else set
    ``g.actor`` to the user."""
    from admin_app.errors import AppError, Forbidden

    if is_api_request():
        from admin_app.auth.tokens import bearer_user

        user = bearer_user()  # raises a 401 AppError when missing or invalid
        if not has_feature(user.role, Feature.API_ACCESS):
            raise Forbidden(f"the role {Role(user.role).label!r} has no API access")
    else:
        from flask_login import current_user

        if not current_user.is_authenticated:
            raise AppError(401, "unauthorized", "Please log in to see this page.")
        user = current_user._get_current_object()
    if feature is not None and not has_feature(user.role, feature):
        raise Forbidden(
            f"the role {Role(user.role).label!r} does not have the "
            f"{feature.label!r} permission needed here"
        )
    g.actor = user


def current_actor() -> Any:
    """The user the request was authenticated as (set by the decorators)."""
    return g.actor


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class EndpointAccess:
    endpoint: str
    rule: str
    methods: tuple[str, ...]
    access: Access
    api: bool

    @property
    def arguments(self) -> tuple[str, ...]:
        return tuple(sorted(_rule_args(self.rule)))


def _rule_args(rule: str) -> set[str]:
    import re

    return {m.group(1) for m in re.finditer(r"<(?:[^:<>]+:)?([^<>]+)>", rule)}


def endpoint_registry(app: Flask) -> list[EndpointAccess]:
    """Every (endpoint, rule, methods, access) of the app, sorted by rule. Views with
    no access rule are left out: see :func:`unmapped_endpoints`."""
    out: list[EndpointAccess] = []
    for rule in app.url_map.iter_rules():
        access = required_access(rule.endpoint, "GET", app)
        if access is None:
            continue
        methods = tuple(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        out.append(
            EndpointAccess(
                endpoint=rule.endpoint,
                rule=rule.rule,
                methods=methods,
                access=access,
                api=rule.rule.startswith(API_PREFIXES),
            )
        )
    return sorted(out, key=lambda e: (e.rule, e.endpoint))


def unmapped_endpoints(app: Flask) -> list[str]:
    """Endpoints whose view has no access rule (should be empty)."""
    return sorted(
        {
            r.endpoint
            for r in app.url_map.iter_rules()
            if required_access(r.endpoint, "GET", app) is None
        }
    )
