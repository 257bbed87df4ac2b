"""``manage.py payouts_settle [--shop ID] [--now ISO]``: what the hourly beat does, on demand — charge new ad
spend, then settle the sales whose return window has passed (``--now`` pretends it is later: a demo's time
travel)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from backoffice.authz import system_actor, tenant_model
from payouts import services


class Command(BaseCommand):
    help = "Charge new ad spend and settle matured sales (pending -> available)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="one shop's id (default: every shop)")
        parser.add_argument("--now", help="settle as if it were this ISO date-time (aware)")

    def handle(self, *args, shop=None, now=None, **options):
        moment = None
        if now:
            try:
                moment = parse_datetime(now)
            except ValueError:  # well formed but not a date ("2026-13-01T00:00:00+00:00")
                moment = None
            if moment is None or moment.tzinfo is None:
                raise CommandError("--now needs an ISO date-time with an offset, e.g. 2026-12-01T00:00:00+00:00")
        shops = tenant_model().objects.order_by("pk")
        if shop is not None:
            shops = shops.filter(pk=shop)
            if not shops.exists():
                raise CommandError(f"no shop {shop}")
        for s in shops:
            actor = system_actor(s)
            ads = services.ad_spend_sync(actor=actor, today=moment.date() if moment else None)
            settled = services.settle_matured(actor=actor, now=moment)
            if ads or settled:
                self.stdout.write(f"shop {s.pk}: {settled} sales settled, {ads} ad charges")
