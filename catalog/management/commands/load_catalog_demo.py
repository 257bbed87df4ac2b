"""Demo catalog for the demo shops: a category tree, two warehouses, a few dozen products in every
moderation state, stock in both warehouses (some of it low) and the resulting low-stock alerts.
Built through the real services; safe to run again (a shop that already has the demo is skipped)."""

from __future__ import annotations

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from backoffice.authz import load_actor, system_actor, tenant_model
from catalog import services
from catalog.models import Product

TREE = {
    "Electronics": ["Phones", "Headphones", "Chargers"],
    "Home": ["Kitchen", "Garden", "Lighting"],
    "Clothing": ["T-shirts", "Shoes"],
}
ITEMS = {
    "Phones": ["Aurora X1 smartphone", "Nimbus 5G phone", "Pocket mini phone"],
    "Headphones": ["Studio over-ear headphones", "Sport earbuds", "Kids headphones"],
    "Chargers": ["65W USB-C charger", "Wireless charging pad", "Car charger"],
    "Kitchen": ["Cast-iron skillet", "Chef's knife", "Bamboo cutting board", "Espresso cups (set of 4)"],
    "Garden": ["Garden hose 25 m", "Pruning shears", "Raised bed kit"],
    "Lighting": ["LED desk lamp", "Smart bulb E27", "String lights 10 m"],
    "T-shirts": ["Organic cotton tee", "Logo tee", "Long-sleeve tee"],
    "Shoes": ["Trail runners", "Canvas sneakers", "Slip-on loafers"],
}
VARIANTS = {
    "T-shirts": [{"size": "S"}, {"size": "M"}, {"size": "L"}],
    "Shoes": [{"size": "41"}, {"size": "42"}, {"size": "43"}],
    "Phones": [{"color": "black"}, {"color": "silver"}],
    "Headphones": [{"color": "black"}, {"color": "white"}],
}
STATES = ["approved"] * 5 + ["pending_review", "draft", "draft", "rejected", "archived"]


class Command(BaseCommand):
    help = "Load the demo catalog (categories, warehouses, products in several states, stock, low-stock alerts)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, action="append", help="shop id (repeatable); default: every shop")

    def handle(self, *args, shop=None, **options):
        User = get_user_model()  # noqa: N806
        moderator = User.objects.filter(username="platform-moderator").first()
        if moderator is None:
            moderator = User.objects.create_user(username="platform-moderator", email="moderator@example.com",
                                                 password="demo-pass-2026", is_staff=True)  # fmt: skip
        shops = tenant_model().objects.filter(pk__in=shop) if shop else tenant_model().objects.all()
        for s in shops.order_by("id"):
            if Product.objects.for_shop(s).filter(ref__startswith="DEMO-").exists():
                self.stdout.write(f"  {s.name}: demo catalog already there")
                continue
            counts = self._load(s, moderator)
            self.stdout.write(self.style.SUCCESS(f"  {s.name}: {counts}"))

    @transaction.atomic
    def _load(self, shop, moderator) -> str:
        rng = random.Random(shop.pk)
        actor = load_actor(shop.owner, shop)
        main = services.warehouse_create(actor=actor, name="Main warehouse", code="demo-main", address="1 Dock Road")
        north = services.warehouse_create(actor=actor, name="North depot", code="demo-north")
        categories = {}
        for root, children in TREE.items():
            parent = services.category_create(actor=actor, name=root)
            for child in children:
                categories[child] = services.category_create(actor=actor, name=child, parent=parent)
        n = 0
        low = 0
        for cat_name, titles in ITEMS.items():
            for title in titles:
                n += 1
                base_price = Decimal(rng.choice([490, 990, 1490, 2490, 4990, 9990]))
                variants = VARIANTS.get(cat_name, [{}])
                skus = [
                    {"code": f"D{shop.pk}-{n:03d}{('-' + '-'.join(v.values())) if v else ''}".upper(),
                     "price": base_price, "old_price": base_price * Decimal("1.2") if n % 4 == 0 else None,
                     "cost": (base_price * Decimal("0.55")).quantize(Decimal("0.01")), "barcode": f"46{shop.pk:03d}{n:04d}{i:03d}",
                     "attributes": v, "weight": Decimal("0.350")}
                    for i, v in enumerate(variants)
                ]  # fmt: skip
                product = services.product_create(
                    actor=actor, title=title, brand=rng.choice(["Acme", "Northwind", "Globex", "Initech"]),
                    category=categories[cat_name], description=f"{title}: a demo product.", skus=skus,
                    ref=f"DEMO-{n:03d}",
                )  # fmt: skip
                for sku in product.skus.order_by("id"):
                    lowish = rng.random() < 0.2
                    low += lowish
                    for wh, qty in ((main, rng.randint(0, 3) if lowish else rng.randint(20, 120)),
                                    (north, 0 if lowish else rng.randint(0, 40))):  # fmt: skip
                        if qty:
                            services.stock_adjust(actor=actor, sku=sku, warehouse=wh, delta=qty, reason="receipt",
                                                  note="Demo opening stock")  # fmt: skip
                self._set_state(actor, moderator, product, STATES[n % len(STATES)])
        result = services.low_stock_scan(actor=system_actor(shop))
        return f"{n} products, 2 warehouses, {len(categories)} categories, {result['opened']} low-stock alerts"

    def _set_state(self, actor, moderator, product, state: str) -> None:
        shop = actor.shop
        if state == "draft":
            return
        if state == "archived":
            services.product_archive(actor=actor, product=product)
            return
        product = services.product_submit(actor=actor, product=product)
        platform = system_actor(shop, user=moderator)  # the platform's moderator, as in the admin
        if state == "approved":
            services.product_approve(actor=platform, product=product)
        elif state == "rejected":
            services.product_reject(actor=platform, product=product,
                                    reason="Photos are missing; add at least one clear product image.")  # fmt: skip
