"""The one table of shop-scoped routes: every URL under /api/v1/shops/{shop}/ and /shops/{shop}/,
with the catalog action it needs and a request that succeeds for a member holding that action.

The permission matrix and the tenant-isolation sweep are both driven from it, and both fail when
the URL resolver knows a shop route that this table does not.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import services
from accounts.models import Membership, Role, Shop
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
        from backoffice.authz import load_actor

        admin = load_actor(members["admin"].user, shop)
        target = make_member(shop, "viewer", actor=admin)
        inactive = make_member(shop, "viewer", actor=admin)
        services.staff_deactivate(actor=admin, membership=inactive)
        custom = services.role_create(actor=owner_actor(shop), name="Packer", permissions=["orders.view"])
        world = cls(shop=shop, members=members, target=target, inactive_target=inactive, custom_role=custom)
        for module in app_probe_modules():
            if hasattr(module, "extend_world"):
                module.extend_world(world)
        return world


@dataclass
class Probe:
    route: str  # URL name with namespaces
    method: str
    action: str  # catalog action, or ANY_MEMBER
    ok: int  # status when allowed
    kwargs: Callable[[World], dict] = lambda w: {}
    body: Callable[[World], dict] = lambda w: {}
    api: bool = True
    label: str = ""
    multipart: bool = False  # the API body goes as multipart/form-data (file uploads)

    @property
    def id(self) -> str:
        return f"{'api' if self.api else 'ui'}:{self.route}:{self.method}{(':' + self.label) if self.label else ''}"

    def url(self, world: World, shop: Shop | None = None) -> str:
        return reverse(self.route, kwargs={"shop": (shop or world.shop).pk, **self.kwargs(world)})


def _new_staff(w: World) -> dict:
    n = next(_seq)
    return {"username": f"probe{n}", "email": f"probe{n}@example.com", "password": "s3cret-Pass-1", "role": "viewer"}


def _new_staff_form(w: World) -> dict:
    data = _new_staff(w)
    data["role"] = str(Role.objects.for_shop(w.shop).get(key="viewer").pk)
    return data


def _staff_edit_form(w: World) -> dict:
    return {"email": "changed@example.com", "role": str(Role.objects.for_shop(w.shop).get(key="support").pk)}


API = "api:accounts_api:"
UI = "accounts:"
PROBES: list[Probe] = [
    # REST API
    Probe(API + "shop", "get", ANY_MEMBER, 200),
    Probe(API + "shop", "patch", "accounts.manage_settings", 200, body=lambda w: {"return_window_days": 21}),
    Probe(API + "staff-list", "get", "accounts.manage_staff", 200),
    Probe(API + "staff-list", "post", "accounts.manage_staff", 201, body=_new_staff),
    Probe(API + "staff-detail", "get", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(API + "staff-detail", "patch", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk},
          body=lambda w: {"role": "support"}),
    Probe(API + "staff-detail", "put", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk},
          body=lambda w: {"email": "put@example.com"}),
    Probe(API + "staff-deactivate", "post", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(API + "staff-reactivate", "post", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.inactive_target.pk}),
    Probe(API + "staff-access", "get", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(API + "roles-list", "get", "accounts.manage_staff", 200),
    Probe(API + "roles-list", "post", "accounts.manage_staff", 201,
          body=lambda w: {"name": f"Role {next(_seq)}", "permissions": ["orders.view"]}),
    Probe(API + "roles-detail", "get", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.custom_role.pk}),
    Probe(API + "roles-detail", "patch", "accounts.manage_staff", 200, kwargs=lambda w: {"pk": w.custom_role.pk},
          body=lambda w: {"permissions": ["orders.view", "catalog.view"]}),
    Probe(API + "audit-log-list", "get", "accounts.view_audit", 200),
    Probe(API + "audit-log-export", "get", "accounts.view_audit", 200),
    Probe(API + "notifications-list", "get", ANY_MEMBER, 200),
    Probe(API + "notifications-read", "post", ANY_MEMBER, 200, body=lambda w: {}),
    Probe(API + "notifications-preferences", "get", ANY_MEMBER, 200),
    Probe(API + "notifications-preferences", "put", ANY_MEMBER, 200,
          body=lambda w: {"preferences": [{"kind": "member_expiring", "email": False}]}),
    # Browser pages
    Probe(UI + "dashboard", "get", ANY_MEMBER, 200, api=False),
    Probe(UI + "staff_list", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "staff_create", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "staff_create", "post", "accounts.manage_staff", 302, api=False, body=_new_staff_form),
    Probe(UI + "staff_detail", "get", "accounts.manage_staff", 200, api=False, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(UI + "staff_detail", "post", "accounts.manage_staff", 302, api=False, kwargs=lambda w: {"pk": w.target.pk},
          body=_staff_edit_form),
    Probe(UI + "staff_deactivate", "get", "accounts.manage_staff", 200, api=False, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(UI + "staff_deactivate", "post", "accounts.manage_staff", 302, api=False, kwargs=lambda w: {"pk": w.target.pk}),
    Probe(UI + "staff_reactivate", "post", "accounts.manage_staff", 302, api=False,
          kwargs=lambda w: {"pk": w.inactive_target.pk}),
    Probe(UI + "role_list", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "role_create", "get", "accounts.manage_staff", 200, api=False),
    Probe(UI + "role_create", "post", "accounts.manage_staff", 302, api=False,
          body=lambda w: {"name": f"Role {next(_seq)}", "permissions": ["orders.view"]}),
    Probe(UI + "role_edit", "get", "accounts.manage_staff", 200, api=False, kwargs=lambda w: {"pk": w.custom_role.pk}),
    Probe(UI + "role_edit", "post", "accounts.manage_staff", 302, api=False, kwargs=lambda w: {"pk": w.custom_role.pk},
          body=lambda w: {"name": "Packer", "permissions": ["orders.view", "catalog.view"]}),
    Probe(UI + "audit_log", "get", "accounts.view_audit", 200, api=False),
    Probe(UI + "notifications", "get", ANY_MEMBER, 200, api=False),
    Probe(UI + "notifications", "post", ANY_MEMBER, 302, api=False),
    Probe(UI + "notification_preferences", "get", ANY_MEMBER, 200, api=False),
    Probe(UI + "notification_preferences", "post", ANY_MEMBER, 302, api=False),
    Probe(UI + "shop_settings", "get", "accounts.manage_settings", 200, api=False),
    Probe(UI + "shop_settings", "post", "accounts.manage_settings", 302, api=False,
          body=lambda w: {"name": w.shop.name, "currency": "RUB", "timezone": "UTC", "language": "en",
                          "low_stock_default": 3, "return_window_days": 14, "auto_confirm_orders": "on"}),
]  # fmt: skip


def send(client, probe: Probe, world: World, shop: Shop | None = None):
    url = probe.url(world, shop)
    body = probe.body(world)
    if probe.api:
        return getattr(client, probe.method)(url, body, format="multipart" if probe.multipart else "json")
    return getattr(client, probe.method)(url, body) if probe.method == "post" else client.get(url)


# Routes for the marketplace side (platform staff tokens), not for shop members: they are
# tested by their apps (a member's token answers 403 there, whatever the shop).
PLATFORM_ROUTE_PREFIXES = ("api/v1/integration/", "api/v1/platform/")


def shop_routes() -> set[str]:
    """Every URL name of a shop member's route (API or page) that takes a ``shop`` argument."""
    found: set[str] = set()

    def walk(patterns, prefix: str, namespace: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if route.replace("^", "").startswith(PLATFORM_ROUTE_PREFIXES):
                    continue
                if ("<int:shop>" in route or "(?P<shop>" in route) and p.name:
                    found.add(namespace + p.name)

    walk(get_resolver().url_patterns, "", "")
    return found


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
