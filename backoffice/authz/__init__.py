"""The one access checker: ``can(actor, action, obj)``, ``restrict(queryset, actor, action)`` and, for
services, ``require(actor, action, obj)``.

An :class:`Actor` is a user acting in one shop, with the set of actions they hold there and their
per-object scopes, loaded once per request in a constant number of queries. Platform code (the admin,
the integration API) and tasks act through :func:`system_actor`: every action, no scope, and the user
it acts for (if any) named in the audit trail. Services accept nothing else: a bare ``User`` raises
``TypeError``, so no caller can skip a check by leaving the actor out.

Per-object scopes are declared once per model in ``scope_paths`` ({scope key: lookup to the scoped
object's id}). A path that crosses a one-to-many relation is multi-valued: the object is in scope when
*any* of its related rows is (an order is in a warehouse scope when any of its allocations is);
``restrict`` tests it with ``EXISTS``, ``can`` with one ``.exists()`` query. Background jobs follow one
rule instead (:func:`job_visible_q`).

Everything else (DRF permission classes, view mixins, form choices, the ``{% can %}`` tag) calls these;
nothing calls ``user.has_perm``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from backoffice.authz.actions import ACTIONS, ALL_ACTIONS
from backoffice.authz.scopes import SCOPES
from backoffice.errors import Forbidden, NotFound


@dataclass
class Actor:
    user: Any
    shop: Any
    membership: Any | None
    permissions: frozenset[str]
    # scope key -> ids the member may touch; a key that is absent means "not limited".
    scopes: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def is_owner(self) -> bool:
        return bool(self.membership is not None and self.membership.is_owner)

    @property
    def is_system(self) -> bool:
        return False

    @property
    def audit_user(self):
        """The user to name in audit entries and timelines (None for an unattended task)."""
        return self.user if getattr(self.user, "pk", None) else None

    def __contains__(self, action: str) -> bool:
        return action in self.permissions


@dataclass
class SystemActor(Actor):
    """Platform code and tasks: every action in one shop, no scope. ``user`` is the platform staff user
    (admin actions) or the member who started the work (a job), or None for a scheduled task."""

    @property
    def is_system(self) -> bool:
        return True


def system_actor(shop, *, user=None) -> SystemActor:
    """The actor for platform code and tasks in ``shop`` (a Shop instance)."""
    if not isinstance(shop, tenant_model()):
        raise TypeError(f"system_actor() needs a {tenant_model().__name__}, not {type(shop).__name__}")
    return SystemActor(user=user, shop=shop, membership=None, permissions=ALL_ACTIONS, scopes={})


@functools.cache
def tenant_model() -> type[Model]:
    """The tenant model (``settings.TENANT_MODEL``, the shop), without the kernel importing its app."""
    return apps.get_model(settings.TENANT_MODEL)


class UnknownAction(KeyError):
    pass


def _check_known(action: str) -> None:
    if action not in ACTIONS:
        raise UnknownAction(action)


def _shop_pk_of(obj: object) -> int:
    if isinstance(obj, tenant_model()):
        return obj.pk
    shop_id = getattr(obj, "shop_id", None)
    if shop_id is None:
        raise TypeError(f"{type(obj).__name__} is neither shop-owned nor a shop: can() cannot place it in a shop")
    return shop_id


def can(actor: Actor | None, action: str, obj: object | None = None) -> bool:
    """May this actor do ``action`` in its shop (and on ``obj``, when given)?

    ``obj`` is a shop or a shop-owned row: another shop's answers False, anything else raises
    ``TypeError``. ``None`` for the actor (no member) answers False; any other non-actor raises.
    """
    _check_known(action)
    if actor is None:
        return False
    as_actor(actor, who="can()")
    if action not in actor.permissions:
        return False
    if obj is None:
        return True
    if _shop_pk_of(obj) != actor.shop.pk:
        return False
    return in_scope(actor, obj)


def in_scope(actor: Actor, obj: Model) -> bool:
    """Does ``obj`` lie inside the actor's per-object scopes (whatever the action)?"""
    model = type(obj)
    if getattr(model, "job_scope_field", None):
        return _job_visible(actor, obj)
    for path, allowed, hop in _limits(model, actor):
        if hop is None:
            value = obj.pk if path == "pk" else _follow(obj, path)
            if value not in allowed:
                return False
        else:
            related, link, rest = hop
            if not related._base_manager.filter(**{link: obj.pk, f"{rest}__in": allowed}).exists():
                return False
    return True


def _limits(model: type[Model], actor: Actor):
    """(path, allowed ids, many-hop or None) for each scope of ``model`` the actor is limited on."""
    for key, path in getattr(model, "scope_paths", {}).items():
        if key in actor.scopes:
            yield path, actor.scopes[key], _many_hop(model, path)


