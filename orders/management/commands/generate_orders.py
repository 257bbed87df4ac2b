"""Scale data: N shops × M orders with lines, inserted in bulk (see ``orders.generator``)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from accounts import services as accounts
from backoffice.authz import load_actor, tenant_model
from catalog import services as catalog
from orders.generator import generate_orders


def bench_shop(name: str, *, skus: int = 20):
    """A shop with one warehouse and ``skus`` SKUs, made through the real services."""
    shop = tenant_model().objects.filter(name=name).first()
    if shop is None:
        slug = name.lower().replace(" ", "-")
        _user, shop = accounts.shop_signup(username=f"{slug}-owner", email=f"{slug}@example.com",
                                           password="bench-Pass-2026", shop_name=name)  # fmt: skip
        owner = load_actor(shop.owner, shop)
        catalog.warehouse_create(actor=owner, name="Main", code="main")
        catalog.warehouse_create(actor=owner, name="North", code="north")
        for n in range(0, skus, 5):
            catalog.product_create(actor=owner, title=f"{name} product {n // 5}",
                                   skus=[{"code": f"GEN-{n + k:04d}", "price": f"{100 + 37 * (n + k)}.00"}
                                         for k in range(5)])  # fmt: skip
    return shop


class Command(BaseCommand):
    help = "Create N shops × M orders with lines quickly (bulk inserts) for scale tests and benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--shops", type=int, default=1)
        parser.add_argument("--orders", type=int, default=10_000, help="orders per shop")
        parser.add_argument("--shop", type=int, help="add the orders to this existing shop instead")
        parser.add_argument("--prefix", default="Scale shop")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        if options["shop"]:
            shops = list(tenant_model().objects.filter(pk=options["shop"]))
            if not shops:
                raise CommandError("No such shop.")
        else:
            shops = [bench_shop(f"{options['prefix']} {n + 1}") for n in range(options["shops"])]
        for shop in shops:
            started = time.monotonic()
            made = generate_orders(shop=shop, count=options["orders"], seed=options["seed"] + shop.pk,
                                   progress=lambda n, name=shop.name: self.stdout.write(f"  {name}: {n} orders", ending="\r"))  # fmt: skip
            took = time.monotonic() - started
            self.stdout.write(self.style.SUCCESS(f"{shop.name} (id {shop.pk}): {made} orders in {took:.1f}s "
                                                 f"({made / max(took, 1e-9):,.0f}/s)"))  # fmt: skip
