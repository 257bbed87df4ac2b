"""Real inputs for the schema fuzz (tests/test_api_fuzz.py): each operation of our OpenAPI schema gets
ids of objects of the probe World that it can act on, so the fuzz gets past the object lookup into the
body; a valid body, so the fuzz can start from a request that succeeds and put real ids back into the
bodies it generates; and the catalog action it needs, so a restricted role's fuzz knows which
operations must refuse it.

Both come from the probe table (tests/shop_routes.py and each app's probes.py): the probe of the same
route and method names the object in the state its request needs (an order awaiting confirmation for
``confirm``, a received return for ``refund``...) and a body that succeeds. The operations outside the
table (signing up and in, your own tokens and sessions, the marketplace integration and moderation)
get theirs here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.models import User
from backoffice.authz import load_actor
from backoffice.authz.actions import ROLE_TEMPLATES
from catalog import services as catalog_services
from catalog.tests.factories import make_product
from tests.fixtures import PASSWORD, shop_today
from tests.shop_routes import ANY_MEMBER, PROBES, World

# The marketplace side: platform staff tokens only; a shop member (the owner too) gets a 403 there.
PLATFORM = "platform staff"

# Operations whose action depends on the body: the import view lets any catalog viewer in and the service
# decides from ``kind`` (products need catalog.edit, stock levels catalog.manage_stock), so a role holding
# neither gets a 400 for a body that names no valid kind or file, and a 403 for one that does.
BODY_DECIDES_ACTION = {("POST", "/api/v1/shops/{shop}/imports/")}


@dataclass
class Target:
    operation: Any  # schemathesis APIOperation
    path_parameters: dict[str, int]
    action: str  # catalog action, ANY_MEMBER or PLATFORM
    # A body that succeeds for a caller allowed to send it (None: the operation takes no body).
    valid_body: dict | None = None
    media_type: str = "application/json"

    @property
    def label(self) -> str:
        return f"{self.operation.method.upper()} {self.operation.path}"

    def allows(self, role: str) -> bool:
        """May a member holding this role template (or ``PLATFORM``) use the operation?"""
        if self.action == PLATFORM or role == PLATFORM:
            return self.action == PLATFORM and role == PLATFORM
        return role == "owner" or self.action == ANY_MEMBER or self.action in ROLE_TEMPLATES[role][1]

    def refusals(self) -> tuple[int, ...]:
        """What a caller not allowed to use the operation may get: never a success, never a 500."""
        key = (self.operation.method.upper(), self.operation.path)
        return (400, 403, 404) if key in BODY_DECIDES_ACTION else (403, 404)


def _template_regex(path: str) -> re.Pattern:
    """``/api/v1/shops/{shop}/products/{id}/`` → a regex capturing each ``{name}`` segment."""
    parts = re.split(r"\{(\w+)\}", path)
    pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{pattern}$")


def _wire_body(body: dict) -> dict:
    """A probe's body as schemathesis sends it: uploaded files as their bytes."""
    return {k: v.read() if isinstance(v, UploadedFile) else v for k, v in body.items()}


