"""A storefront simulator: pushes orders (and carrier tracking events, and return requests) into a shop
through the same services the integration API calls, then moves them on as a seller would, so every
order state shows up. Some orders are refused for lack of stock, as in life. Safe to run again: a shop
that already has simulated orders is left alone."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.authz import load_actor, system_actor, tenant_model
from backoffice.errors import ServiceError
from catalog import selectors as catalog_selectors
from catalog import services as catalog
from orders import selectors, services
from orders.models import Order

FIRST = ["Anna", "Ivan", "Li Wei", "Maria", "Dmitry", "Zhang Min", "Olga", "Sergey", "Wang Fang", "Elena"]
LAST = ["Ivanova", "Petrov", "Chen", "Smirnova", "Kuznetsov", "Liu", "Popova", "Volkov", "Zhao", "Sokolova"]
STREETS = ["Tverskaya 7", "Nevsky pr. 28", "Lenina 15", "Mira 3", "Gagarina 44", "Sadovaya 12"]
CITIES = ["Moscow", "Saint Petersburg", "Kazan", "Novosibirsk", "Yekaterinburg"]
# The demo shop's carrier list (name, code, tracking page): packs pick from it, tracking numbers link there.
DEMO_CARRIERS = [
    ("CDEK", "cdek", "https://www.cdek.ru/ru/tracking/?order_id={tracking}"),
    ("Russian Post", "russian-post", "https://www.pochta.ru/tracking?barcode={tracking}"),
    ("Boxberry", "boxberry", "https://boxberry.ru/tracking-page?id={tracking}"),
]
CARRIERS = [name for name, _code, _url in DEMO_CARRIERS]
# The state each simulated order is driven to, in order (cycled).
PLAN = ["awaiting_confirmation", "awaiting_packaging", "awaiting_packaging", "awaiting_deliver", "delivering",
        "delivered", "delivered", "delivered", "cancelled", "awaiting_packaging", "delivering", "delivered"]  # fmt: skip


def storefront_user():
    user, created = get_user_model().objects.get_or_create(
        username="storefront", defaults={"email": "storefront@example.com", "is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def ensure_catalog(shop, actor) -> list:
    """SKUs with available stock; a small demo assortment when the shop has none."""
    skus = list(
        catalog_selectors.sku_list(shop=shop, actor=actor, filters={
            "in_stock": "1", "product_status": "approved,draft,pending_review"}).order_by("id")[:20]
    )  # fmt: skip
    if skus:
        return skus
    warehouse = catalog_selectors.warehouse_list(shop=shop, actor=actor).order_by("id").first() or (
        catalog.warehouse_create(actor=actor, name="Main warehouse", code="main", address="Moscow, Logistics park 1")
    )
    items = [("Wireless earbuds", "EAR", "2490.00"), ("Phone case", "CASE", "590.00"),
             ("USB-C cable 1m", "CABLE", "390.00"), ("Power bank 10000", "PWR", "1990.00")]  # fmt: skip
    codes = [f"SIM-{code}" for _title, code, _price in items]
    have = catalog_selectors.skus_by_code(shop=shop, codes=codes)
    for title, code, price in items:
        if f"SIM-{code}" not in have:
            catalog.product_create(actor=actor, title=title, skus=[{"code": f"SIM-{code}", "price": price}])
    skus = sorted(catalog_selectors.skus_by_code(shop=shop, codes=codes).values(), key=lambda sku: sku.pk)
    for sku in skus:
        stock = catalog_selectors.stock_list(shop=shop, actor=actor, filters={"sku": sku.pk, "warehouse": warehouse.pk})
        if not stock.filter(on_hand__gt=0).exists():
            catalog.stock_adjust(actor=actor, sku=sku, warehouse=warehouse, delta=200, reason="receipt",
                                 note="storefront simulator")  # fmt: skip
    return skus


def ensure_carriers(shop, owner) -> None:
    """The demo carriers, unless the shop keeps a carrier list already (a second run adds nothing)."""
    if selectors.shop_has_carriers(shop=shop):
        return
    for name, code, url in DEMO_CARRIERS:
        services.carrier_create(actor=owner, name=name, code=code, tracking_url=url)


def simulate(shop, *, count: int, seed: int = 7, log=lambda msg: None) -> dict[str, int]:
    if Order.objects.for_shop(shop).filter(external_id__startswith=f"SIM-{shop.pk}-").exists():
        log(f"  {shop.name}: simulated orders already there")
        return {"created": 0}
    rng = random.Random(f"{seed}-{shop.pk}")
    owner = load_actor(shop.owner, shop)
    platform = system_actor(shop, user=storefront_user())  # the storefront, through the integration API
    skus = ensure_catalog(shop, owner)
    ensure_carriers(shop, owner)
    made = 0
    delivered_seen: dict = {}
    now = timezone.now()
    for n in range(count):
        target = PLAN[n % len(PLAN)]
        lines = [{"sku": sku.code, "quantity": rng.randint(1, 2), "unit_price": sku.price}
                 for sku in rng.sample(skus, k=min(len(skus), rng.randint(1, 3)))]  # fmt: skip
        buyer = {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "phone": f"+7 9{rng.randint(10, 99)} "
                 f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
                 "address": f"{rng.choice(CITIES)}, {rng.choice(STREETS)}, apt {rng.randint(1, 200)}"}  # fmt: skip
        method = rng.choice(["standard", "standard", "express", "pickup"])
        # Some orders arrived days ago (some of them are overdue now).
        created_at = now - timedelta(hours=rng.choice([1, 3, 20, 30, 60, 80]))
        # A shop with auto-confirm off would hold orders for confirmation: simulate it for those orders.
        auto = shop.auto_confirm_orders
        shop.auto_confirm_orders = target != "awaiting_confirmation" and auto
        try:
            order, created = services.order_intake(actor=platform, external_id=f"SIM-{shop.pk}-{n:04d}",
                                                   delivery_method=method, buyer=buyer, lines=lines,
                                                   created_at=created_at)  # fmt: skip
        except ServiceError as exc:
            log(f"  order {n}: refused ({exc.code})")
            continue
        finally:
            shop.auto_confirm_orders = auto
        if not created:
            continue
        made += 1
        try:
            _advance(shop, owner, platform, order, target, rng, delivered_seen)
        except ServiceError as exc:  # pragma: no cover - demo data is best effort
            log(f"  order {order.number}: {exc.message}")
    counts = {state: Order.objects.for_shop(shop).filter(state=state).count() for state in Order.State.values}
    counts["created"] = made
    # What the beat would do next: the late ones go on their timelines and to the order processors.
    counts["overdue"] = services.overdue_scan(actor=system_actor(shop))["overdue"]
    return counts


# Post-delivery outcome per delivered order, read like the old dice roll: <0.1 refunded return,
# <0.2 received, <0.35 approved, <0.5 requested, <0.6 goodwill refund, else nothing.
AFTERCARE = (0.05, 0.55, 0.9, 0.15, 0.3, 0.45, 0.95)


def _advance(shop, owner, platform, order: Order, target: str, rng: random.Random, delivered_seen: dict) -> None:
    if order.state == target:
        return
    if target == "cancelled":
        services.order_cancel(actor=owner, order=order, reason=rng.choice(["buyer_request", "out_of_stock"]))
        return
    carrier = rng.choice(CARRIERS)
    order = services.order_pack(actor=owner, order=order, carrier=carrier, tracking_number=f"{carrier[:2].upper()}"
                                f"{rng.randint(10**9, 10**10 - 1)}")  # fmt: skip
    if target == "awaiting_deliver":
        return
    order = services.order_ship(actor=owner, order=order)
    services.order_tracking_event(actor=platform, order=order, status="accepted", location="Moscow hub")
    services.order_tracking_event(actor=platform, order=order, status="in_transit",
                                  location=rng.choice(CITIES))  # fmt: skip
    if target == "delivering":
        return
    services.order_tracking_event(actor=platform, order=order, status="delivered", message="Handed to buyer")
    order.refresh_from_db()
    # Some buyers return something: requested, approved, received and refunded. The outcomes cycle over
    # the delivered orders (not a dice roll), so every shop shows each of them whatever its id.
    roll = AFTERCARE[delivered_seen.setdefault("n", 0) % len(AFTERCARE)]
    delivered_seen["n"] += 1
    if roll < 0.5:
        line = order.lines.first()
        ret = services.return_request(actor=platform, order=order, reason="Does not fit",
                                      lines=[{"line": line.pk, "quantity": 1}])  # fmt: skip
        if roll < 0.35:
            ret = services.return_approve(actor=owner, ret=ret)
        if roll < 0.2:
            warehouse = order.allocations.first().warehouse
            ret = services.return_receive(actor=owner, ret=ret, warehouse=warehouse)
        if roll < 0.1:
            services.return_refund(actor=owner, ret=ret)
    elif roll < 0.6:
        services.refund_create(actor=owner, order=order, amount=min(Decimal("100.00"), order.total),
                               reason="Late delivery compensation")  # fmt: skip


class Command(BaseCommand):
    help = "Push simulated storefront orders (with tracking events and returns) into shops, in every state."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, action="append", help="Shop id (repeatable); default: every shop")
        parser.add_argument("--orders", type=int, default=36, help="Orders per shop (default 36)")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        shops = tenant_model().objects.order_by("id")
        if options["shop"]:
            shops = shops.filter(pk__in=options["shop"])
            if not shops.exists():
                raise CommandError("No such shop.")
        for shop in shops:
            counts = simulate(shop, count=options["orders"], seed=options["seed"], log=self.stdout.write)
            summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            self.stdout.write(self.style.SUCCESS(f"{shop.name}: {summary}"))
