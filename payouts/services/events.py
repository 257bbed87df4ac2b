"""What the ledger books for the other apps' events: sales, settlement, refunds, ad spend.

Every posting is keyed, so replaying an event (a redelivered task, a retried request, ``payouts_backfill``)
books nothing twice; each runs inside ``ledger.book`` (the shop's balances locked), so what it reads — the
balance of ``available``, what an order still has in ``pending`` — cannot change before it posts.

**Sale** — ``order.delivered`` (``backoffice.events``, published by orders inside its transaction) →
``sale_post``: transaction ``(sale, <order id>)``, ``occurred_at`` = the delivery::

    sales −total, pending +total, pending −commission, commission +commission

The commission is ``total × PAYOUTS_COMMISSION_RATES[shop.tier]`` rounded half-up to the cent. Refunds the
order had before it was delivered are booked right after (each under its own key). A shop whose return window
is 0 days settles the sale at once.

**Settlement** — ``settle_matured`` (the hourly beat ``payouts.tasks.settle``, ``manage.py payouts_settle``):
each sale delivered at least ``shop.return_window_days`` ago (the returns' own window: once it has passed no
return can be opened) and not settled yet moves what the order still has in ``pending`` to ``available`` —
transaction ``(settle, <order id>)``. A debt is paid first: ``pending −r, debt +d, available +(r − d)``.

**Refund** — ``order.refunded`` → ``refund_post``: transaction ``(refund, <refund id>)``::

    refunds +amount, commission −given back, pending/available/debt −(amount − given back)

The commission is given back in proportion (cumulated per order and rounded once, so a fully refunded order
gets all of it back to the cent). The money comes from what the order still has in ``pending`` while its sale is
unsettled, then from ``available``, and what ``available`` cannot cover is booked as ``debt`` — never a
negative ``available``. A refund of an order that is not delivered yet books nothing now (the seller has not
been credited): ``sale_post`` books it after the sale.

**Ad spend** — ``ad_spend_sync`` (run by the settlement beat and command before settling) reads the promotions
app's daily statistics (``promotions.ads_selectors.ad_spend_days``, the last ``PAYOUTS_AD_SPEND_LOOKBACK_DAYS``
days) and charges each (campaign, day) what is not charged yet: the first charge is ``(ad_spend,
"<campaign>:<day>")``; when the integration re-pushes a day with another spend, the difference is booked as
``(ad_spend_fix, "<campaign>:<day>:<n>")``, n = 1, 2, … (a lower spend gives the difference back, paying a
debt first). ``ads +charge, available −covered, debt −rest``.

**Audit**: a run the platform starts (``settle_matured``, ``ad_spend_sync``, ``backfill``) writes one audit entry
per database transaction that booked something (``settlement.run``, ``ad_spend.charged``, ``ledger.backfilled``,
the shop as target, counts only). A sale or refund booked from an order's event is part of the orders use case
that published it (inside its transaction), whose audit entry records it: the ledger adds none.

Services take the shop's system actor (``system_actor(shop)``: platform code and tasks); a member's actor is
refused — money moves only with the events that cause it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.audit import audit_record
from backoffice.authz import Actor, as_actor, system_actor
from backoffice.errors import Forbidden
from backoffice.tenancy.zones import local_today, shop_zone
from orders import selectors as orders_selectors
from payouts import selectors
from payouts.models import ZERO, Account, Kind, LedgerEntry, LedgerTransaction
from payouts.services.ledger import CENT, Book, book
from promotions import ads_selectors

if TYPE_CHECKING:
    from accounts.models import Shop

A = Account
SETTLE_BATCH = 500


def _system(actor: Actor) -> Shop:
    actor = as_actor(actor)
    if not actor.is_system:
        raise Forbidden(_("Only the marketplace may move ledger money."), code="platform_only")
    return actor.shop


def commission_rate(shop: Shop) -> Decimal:
    """The platform's commission for the shop's tier (``PAYOUTS_COMMISSION_RATES``; 0 for a tier not listed)."""
    return Decimal(str(settings.PAYOUTS_COMMISSION_RATES.get(shop.tier, "0")))


def _charge(b: Book, amount: Decimal, refs: dict) -> list:
    """Legs taking ``amount`` from ``available``, the part it cannot cover as ``debt``."""
    covered = min(max(b.balance(A.AVAILABLE), ZERO), amount)
    return [(A.AVAILABLE, -covered, refs), (A.DEBT, -(amount - covered), refs)]


def _credit(b: Book, amount: Decimal, refs: dict) -> list:
    """Legs putting ``amount`` into ``available``, paying the debt first."""
    repaid = min(-b.balance(A.DEBT), amount)
    return [(A.DEBT, repaid, refs), (A.AVAILABLE, amount - repaid, refs)]


def _order_pending(shop_id: int, order_id: int) -> Decimal:
    """What the order still has in ``pending`` (a sum over its few entries)."""
    rows = LedgerEntry.objects.for_shop(shop_id).filter(order_id=order_id, account=A.PENDING)
    return rows.aggregate(t=Sum("amount"))["t"] or ZERO


def _txns(shop_id: int):
    return LedgerTransaction.objects.for_shop(shop_id)


# -- sales and settlement ------------------------------------------------------------------------------------
def sale_post(*, actor: Actor, order: Any) -> LedgerTransaction | None:
    """Book a delivered order's sale (and the refunds it had before delivery); None when booked already."""
    shop = _system(actor)
    total = order.total
    with book(shop) as b:
        txn = None
        if total > 0:
            refs = {"order": order.pk}
            commission = (total * commission_rate(shop)).quantize(CENT, rounding=ROUND_HALF_UP)
            txn = b.post(kind=Kind.SALE, key=str(order.pk), memo=f"order {order.number}",
                         at=order.delivered_at or timezone.now(),
                         entries=[(A.SALES, -total, refs), (A.PENDING, total, refs), (A.PENDING, -commission, refs),
                                  (A.COMMISSION, commission, refs)])  # fmt: skip
        if txn is not None:
            earlier = orders_selectors.refund_list(shop=shop, actor=actor, filters={"order": order.pk}).order_by("id")
            for refund in earlier:
                _refund(b, shop, order, refund)
            if shop.return_window_days == 0:
                _settle(b, order.pk, memo=f"order {order.number}")
                _close(b.shop_id, [str(order.pk)])
    return txn


