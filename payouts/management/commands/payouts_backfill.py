"""``manage.py payouts_backfill [--shop ID]``: book the sales of orders delivered, and the refunds given, before
the payouts app existed (or whose events were lost). Idempotent: what is booked already is skipped."""

from django.core.management.base import BaseCommand, CommandError

from backoffice.authz import system_actor, tenant_model
from payouts import services


class Command(BaseCommand):
    help = "Book delivered orders' sales and refunds that the ledger does not have yet."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="one shop's id (default: every shop)")

    def handle(self, *args, shop=None, **options):
        shops = tenant_model().objects.order_by("pk")
        if shop is not None:
            shops = shops.filter(pk=shop)
            if not shops.exists():
                raise CommandError(f"no shop {shop}")
        for s in shops:
            booked = services.backfill(actor=system_actor(s))
            if booked:
                self.stdout.write(f"shop {s.pk}: {booked} transactions booked")
