"""The one table of shop-scoped routes: every URL under /api/v1/shops/{shop}/ and /shops/{shop}/,
with the catalog action it needs and a request that succeeds for a member holding that action.

The permission matrix and the tenant-isolation sweep are both driven from it, and both fail when
the URL resolver knows a shop route that this table does not.
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import services
from accounts.models import (
    Membership,
    Notification,
    NotificationPreference,
    Role,
    Shop,
    ShopGroupObjectPermission,
)
from accounts.services.notifications import Notice
from backoffice.authz import load_actor, system_actor
from backoffice.authz.actions import ROLE_TEMPLATES
from tests.fixtures import make_member, make_shop, owner_actor

ANY_MEMBER = "any member"
_seq = itertools.count(1)


@dataclass
class World:
    """A shop with one member per role, plus objects the probes act on."""

    shop: Shop
    members: dict[str, Membership]
    target: Membership  # a viewer under the admin: every staff manager may manage it
    inactive_target: Membership
    custom_role: Role
    # Objects that domain apps add for their probes (see ``<app>/tests/probes.py``), by name.
    objects: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str = "World") -> World:
        shop = make_shop(name)
        members = {key: make_member(shop, key) for key in ROLE_TEMPLATES}
        members["owner"] = Membership.objects.for_shop(shop).get(is_owner=True)
        admin = load_actor(members["admin"].user, shop)
        target = make_member(shop, "viewer", actor=admin)
        inactive = make_member(shop, "viewer", actor=admin)
        services.staff_deactivate(actor=admin, membership=inactive)
        custom = services.role_create(actor=owner_actor(shop), name="Packer", permissions=["orders.view"])
        world = cls(shop=shop, members=members, target=target, inactive_target=inactive, custom_role=custom)
        # One unread notification each, so "mark read" has something to change for every member.
        notices = [Notice(recipient=m.user, kind="member_expiring", title="Probe notice") for m in members.values()]
        services.notifications_send(actor=system_actor(shop), notices=notices, email=False)
        for module in app_probe_modules():
            if hasattr(module, "extend_world"):
                module.extend_world(world)
        return world


@dataclass
class Probe:
    """One request to one shop route, and what it must do for a member allowed to make it.

    ``effect`` reads the rows the request is about (``count_of``, ``fields_of``): an allowed request must
    change that reading and a refused one must leave it as it was, so an action that answers its status
    but does nothing fails the matrix. Every write probe declares one. ``refs`` names the places in the
    body that hold another object of the shop (dotted paths into the body; ``key:<prefix>`` for a form
    field named ``<prefix><id>``): the isolation sweep puts another shop's object there, one at a time.
    ``reads_only`` marks a POST that writes nothing (a quote: a cart is a body, not a query string): it needs
    no effect, and its refs still go through the sweep."""

    route: str  # URL name with namespaces
    method: str
    action: str  # catalog action, or ANY_MEMBER
    ok: int  # status when allowed
    kwargs: Callable[[World], dict] = lambda w: {}
    body: Callable[[World], dict] = lambda w: {}
    api: bool = True
    label: str = ""
    multipart: bool = False  # the API body goes as multipart/form-data (file uploads)
    effect: Callable[[World], Any] | None = None
    refs: tuple[str, ...] = ()
    reads_only: bool = False

    @property
    def id(self) -> str:
        return f"{'api' if self.api else 'ui'}:{self.route}:{self.method}{(':' + self.label) if self.label else ''}"

    @property
    def writes(self) -> bool:
        return self.method != "get" and not self.reads_only

    def url(self, world: World, shop: Shop | None = None) -> str:
        return reverse(self.route, kwargs={"shop": (shop or world.shop).pk, **self.kwargs(world)})


def count_of(model, **filters) -> Callable[[World], int]:
    """Effect: how many rows of ``model`` the world's shop has."""
    return lambda w: model.objects.for_shop(w.shop).filter(**filters).count()


def fields_of(model, pick: Callable[[World], Any], *fields: str) -> Callable[[World], Any]:
    """Effect: the named fields of one row (``pick`` gives the world's object), read from the database."""
    return lambda w: list(model.objects.for_shop(w.shop).filter(pk=pick(w).pk).values_list(*fields))