def _settle(b: Book, order_id: int, *, memo: str) -> Decimal:
    """Move what the order still has in ``pending`` to ``available`` (paying a debt first); returns how much
    (0: nothing left, or settled already). The caller marks the sale settled (``_close``) either way."""
    remaining = _order_pending(b.shop_id, order_id)
    if remaining <= 0:
        return ZERO
    refs = {"order": order_id}
    txn = b.post(kind=Kind.SETTLE, key=str(order_id), memo=memo,
                 entries=[(A.PENDING, -remaining, refs), *_credit(b, remaining, refs)])  # fmt: skip
    return ZERO if txn is None else remaining


def _close(shop_id: int, keys: list[str]) -> None:
    """Mark these sales settled (``settled_at``): they leave the unsettled sales' partial index. One UPDATE."""
    if keys:
        _txns(shop_id).filter(kind=Kind.SALE, key__in=keys, settled_at__isnull=True).update(settled_at=timezone.now())


def matured_sales(*, shop: Shop, now: datetime | None = None, limit: int | None = None):
    """``selectors.pending_sales`` past the shop's return window at ``now``: what the next settlement moves."""
    cutoff = (now or timezone.now()) - timedelta(days=shop.return_window_days)
    qs = selectors.pending_sales(shop=shop).filter(occurred_at__lte=cutoff)
    return qs[:limit] if limit else qs