def _extras(world: World, user: User) -> dict[tuple[str, str], tuple[dict, str, dict | None]]:
    """Path parameters, action and valid body of the operations the probe table does not hold (it holds
    shop routes only). Creates what they act on: a spare token and a browser session of the caller, a
    product in moderation."""
    o = world.objects
    token, _key = accounts_services.token_create(user=user, name="fuzz spare")
    accounts_services.session_record(user=user, session_key=f"fuzz{token.pk:036d}", ip="127.0.0.1", user_agent="fuzz")
    session = accounts_selectors.session_list(user=user).first()
    actor = load_actor(world.shop.owner, world.shop)
    pending = catalog_services.product_submit(actor=actor, product=make_product(actor, title="Fuzz pending")).pk
    delivered_line = o["order_delivered"].lines.order_by("id").first().pk
    buyer = {"name": "Ivan Petrov", "phone": "+7 912 345-67-89", "address": "Moscow, Tverskaya 1, apt 5"}
    intake = {"external_id": "FUZZ-1", "delivery_method": "standard", "buyer": buyer,
              "lines": [{"sku": o["order_sku"].code, "quantity": 1, "unit_price": "990.00"}]}  # fmt: skip
    shop = world.shop.pk
    return {
        ("POST", "/api/v1/auth/signup/"): ({}, ANY_MEMBER, {"username": "fuzzsignup", "email": "fuzzsignup@example.com",
                                                            "password": PASSWORD, "shop_name": "Fuzz signup"}),
        ("POST", "/api/v1/auth/token/"): ({}, ANY_MEMBER, {"username": user.username, "password": PASSWORD}),
        ("POST", "/api/v1/auth/reauth/"): ({}, ANY_MEMBER, {"password": PASSWORD}),
        ("POST", "/api/v1/me/password/"): ({}, ANY_MEMBER, {"old_password": PASSWORD, "new_password": "N3w-fuzz-Passw0rd"}),
        ("DELETE", "/api/v1/me/tokens/{id}/"): ({"id": token.pk}, ANY_MEMBER, None),
        ("DELETE", "/api/v1/me/sessions/{id}/"): ({"id": session.pk}, ANY_MEMBER, None),
        ("POST", "/api/v1/integration/shops/{shop}/orders/"): ({"shop": shop}, PLATFORM, intake),
        ("POST", "/api/v1/integration/shops/{shop}/orders/{id}/returns/"): (
            {"shop": shop, "id": o["order_delivered"].pk}, PLATFORM,
            {"reason": "Too big", "lines": [{"line": delivered_line, "quantity": 1}]}),
        ("POST", "/api/v1/integration/shops/{shop}/orders/{id}/tracking-events/"): (
            {"shop": shop, "id": o["order_deliver"].pk}, PLATFORM, {"status": "in_transit", "location": "Kazan"}),
        ("GET", "/api/v1/platform/products/{id}/"): ({"id": pending}, PLATFORM, None),
        ("POST", "/api/v1/platform/products/{id}/approve/"): ({"id": pending}, PLATFORM, None),
        ("POST", "/api/v1/platform/products/{id}/reject/"): ({"id": pending}, PLATFORM, {"reason": "Blurry photos"}),
        ("GET", "/api/v1/platform/withdrawals/{id}/"): ({"id": o["payouts_requested"].pk}, PLATFORM, None),
        ("POST", "/api/v1/platform/withdrawals/{id}/approve/"): ({"id": o["payouts_requested"].pk}, PLATFORM, None),
        ("POST", "/api/v1/platform/withdrawals/{id}/fail/"): (
            {"id": o["payouts_requested"].pk}, PLATFORM, {"reason": "Closed"}),
        ("POST", "/api/v1/platform/withdrawals/{id}/pay/"): (
            {"id": o["payouts_approved"].pk}, PLATFORM, {"bank_reference": "FUZZ-1"}),
        ("POST", "/api/v1/integration/shops/{shop}/ad-stats/"): ({"shop": shop}, PLATFORM, {
            "campaign": o["ad_view"].pk, "day": (shop_today(world.shop) - timedelta(days=1)).isoformat(),
            "impressions": 100, "clicks": 5, "spend": "10.00"}),
        ("POST", "/api/v1/integration/shops/{shop}/storefront-events/"): ({"shop": shop}, PLATFORM, {
            "batch": "fuzz-1", "events": [{"sku": o["order_sku"].code, "kind": "view",
                                           "at": (timezone.now() - timedelta(hours=1)).isoformat()}]}),
    }  # fmt: skip


def targets(schema, world: World, *, user: User, path_regex: str = "") -> list[Target]:
    """Every operation of ``schema`` (its path matching ``path_regex``), with real ids of ``world``.
    Fails when an operation has a path parameter that neither the probe table nor this module fills:
    a new endpoint gets a probe before the fuzz can reach its body."""
    probes = [(p.method.upper(), p.url(world), p) for p in PROBES if p.api]
    extras = _extras(world, user)
    operations = schema.include(path_regex=path_regex) if path_regex else schema
    found, missing = [], []
    for result in operations.get_all_operations():
        op = result.ok()
        names = {p.name for p in op.path_parameters}
        key = (op.method.upper(), op.path)
        regex = _template_regex(op.path)
        probe = next((p for method, url, p in probes if method == key[0] and regex.match(url)), None)
        media_type = "application/json"
        if probe is not None:
            params = {k: int(v) for k, v in regex.match(probe.url(world)).groupdict().items()}
            action, body = probe.action, probe.body(world)
            if probe.multipart:
                media_type = "multipart/form-data"
        elif key in extras:
            params, action, body = extras[key]
        elif op.path.startswith(("/api/v1/platform/", "/api/v1/integration/")):
            params, action, body = {}, PLATFORM, None
        else:
            params, action, body = {}, ANY_MEMBER, None  # /me/: anyone signed in
        if "shop" in names:
            params = {**params, "shop": world.shop.pk}
        if names - params.keys():
            missing.append(f"{key[0]} {op.path}: {sorted(names - params.keys())}")
        valid_body = _wire_body(body or {}) if op.body else None
        found.append(Target(op, dict(params), action, valid_body=valid_body, media_type=media_type))
    assert not missing, f"operations without real ids (give them a probe in the probe table): {missing}"
    return found