def _follow(obj: object, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


@functools.cache
def _many_hop(model: type[Model], path: str) -> tuple[type[Model], str, str] | None:
    """For a path whose first step is a one-to-many (or many-to-many) relation, (related model, its
    field back to ``model``, the rest of the path); None for a single-valued path."""
    if path == "pk":
        return None
    first, _sep, rest = path.partition("__")
    try:
        rel = model._meta.get_field(first)
    except FieldDoesNotExist:
        return None
    if not (rel.one_to_many or rel.many_to_many) or not rest:
        return None
    if rel.many_to_many:
        raise NotImplementedError(f"{model.__name__}.scope_paths: many-to-many path {path!r}")
    return rel.related_model, rel.field.name, rest


def _scope_q(model: type[Model], actor: Actor) -> Q:
    if getattr(model, "job_scope_field", None):
        return job_visible_q(model, actor)
    q = Q()
    for path, allowed, hop in _limits(model, actor):
        if hop is None:
            q &= Q(**{f"{path}__in": allowed})
        else:
            related, link, rest = hop
            subquery = related._base_manager.filter(**{link: OuterRef("pk"), f"{rest}__in": allowed})
            if any(f.name == "shop" for f in related._meta.fields):
                # Lets PostgreSQL use the (shop, ...) indexes of the related table.
                subquery = subquery.filter(shop_id=OuterRef("shop_id"))
            q &= Q(Exists(subquery))
    return q


def restrict(queryset: QuerySet, actor: Actor | None, action: str) -> QuerySet:
    """Narrow a shop-scoped queryset to the rows ``actor`` may use for ``action``."""
    _check_known(action)
    if actor is None:
        return queryset.none()
    as_actor(actor, who="restrict()")
    if action not in actor.permissions:
        return queryset.none()
    model = queryset.model
    queryset = queryset.filter(pk=actor.shop.pk) if model is tenant_model() else queryset.filter(shop_id=actor.shop.pk)
    if actor.scopes:
        queryset = queryset.filter(_scope_q(model, actor))
    return queryset


# ---------------------------------------------------------------------------------------------
# background jobs (imports, exports, reports): one visibility rule


def job_scope_of(actor: Actor) -> dict[str, list[int]]:
    """What a job started by ``actor`` records as its scope: the ids of every scope they are limited on."""
    return {key: sorted(ids) for key, ids in actor.scopes.items()}


def job_visible_q(model: type[Model], actor: Actor) -> Q:
    """A member limited by scope sees the jobs they started, and the jobs whose recorded scope lies
    within theirs on every key they are limited on (an unlimited member's job records no scope, so it
    is never shown to a limited one: its rows may cover any warehouse or category).

    The containment test needs PostgreSQL's jsonb ``<@``; elsewhere (the embedded default) a limited
    member sees only their own jobs, which fails closed."""
    own = Q(created_by_id=getattr(actor.user, "pk", None))
    if not actor.scopes:
        return Q()
    if connection.vendor != "postgresql":
        return own
    field_name = model.job_scope_field
    within = Q()
    for key, ids in actor.scopes.items():
        within &= Q(**{f"{field_name}__{key}__contained_by": sorted(ids)})
    return own | within


def _job_visible(actor: Actor, job) -> bool:
    if not actor.scopes:
        return True
    if job.created_by_id == getattr(actor.user, "pk", None):
        return True
    recorded = getattr(job, job.job_scope_field) or {}
    return all(key in recorded and set(recorded[key]) <= set(ids) for key, ids in actor.scopes.items())


# ---------------------------------------------------------------------------------------------
# for services


def as_actor(actor: object, *, who: str = "services") -> Actor:
    """``actor`` itself when it is an :class:`Actor`; anything else (a bare ``User``, None) is a
    programming error: ``TypeError``. The one place this rule is written."""
    if not isinstance(actor, Actor):
        raise TypeError(f"{who} need an Actor (a member's, or system_actor()), not {type(actor).__name__}")
    return actor


def require(actor: Actor, action: str, obj: object | None = None, *, message: str | None = None) -> Actor:
    """A service's own check of its action: the actor must be an :class:`Actor` (``TypeError``
    otherwise, a programming error), another shop's object is ``NotFound``, and an action the actor
    does not hold, or an object outside their scope, is ``Forbidden``. Returns the actor."""
    as_actor(actor)
    _check_known(action)
    if obj is not None and _shop_pk_of(obj) != actor.shop.pk:
        raise NotFound(_("Not found."))
    if action not in actor.permissions:
        raise Forbidden(message or _("You do not have permission to do this."))
    if obj is not None and not in_scope(actor, obj):
        raise Forbidden(message or _("This is outside your scope."), code="out_of_scope")
    return actor


def in_shop(actor: Actor, *objs: object) -> None:
    """Every object given (None skipped) belongs to the actor's shop, else ``NotFound``."""
    for obj in objs:
        if obj is not None and _shop_pk_of(obj) != actor.shop.pk:
            raise NotFound(_("Not found."))


# ---------------------------------------------------------------------------------------------
# loading a member's actor


@functools.cache
def _access_reader():
    return import_string(settings.AUTHZ_ACCESS_READER)


@functools.cache
def two_factor_required():
    """``settings.AUTHZ_TWO_FACTOR_REQUIRED``: actor -> must this member enrol in 2FA before going on?"""
    return import_string(settings.AUTHZ_TWO_FACTOR_REQUIRED)


def load_actor(user, shop) -> Actor | None:
    """The actor for ``user`` in ``shop`` (a Shop or its pk), or None if they are not an active member.

    Served from the access cache (``backoffice.authz.cache``) when it is current; otherwise the app
    named by ``settings.AUTHZ_ACCESS_READER`` reads the membership, its permissions and scopes (one
    query, plus one for a role's grants and one per limited scope type).
    """
    from backoffice.authz import cache as access_cache

    if not (user and user.is_authenticated and user.is_active):
        return None
    shop_id = getattr(shop, "pk", shop)
    entry = access_cache.membership_for(user, shop_id, lambda: _access_reader()(user_id=user.pk, shop_id=shop_id))
    if entry is None:
        return None
    membership, permissions, scopes = entry
    membership.user = user
    if not isinstance(shop, int):
        membership.shop = shop
    return Actor(user=user, shop=membership.shop, membership=membership, permissions=permissions, scopes=scopes)


__all__ = [
    "Actor",
    "as_actor",
    "SystemActor",
    "system_actor",
    "can",
    "restrict",
    "require",
    "in_shop",
    "in_scope",
    "load_actor",
    "job_scope_of",
    "job_visible_q",
    "tenant_model",
    "two_factor_required",
    "SCOPES",
]