def settle_matured(*, actor: Actor, now: datetime | None = None) -> int:
    """Move every matured sale of the shop from ``pending`` to ``available`` (paying a debt first); returns how
    many sales were settled. A matured sale with nothing left in ``pending`` (refunded in full) is marked settled
    too, so no run reads it again.

    Batches of ``SETTLE_BATCH`` sales (the shop's balance rows are locked while one runs, so withdrawals wait at
    most one batch), each one database transaction with one audit entry ``settlement.run`` (how many sales) when
    it settled anything: an hourly run writes one entry, not one per order."""
    shop = _system(actor)
    cutoff = (now or timezone.now()) - timedelta(days=shop.return_window_days)
    done = 0
    while True:
        with book(shop) as b:
            # The unsettled sales past the window (the partial index), oldest first; each leaves the set below.
            batch = list(selectors.unsettled_sales(shop=shop).filter(occurred_at__lte=cutoff)
                         .order_by("occurred_at", "id").values_list("key", "memo")[:SETTLE_BATCH])  # fmt: skip
            settled = 0
            for key, memo in batch:
                settled += _settle(b, int(key), memo=memo) > 0
            _close(b.shop_id, [key for key, _memo in batch])
            if settled:
                # Counts, not amounts: an audit reader may lack payouts.view (the ledger holds the amounts).
                audit_record(shop=shop, actor=actor, action="settlement.run", target=shop,
                             changes={"sales": [None, settled]})  # fmt: skip
            done += settled
        if len(batch) < SETTLE_BATCH:
            return done


# -- refunds -------------------------------------------------------------------------------------------------
def _refund(b: Book, shop: Shop, order: Any, refund: Any) -> LedgerTransaction | None:
    sale = _txns(b.shop_id).filter(kind=Kind.SALE, key=str(order.pk)).first()
    if sale is None:
        return None  # not delivered yet: the sale books it
    legs = dict(LedgerEntry.objects.for_shop(b.shop_id).filter(transaction=sale, account__in=[A.SALES, A.COMMISSION])
                .values_list("account", "amount"))  # fmt: skip
    total, commission = -legs.get(A.SALES, ZERO), legs.get(A.COMMISSION, ZERO)
    before = (LedgerEntry.objects.for_shop(b.shop_id).filter(order_id=order.pk, account=A.REFUNDS)
              .aggregate(t=Sum("amount"))["t"] or ZERO)  # fmt: skip
    amount = refund.amount

    def given_back(refunded: Decimal) -> Decimal:
        return (commission * min(refunded, total) / total).quantize(CENT, rounding=ROUND_HALF_UP)

    back = given_back(before + amount) - given_back(before)
    net = amount - back
    refs = {"order": order.pk, "refund": refund.pk}
    settled = _txns(b.shop_id).filter(kind=Kind.SETTLE, key=str(order.pk)).exists()
    from_pending = ZERO if settled else min(max(_order_pending(b.shop_id, order.pk), ZERO), net)
    return b.post(kind=Kind.REFUND, key=str(refund.pk), memo=f"order {order.number}", at=refund.created_at,
                  entries=[(A.REFUNDS, amount, refs), (A.COMMISSION, -back, refs), (A.PENDING, -from_pending, refs),
                           *_charge(b, net - from_pending, refs)])  # fmt: skip


def refund_post(*, actor: Actor, order: Any, refund: Any) -> LedgerTransaction | None:
    """Book a refund of a delivered order (see the module's docstring); None when booked already or when the
    order is not delivered yet."""
    shop = _system(actor)
    with book(shop) as b:
        return _refund(b, shop, order, refund)


# -- ad spend ------------------------------------------------------------------------------------------------
def _day_start(shop: Shop, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=shop_zone(shop))