def role_grants(pick: Callable[[World], Role]) -> Callable[[World], list]:
    """Effect: the permissions a role's group holds on the shop."""
    return lambda w: sorted(
        ShopGroupObjectPermission.objects.filter(content_object=w.shop, group_id=pick(w).group_id).values_list(
            "permission__codename", flat=True
        )
    )


def shop_fields(*fields: str) -> Callable[[World], Any]:
    return lambda w: list(Shop.objects.filter(pk=w.shop.pk).values_list(*fields))


def unread_notifications(w: World) -> list:
    return list(Notification.objects.for_shop(w.shop).filter(read_at__isnull=True).order_by("id").values_list("id"))


def notification_choices(w: World) -> list:
    return list(
        NotificationPreference.objects.for_shop(w.shop)
        .order_by("user_id", "kind")
        .values_list("user_id", "kind", "in_app", "email")
    )


def _new_staff(w: World) -> dict:
    n = next(_seq)
    return {"username": f"probe{n}", "email": f"probe{n}@example.com", "password": "s3cret-Pass-1", "role": "viewer",
            "manager": w.members["admin"].pk}  # fmt: skip


def _new_staff_form(w: World) -> dict:
    data = _new_staff(w)
    data["role"] = str(Role.objects.for_shop(w.shop).get(key="viewer").pk)
    data["manager"] = str(w.members["admin"].pk)
    return data


def _staff_edit_form(w: World) -> dict:
    return {"email": "changed@example.com", "role": str(Role.objects.for_shop(w.shop).get(key="support").pk)}


def _target(w: World) -> Membership:
    return w.target


def _inactive(w: World) -> Membership:
    return w.inactive_target


def _custom(w: World) -> Role:
    return w.custom_role


def _member_state(pick: Callable[[World], Membership]) -> Callable[[World], Any]:
    return lambda w: list(
        Membership.objects.for_shop(w.shop)
        .filter(pk=pick(w).pk)
        .values_list("is_active", "role_id", "manager_id", "user__email", "user__is_active")
    )


