"""``manage.py payouts_verify [--shop ID]``: recompute every balance from the entries and check every
transaction sums to zero; print each drift and exit non-zero when there is any."""

from django.core.management.base import BaseCommand, CommandError

from payouts import services


class Command(BaseCommand):
    help = "Check the payouts ledger: balances equal their entries, transactions sum to zero."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="one shop's id (default: every shop)")

    def handle(self, *args, shop=None, **options):
        drifts = services.ledger_verify(shop=shop)
        for drift in drifts:
            self.stderr.write(str(drift))
        if drifts:
            raise CommandError(f"payouts ledger: {len(drifts)} problem(s)")
        self.stdout.write("payouts ledger: balances and transactions agree")