def ad_spend_sync(*, actor: Actor, today: date | None = None) -> int:
    """Charge the ad spend pushed for the last ``PAYOUTS_AD_SPEND_LOOKBACK_DAYS`` days that is not charged yet
    (and give back what a lower re-push took off); returns how many transactions were booked."""
    shop = _system(actor)
    today = today or local_today(shop_zone(shop))
    since = today - timedelta(days=settings.PAYOUTS_AD_SPEND_LOOKBACK_DAYS)
    days = ads_selectors.ad_spend_days(shop=shop, since=since)
    if not days:
        return 0
    booked = 0
    with book(shop) as b:
        charged: dict[str, Decimal] = defaultdict(lambda: ZERO)
        fixes: Counter[str] = Counter()
        rows = LedgerEntry.objects.for_shop(shop).filter(
            account=A.ADS, kind__in=[Kind.AD_SPEND, Kind.AD_SPEND_FIX], campaign_id__in={c for c, _d, _s in days},
            transaction__occurred_at__gte=_day_start(shop, since),
        )  # fmt: skip
        for key, kind, amount in rows.values_list("transaction__key", "kind", "amount"):
            base = ":".join(key.split(":")[:2])
            charged[base] += amount
            fixes[base] += kind == Kind.AD_SPEND_FIX
        first_keys = set(_txns(shop.pk).filter(kind=Kind.AD_SPEND, key__in=[f"{c}:{d.isoformat()}" for c, d, _s in days])
                         .values_list("key", flat=True))  # fmt: skip
        for campaign_id, day, spend in days:
            base = f"{campaign_id}:{day.isoformat()}"
            diff = spend - charged[base]
            if diff == 0:
                continue
            refs = {"campaign": campaign_id}
            # A charge takes from available (then debt); a lower re-push gives back (paying a debt first).
            money = _charge(b, diff, refs) if diff > 0 else _credit(b, -diff, refs)
            if base in first_keys:
                kind, key = Kind.AD_SPEND_FIX, f"{base}:{fixes[base] + 1}"
            else:
                kind, key = Kind.AD_SPEND, base
            txn = b.post(kind=kind, key=key, memo=f"campaign {campaign_id} {day.isoformat()}",
                         at=_day_start(shop, day), entries=[(A.ADS, diff, refs), *money])  # fmt: skip
            booked += txn is not None
        if booked:  # one audit entry for the run (its transaction), not one per campaign-day; counts, not amounts
            audit_record(shop=shop, actor=actor, action="ad_spend.charged", target=shop,
                         changes={"charges": [None, booked]})  # fmt: skip
    return booked


# -- event handlers (backoffice.events, subscribed in payouts/apps.py) -----------------------------------------
def on_order_delivered(*, shop: Shop, order: Any, **_payload: Any) -> None:
    sale_post(actor=system_actor(shop), order=order)


def on_order_refunded(*, shop: Shop, order: Any, refund: Any, **_payload: Any) -> None:
    refund_post(actor=system_actor(shop), order=order, refund=refund)


def backfill(*, actor: Actor) -> int:
    """Book what happened before payouts existed (or while its events were lost): every delivered order's sale,
    then every refund. Idempotent (keys); returns how many transactions were booked."""
    shop = _system(actor)
    booked = 0
    delivered = orders_selectors.order_list(shop=shop, actor=actor, filters={"state": "delivered"}, prefetch=False)
    for order in delivered.order_by("delivered_at", "id").iterator(chunk_size=500):
        booked += sale_post(actor=actor, order=order) is not None
    refunds = orders_selectors.refund_list(shop=shop, actor=actor).order_by("id")
    for refund in refunds.iterator(chunk_size=500):
        booked += refund_post(actor=actor, order=refund.order, refund=refund) is not None
    if booked:  # each posting committed on its own (a long backfill holds no lock for long); one entry for the run
        audit_record(shop=shop, actor=actor, action="ledger.backfilled", target=shop,
                     changes={"postings": [None, booked]})  # fmt: skip
    return booked