API = "api:accounts_api:"
UI = "accounts:"
PROBES: list[Probe] = [
    # REST API
    Probe(API + "shop", "get", ANY_MEMBER, 200),
    Probe(API + "shop", "patch", "accounts.manage_settings", 200, body=lambda w: {"return_window_days": 21},
          effect=shop_fields("return_window_days")),
    Probe(API + "staff-list", "get", "accounts.manage_staff", 200),
    Probe(API + "staff-list", "post", "accounts.manage_staff", 201, body=_new_staff, effect=count_of(Membership),
          refs=("manager",)),
    Probe(API + "staff-detail", "get", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(API + "staff-detail", "patch", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk},
          body=lambda w: {"role": "support", "manager": w.members["admin"].pk}, effect=_member_state(_target),
          refs=("manager",)),
    Probe(API + "staff-detail", "put", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk},
          body=lambda w: {"email": "put@example.com"}, effect=_member_state(_target)),
    Probe(API + "staff-deactivate", "post", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk},
          effect=_member_state(_target)),
    Probe(API + "staff-reactivate", "post", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.inactive_target.pk},
          effect=_member_state(_inactive)),
    Probe(API + "staff-access", "get", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(API + "roles-list", "get", "accounts.manage_staff", 200),
    Probe(API + "roles-list", "post", "accounts.manage_staff", 201,
          body=lambda w: {"name": f"Role {next(_seq)}", "permissions": ["orders.view"]}, effect=count_of(Role)),
    Probe(API + "roles-detail", "get", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.custom_role.pk}),
    Probe(API + "roles-detail", "patch", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.custom_role.pk},
          body=lambda w: {"permissions": ["orders.view", "catalog.view"]}, effect=role_grants(_custom)),
    Probe(API + "audit-log-list", "get", "accounts.view_audit", 200),
    Probe(API + "audit-log-export", "get", "accounts.view_audit", 200),
    Probe(API + "notifications-list", "get", ANY_MEMBER, 200),
    Probe(API + "notifications-read", "post", ANY_MEMBER, 200, body=lambda w: {}, effect=unread_notifications),
    Probe(API + "notifications-preferences", "get", ANY_MEMBER, 200),
    Probe(API + "notifications-preferences", "put", ANY_MEMBER, 200,
          body=lambda w: {"preferences": [{"kind": "member_expiring", "email": False}]}, effect=notification_choices),
    # Browser pages
    Probe(UI + "dashboard", "get", ANY_MEMBER, 200, api=False),
    Probe(UI + "staff_list", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "staff_create", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "staff_create", "post", "accounts.manage_staff", 302, api=False, body=_new_staff_form,
          effect=count_of(Membership), refs=("role", "manager")),
    Probe(UI + "staff_detail", "get", "accounts.manage_staff", 200, api=False, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(UI + "staff_detail", "post", "accounts.manage_staff", 302, api=False, kwargs=lambda w: {"pk": w.target.pk},
          body=_staff_edit_form, effect=_member_state(_target), refs=("role",)),
    Probe(UI + "staff_deactivate", "get", "accounts.manage_staff", 200, api=False, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(UI + "staff_deactivate", "post", "accounts.manage_staff", 302, api=False, kwargs=lambda w: {"pk": w.target.pk},
          effect=_member_state(_target)),
    Probe(UI + "staff_reactivate", "post", "accounts.manage_staff", 302, api=False,
          kwargs=lambda w: {"pk": w.inactive_target.pk}, effect=_member_state(_inactive)),
    Probe(UI + "role_list", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "role_create", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "role_create", "post", "accounts.manage_staff", 302, api=False,
          body=lambda w: {"name": f"Role {next(_seq)}", "permissions": ["orders.view"]}, effect=count_of(Role)),
    Probe(UI + "role_edit", "get", "accounts.manage_staff", 200, api=False, kwargs=lambda w: {"pk": w.custom_role.pk}),
    Probe(UI + "role_edit", "post", "accounts.manage_staff", 302, api=False, kwargs=lambda w: {"pk": w.custom_role.pk},
          body=lambda w: {"name": "Packer", "permissions": ["orders.view", "catalog.view"]},
          effect=role_grants(_custom)),
    Probe(UI + "audit_log", "get", "accounts.view_audit", 200, api=False),
    Probe(UI + "member_activity", "get", "accounts.view_audit", 200, api=False, kwargs=lambda w: {"member": w.target.pk}),
    Probe(UI + "notifications", "get", ANY_MEMBER, 200, api=False),
    Probe(UI + "notifications", "post", ANY_MEMBER, 302, api=False, effect=unread_notifications),
    Probe(UI + "notification_preferences", "get", ANY_MEMBER, 200, api=False),
    Probe(UI + "notification_preferences", "post", ANY_MEMBER, 302, api=False, effect=notification_choices),
    Probe(UI + "shop_settings", "get", "accounts.manage_settings", 200, api=False),
    Probe(UI + "shop_settings", "post", "accounts.manage_settings", 302, api=False,
          body=lambda w: {"name": w.shop.name, "currency": "RUB", "timezone": "UTC", "language": "en",
                          "low_stock_default": 3, "return_window_days": 30, "auto_confirm_orders": "on"},
          effect=shop_fields("return_window_days", "low_stock_default")),
]  # fmt: skip


def send(client, probe: Probe, world: World, shop: Shop | None = None, body: dict | None = None):
    url = probe.url(world, shop)
    body = probe.body(world) if body is None else body
    if probe.api:
        return getattr(client, probe.method)(url, body, format="multipart" if probe.multipart else "json")
    return getattr(client, probe.method)(url, body) if probe.method == "post" else client.get(url)


# Routes that are not a shop member's, each tested where the comment says. Every other route of the URL
# resolver must have a probe for each of its methods (tests/test_permission_matrix.py fails otherwise).
NON_MEMBER_ROUTES: dict[str, str] = {
    "api:payouts_api:platform-withdrawals-list": "payouts/tests/test_withdrawals.py (platform staff decide withdrawals)",
    "api:payouts_api:platform-withdrawals-detail": "payouts/tests/test_withdrawals.py",
    "api:payouts_api:platform-withdrawals-approve": "payouts/tests/test_withdrawals.py",
    "api:payouts_api:platform-withdrawals-pay": "payouts/tests/test_withdrawals.py",
    "api:payouts_api:platform-withdrawals-fail": "payouts/tests/test_withdrawals.py",
    "home": "accounts/tests/test_web.py (redirects to the member's shop)",
    "favicon": "a redirect to a static file",
    "set_language": "Django's own view",
    "schema": "tests/test_api_fuzz.py", "api-docs": "tests/test_api_fuzz.py",
    "accounts:login": "accounts/tests/test_web.py", "accounts:login_otp": "accounts/tests/test_web.py",
    "accounts:logout": "accounts/tests/test_web.py", "accounts:signup": "accounts/tests/test_web.py",
    "accounts:reauth": "accounts/tests/test_security_hardening.py", "accounts:security": "accounts/tests/test_web.py",
    "accounts:open_shop": "accounts/tests/test_web.py",
    "accounts:sessions_end_others": "accounts/tests/test_sessions_page.py",
    "accounts:password_choose": "accounts/tests/test_staff_pages_first_login.py",
    "api:accounts_api:signup": "accounts/tests/test_api.py", "api:accounts_api:token": "accounts/tests/test_api.py",
    "api:accounts_api:reauth": "accounts/tests/test_security_hardening.py",
    "api:accounts_api:me": "accounts/tests/test_api.py", "api:accounts_api:password": "accounts/tests/test_api.py",
    "api:accounts_api:my-tokens": "accounts/tests/test_api.py", "api:accounts_api:my-token": "accounts/tests/test_api.py",
    "api:accounts_api:my-sessions": "accounts/tests/test_api.py",
    "api:accounts_api:my-session": "accounts/tests/test_api.py",
    # The marketplace side: platform staff tokens (a member's token gets 403 there, whatever the shop).
    "api:catalog_api:platform-products-list": "catalog/tests/test_api.py",
    "api:catalog_api:platform-products-detail": "catalog/tests/test_api.py",
    "api:catalog_api:platform-products-approve": "catalog/tests/test_api.py",
    "api:catalog_api:platform-products-reject": "catalog/tests/test_api.py",
    "api:orders_api:integration-orders": "orders/tests/test_api.py",
    "api:orders_api:integration-tracking-events": "orders/tests/test_api.py",
    "api:orders_api:integration-returns": "orders/tests/test_api.py",
    "api:promotions_api:integration-ad-stats": "promotions/tests/test_ads.py",
    "api:analytics_api:integration-storefront-events": "analytics/tests/test_storefront.py",
}  # fmt: skip
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    name: str  # with namespaces; "" when the route has none (which the guard refuses)
    pattern: str
    methods: frozenset[str]  # the HTTP methods the view answers (not HEAD/OPTIONS)
    variants: tuple[dict, ...]  # one kwargs dict per alternative of a ``(?P<op>a|b|c)`` group, else ({},)


_ALTERNATION = re.compile(r"\(\?P<(\w+)>([\w-]+(?:\|[\w-]+)+)\)")


def _view_methods(callback) -> frozenset[str]:
    actions = getattr(callback, "actions", None)  # a DRF viewset route: method -> action (plus "head" once served)
    if actions:
        return frozenset(m for m in actions if m in HTTP_METHODS)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:  # a function view: any method may reach it
        return frozenset(HTTP_METHODS)
    return frozenset(m for m in HTTP_METHODS if hasattr(view_class, m))


def all_routes() -> list[Route]:
    """Every route of the URL resolver (but the Django admin's), with the methods its view answers."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(
                    p.url_patterns, prefix + str(p.pattern), f"{namespace}{p.namespace}:" if p.namespace else namespace
                )
            elif isinstance(p, URLPattern):
                pattern = prefix + str(p.pattern)
                choices = [[(name, value) for value in alts.split("|")] for name, alts in _ALTERNATION.findall(pattern)]
                variants = tuple(dict(combo) for combo in itertools.product(*choices)) or ({},)
                name = namespace + p.name if p.name else ""
                found.append(Route(name, pattern, _view_methods(p.callback), variants))

    walk(get_resolver().url_patterns, "", "")
    return found


def unprobed(probes: list[Probe], world: World) -> list[str]:
    """Each route, method and alternative a member can reach that no probe exercises, and unnamed routes."""
    probed = {(p.route, p.method) for p in probes}
    probed_variants = {(p.route, p.method, _literal_kwargs(p, world)) for p in probes}
    missing = []
    for route in all_routes():
        if not route.name:
            missing.append(f"{route.pattern} has no name (no probe can reach it)")
            continue
        if route.name in NON_MEMBER_ROUTES:
            continue
        for method in sorted(route.methods):
            if (route.name, method) not in probed:
                missing.append(f"{method.upper()} {route.name}")
                continue
            for variant in route.variants:
                if variant and (route.name, method, tuple(sorted(variant.items()))) not in probed_variants:
                    missing.append(f"{method.upper()} {route.name} {variant}")
    return missing


def _literal_kwargs(probe: Probe, world: World) -> tuple:
    """The probe's URL kwargs that are not object ids (``op="submit"``): they pick an alternative."""
    return tuple(sorted((k, v) for k, v in probe.kwargs(world).items() if isinstance(v, str)))


# -- body references (the isolation sweep puts another shop's objects into them) ---------------------

_KEYED_FIELD = re.compile(r"^(\D+_)\d+$")  # a form field named after an object: line_12, tracking_45


def leaf_paths(body, prefix: str = "") -> dict[str, Any]:
    """Every scalar of a body by dotted path: ``{"orders.0.id": 7, "carrier": "C"}``."""
    if isinstance(body, dict):
        items = body.items()
    elif isinstance(body, list):
        items = enumerate(body)
    else:
        return {prefix: body}
    paths: dict[str, Any] = {}
    for key, value in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        paths.update(leaf_paths(value, path) if isinstance(value, dict | list) else {path: value})
    return paths


def keyed_prefixes(body: dict) -> set[str]:
    return {m.group(1) for key in body if (m := _KEYED_FIELD.match(str(key)))}


def _id_like(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())


def body_refs(first: dict, again: dict, elsewhere: dict) -> set[str]:
    """The places in a body that name an object of the world's shop: an id that stays the same when the body
    is built twice for one world but differs in another shop's world (``key:<prefix>`` for keyed fields)."""
    one, two, other = leaf_paths(first), leaf_paths(again), leaf_paths(elsewhere)
    found = {path for path, v in one.items() if _id_like(v) and two.get(path) == v and other.get(path, v) != v}
    for prefix in keyed_prefixes(first):
        keys = {k for k in first if k.startswith(prefix)}
        if keys <= set(again) and keys != {k for k in elsewhere if k.startswith(prefix)}:
            found.add(f"key:{prefix}")
    return found


def swap_ref(own: dict, foreign: dict, ref: str) -> dict:
    """``own`` with the object at ``ref`` replaced by the one ``foreign`` (another shop's body) names there."""
    if ref.startswith("key:"):
        prefix = ref.removeprefix("key:")
        own_key = next(k for k in own if k.startswith(prefix))
        foreign_key = next(k for k in foreign if k.startswith(prefix))
        own[foreign_key] = own.pop(own_key)
        return own
    *parents, last = ref.split(".")
    target, source = own, foreign
    for part in parents:
        target = target[int(part) if isinstance(target, list) else part]
        source = source[int(part) if isinstance(source, list) else part]
    key = int(last) if isinstance(target, list) else last
    target[key] = source[key]
    return own


def app_probe_modules() -> list:
    """Each domain app may keep its probes in ``<app>/tests/probes.py``: ``PROBES`` (a list of Probe),
    and optionally ``extend_world(world)`` (adds its objects to ``world.objects``) and
    ``snapshot(shop) -> dict`` (its rows that the isolation sweep proves unchanged)."""
    modules = []
    for app in settings.DOMAIN_APPS:
        name = f"{app}.tests.probes"
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name not in (name, f"{app}.tests"):
                raise
    return modules


for _module in app_probe_modules():
    PROBES.extend(_module.PROBES)
