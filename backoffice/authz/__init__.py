"""The one access checker: ``can(actor, action, obj)`` and ``restrict(queryset, actor, action)``.

An :class:`Actor` is a user acting in one shop, with the set of actions they hold there and
their per-object scopes, loaded once per request in a constant number of queries.
Everything else (DRF permission classes, view mixins, form choices, the ``{% can %}`` tag)
calls these; nothing calls ``user.has_perm``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from backoffice.authz.catalog import ACTIONS, ALL_ACTIONS
from backoffice.authz.scopes import SCOPES


@dataclass
class Actor:
    user: object
    shop: object
    membership: object | None
    permissions: frozenset[str]
    # scope key -> ids the member may touch; a key that is absent means "not limited".
    scopes: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def is_owner(self) -> bool:
        return bool(self.membership is not None and self.membership.is_owner)

    def __contains__(self, action: str) -> bool:
        return action in self.permissions


class UnknownAction(KeyError):
    pass


def _check_known(action: str) -> None:
    if action not in ACTIONS:
        raise UnknownAction(action)


def can(actor: Actor | None, action: str, obj: object | None = None) -> bool:
    """May this actor do ``action`` in its shop (and on ``obj``, when given)?"""
    _check_known(action)
    if actor is None or action not in actor.permissions:
        return False
    if obj is None:
        return True
    if getattr(obj, "shop_id", actor.shop.pk) != actor.shop.pk:
        return False
    for key, path in getattr(type(obj), "scope_paths", {}).items():
        if key in actor.scopes:
            value = obj.pk if path == "pk" else _follow(obj, path)
            if value not in actor.scopes[key]:
                return False
    return True


def _follow(obj: object, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


def restrict(queryset: QuerySet, actor: Actor | None, action: str) -> QuerySet:
    """Narrow a shop-scoped queryset to the rows ``actor`` may use for ``action``."""
    _check_known(action)
    if actor is None or action not in actor.permissions:
        return queryset.none()
    queryset = queryset.filter(shop_id=actor.shop.pk)
    for key, path in getattr(queryset.model, "scope_paths", {}).items():
        if key in actor.scopes:
            queryset = queryset.filter(**{f"{path}__in": actor.scopes[key]})
    return queryset


def load_actor(user, shop) -> Actor | None:
    """The actor for ``user`` in ``shop`` (a Shop or its pk), or None if they are not an active member.

    Served from the access cache (``backoffice.authz.cache``) when it is current; otherwise one query
    reads the membership with its shop and role, and a member holding a role pays one more for its
    grants, plus one per limited scope type. A membership past its ``expires_at`` no longer counts,
    even before the expiry task deactivates it.
    """
    from backoffice.authz import cache

    if not (user and user.is_authenticated and user.is_active):
        return None
    shop_id = getattr(shop, "pk", shop)
    entry = cache.membership_for(user, shop_id, lambda: _read_access(user.pk, shop_id))
    if entry is None:
        return None
    membership, permissions, scopes = entry
    membership.user = user
    if not isinstance(shop, int):
        membership.shop = shop
    return Actor(user=user, shop=membership.shop, membership=membership, permissions=permissions, scopes=scopes)


def _read_access(user_id: int, shop_id: int) -> tuple | None:
    from django.db.models import Q
    from django.utils import timezone

    from accounts.models import Membership
    from accounts.selectors import member_permissions, member_scopes

    membership = (
        Membership.unscoped.select_related("shop", "role")
        .filter(shop_id=shop_id, user_id=user_id, is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if membership is None:
        return None
    if membership.is_owner:
        return membership, ALL_ACTIONS, {}
    return membership, member_permissions(membership), member_scopes(membership)


__all__ = ["Actor", "can", "restrict", "load_actor", "SCOPES"]
