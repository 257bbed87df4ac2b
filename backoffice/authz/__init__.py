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
    """The actor for ``user`` in ``shop``, or None if they are not an active member."""
    from accounts.models import Membership
    from accounts.selectors import member_permissions, member_scopes

    membership = (
        Membership.objects.for_shop(shop).select_related("role", "user").filter(user=user, is_active=True).first()
    )
    if membership is None or not user.is_active:
        return None
    membership.shop = shop
    if membership.is_owner:
        return Actor(user=user, shop=shop, membership=membership, permissions=ALL_ACTIONS)
    return Actor(
        user=user,
        shop=shop,
        membership=membership,
        permissions=member_permissions(membership),
        scopes=member_scopes(membership),
    )


__all__ = ["Actor", "can", "restrict", "load_actor", "SCOPES"]
