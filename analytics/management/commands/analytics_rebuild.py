"""Rebuild the daily sales rollups from the orders (after a bulk load that bypassed the services, such as
``generate_orders``, or to check the incremental rollups against a rebuild)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from analytics import rollups
from backoffice.authz import tenant_model


class Command(BaseCommand):
    help = "Rebuild the analytics daily rollups from scratch, for one shop (--shop ID) or every shop."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="only this shop's rollups")
        parser.add_argument("--batch", type=int, default=rollups.BATCH, help="orders per transaction")

    def handle(self, *args, shop=None, batch=rollups.BATCH, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        shops = tenant_model().objects.order_by("pk")
        if shop is not None:
            shops = shops.filter(pk=shop)
            if not shops.exists():
                raise CommandError(f"no shop with id {shop}")
        for one in shops.iterator():
            started = time.monotonic()
            count = rollups.rebuild(one, batch=batch)
            elapsed = time.monotonic() - started
            rate = count / elapsed if elapsed > 0 else 0
            self.stdout.write(f"shop {one.pk}: {count} orders in {elapsed:.1f} s ({rate:,.0f} orders/s)")
