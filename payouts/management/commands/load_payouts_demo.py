"""Demo payouts for the demo shops, run by ``load_demo`` after the catalog, orders (``simulate_orders``) and
promotions demos, so delivered orders, their refunds and 30 days of ad statistics already exist:

- every delivered order's sale and every refund is booked (``payouts_backfill``'s service: the events booked most
  of them already; this books what they missed);
- the older half of the pending sales is settled: ``settle_matured`` run with the clock set just past the
  return window of the median sale (the services' ``now``), the younger half stays pending;
- the ad spend the promotions demo pushed is charged (``ad_spend_sync``);
- a refund, if the storefront simulator made none;
- three withdrawals through the withdrawal services: one paid (approved and paid by the demo platform user
  ``platform-payouts``, staff holding ``payouts.change_withdrawal``, the demo password: it can sign in to
  ``/admin/`` and approve or pay the requested one), one requested, and one
  awaiting a second approval (above the threshold set for the shop: a finance member may approve it).

Safe to run again: the postings are keyed, and a shop that has withdrawals is not given more.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from backoffice.authz import load_actor, system_actor, tenant_model
from orders import selectors as order_selectors
from orders import services as order_services
from payouts import selectors, services
from payouts.models import Account, Kind, LedgerTransaction, Withdrawal
from payouts.services import withdrawals

PLATFORM_USER = "platform-payouts"
# The password of every demo login (accounts' ``load_demo`` DEMO_PASSWORD, the catalog demo's moderator): the
# README lists them. Written here rather than imported: an app reaches accounts only through its services.
DEMO_PASSWORD = "demo-pass-2026"
BANK_REFERENCE = "DEMO-PAYOUT-0001"


def platform_user():
    """The marketplace's payout clerk of the demo: staff with the withdrawal decision right and the demo password,
    so the demo's requested withdrawal can be approved and paid in ``/admin/`` (or the platform API). A clerk left
    without a usable password by an earlier demo gets it; a password someone set is kept."""
    user, created = get_user_model().objects.get_or_create(
        username=PLATFORM_USER, defaults={"email": f"{PLATFORM_USER}@example.com", "is_staff": True}
    )
    if created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    perms = Permission.objects.filter(content_type__app_label="payouts",
                                      codename__in=["change_withdrawal", "view_withdrawal"])  # fmt: skip
    user.user_permissions.add(*perms)
    return get_user_model().objects.get(pk=user.pk)  # the permission cache starts empty


def _whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("1"), rounding=ROUND_DOWN).quantize(Decimal("0.01"))


class Command(BaseCommand):
    help = "Book the demo shops' sales, settle some, charge ad spend, and make paid/requested/awaiting withdrawals."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, action="append", help="shop id (repeatable); default: every shop")

    # Withdrawal notices stay in the app: no emails to example.com addresses.
    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def handle(self, *args, shop=None, **options):
        shops = tenant_model().objects.order_by("id")
        if shop:
            shops = shops.filter(pk__in=shop)
            if not shops.exists():
                raise CommandError("No such shop.")
        for s in shops:
            self.stdout.write(self.style.SUCCESS(f"  {s.name}: {self.load(s)}"))
        if get_user_model().objects.filter(username=PLATFORM_USER).exists():
            self.stdout.write(f"  Platform payouts clerk: {PLATFORM_USER} (password {DEMO_PASSWORD}), approves and "
                              "pays withdrawals at /admin/")  # fmt: skip

    def load(self, shop) -> str:
        system = system_actor(shop)
        booked = services.backfill(actor=system)
        txns = LedgerTransaction.objects.for_shop(shop)
        settled = 0
        if not txns.filter(kind=Kind.SETTLE).exists():
            # The older half matures: the clock is set just past the window of the median pending sale.
            # Distinct times, and the clock exactly at the median's maturity (a sale matures when occurred_at +
            # window <= now): sales delivered within the same second must not all mature together.
            pending = sorted(set(selectors.pending_sales(shop=shop).values_list("occurred_at", flat=True)))
            if len(pending) > 1:
                cutoff = pending[(len(pending) - 1) // 2]
                now = cutoff + timezone.timedelta(days=shop.return_window_days)
                settled = services.settle_matured(actor=system, now=now)
        ads = services.ad_spend_sync(actor=system)
        refunds = self._refund(shop)
        made = "withdrawals already there"
        if not Withdrawal.objects.for_shop(shop).exists():
            made = self._withdrawals(shop)
        b = selectors.balance(shop=shop)
        return (f"{booked} postings booked, {settled} sales settled, {ads} ad charges, {refunds} refund(s) added; "
                f"{made}; available {b[Account.AVAILABLE]}, pending {b[Account.PENDING]}, "
                f"in transit {b[Account.IN_TRANSIT]}")  # fmt: skip

    def _refund(self, shop) -> int:
        """A refund of a delivered order when the simulator made none (its event books it)."""
        if LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.REFUND).exists():
            return 0
        owner = load_actor(shop.owner, shop)
        delivered = order_selectors.order_list(shop=shop, actor=owner, filters={"state": "delivered"}, prefetch=False)
        order = delivered.order_by("-total", "id").first()
        if order is None:
            return 0
        order_services.refund_create(actor=owner, order=order, amount=min(Decimal("100.00"), order.total),
                                     reason="Goodwill: late delivery")  # fmt: skip
        return 1

    def _withdrawals(self, shop) -> str:
        available = selectors.balance(shop=shop)[Account.AVAILABLE]
        paid_amount, requested_amount = _whole(available * Decimal("0.2")), _whole(available * Decimal("0.1"))
        awaiting_amount, threshold = _whole(available * Decimal("0.3")), _whole(available * Decimal("0.25"))
        if requested_amount < 1:
            return "no withdrawals (nothing available)"
        owner = load_actor(shop.owner, shop)
        clerk = platform_user()
        with transaction.atomic():
            paid = withdrawals.withdrawal_request(actor=owner, amount=paid_amount)
            withdrawals.withdrawal_platform_approve(platform_user=clerk, withdrawal=paid)
            withdrawals.withdrawal_mark_paid(platform_user=clerk, withdrawal=paid, bank_reference=BANK_REFERENCE)
            withdrawals.withdrawal_request(actor=owner, amount=requested_amount)
            withdrawals.payout_settings_update(actor=owner, second_approval_above=threshold)
            awaiting = withdrawals.withdrawal_request(actor=owner, amount=awaiting_amount)
        return (f"withdrawals: {paid_amount} paid, {requested_amount} requested, {awaiting_amount} "
                f"{awaiting.get_status_display().lower()} (second approval above {threshold})")  # fmt: skip
