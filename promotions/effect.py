"""Effect monitoring: what the orders in a promotion's scope add up to while it runs, against the same-length
period before it started, and the snapshot (``PromotionEffect``) the page and the API read.

- ``period_figures`` is the one selector both periods go through: the same two queries per period (in-scope lines
  by order, then the promotion's uses; only the bounds differ), so "before" and "during" are measured the same
  way whatever the number of orders. An order counts when it is not cancelled, was placed (``created_at``) in ``[start, end)`` and has a
  non-gift line in the promotion's scope (whole shop: every order; categories: the SKU's product's category or
  any category below it; products; SKUs). Units and revenue are those in-scope lines' (revenue: what the buyer
  paid for them, list price × quantity − discount); the discount given is this promotion's ``PromotionUse`` on
  those orders (its amount plus the list value of its gifts: what its budget counts; none before it started).
- ``promotion_effect_current`` (page and endpoint) reads the snapshot and computes it first when there is none,
  or when the promotion changed since (an edit, a use, its start or end passing); the beat's
  ``promotion_effects_refresh`` recomputes those running or ended within ``REFRESH_ENDED_DAYS``.

The snapshot is derived data (a cache of a read), not a change a member made: writing it records no audit
entry, and reading it needs ``promotions.view`` only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import F, Min, Q, QuerySet, Sum
from django.utils import timezone

from backoffice.authz import Actor, require
from backoffice.tenancy.zones import shop_zone
from promotions import selectors
from promotions.models import Promotion, PromotionEffect, PromotionUse

if TYPE_CHECKING:
    from accounts.models import Shop

VIEW = "promotions.view"
REFRESH_ENDED_DAYS = 30  # the beat keeps refreshing a promotion this long after its end (late cancellations)
DAYS_MAX = 366  # the daily series keeps the window's last year of days
FIGURES = ("orders", "units", "revenue", "discount", "buyers", "average_order_value")
MONEY_FIGURES = frozenset({"revenue", "discount", "average_order_value"})
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# The other apps' tables, reached through this app's own foreign keys (promotions imports catalog and orders
# only through their services and selectors).
Order = PromotionUse._meta.get_field("order").related_model
OrderLine = Order._meta.get_field("lines").related_model

# One shape of query per period (the same for both): the period's in-scope lines grouped by order, then this
# promotion's uses of those orders; totals and days are added up here. ORM queries, so the figures read the same
# on PostgreSQL and on the embedded SQLite default. A category scope covers its subcategories by the same rule as
# a quote (``selectors.category_tree``).


def _ids(values: Any) -> list[int]:
    """A scope's ids as integers (the JSON may hold strings; anything else matches nothing)."""
    return [int(v) for v in values or () if str(v).isdigit()]


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def period_figures(*, promotion: Promotion, start: datetime, end: datetime, zone: Any) -> dict[str, Any]:
    """The figures of the orders in ``promotion``'s scope placed in ``[start, end)`` (two queries, three with a
    category scope): ``orders``, ``units`` (in-scope, gifts excluded), ``revenue`` (what was paid for the
    in-scope lines), ``discount`` (this promotion's discount and gift value on those orders), ``buyers``
    (distinct ``buyer_ref``; orders without one are not counted), ``average_order_value`` (None without orders),
    and ``days``: every day of the period in ``zone`` (oldest first, empty days as zeros)."""
    shop = promotion.shop_id
    scope = promotion.scope or {}
    categories, products, skus = (_ids(scope.get(k)) for k in ("categories", "products", "skus"))
    lines = (
        OrderLine.objects.for_shop(shop)
        .filter(order__created_at__gte=start, order__created_at__lt=end, is_gift=False)
        .exclude(order__state=Order.State.CANCELLED)
    )
    if categories or products or skus:
        tree = selectors.category_tree(shop=shop, rows=[promotion]) if categories else {}
        cats = selectors.with_descendants(categories, tree)
        lines = lines.filter(Q(sku__product__category_id__in=cats) | Q(sku__product_id__in=products)
                             | Q(sku_id__in=skus))  # fmt: skip
    hit = {
        row["order_id"]: row
        for row in lines.order_by().values("order_id").annotate(
            placed=Min("order__created_at"), buyer=Min("order__buyer_ref"), units=Sum("quantity"),
            revenue=Sum(F("unit_price") * F("quantity") - F("discount")),
        )
    }  # fmt: skip
    given: dict[int, Decimal] = {}
    uses = PromotionUse.objects.for_shop(shop).filter(
        promotion=promotion, order__created_at__gte=start, order__created_at__lt=end
    )
    for order_id, amount, gift in uses.order_by().values_list("order_id", "amount", "gift_value"):
        given[order_id] = given.get(order_id, ZERO) + amount + gift

    def add(into: dict, row: dict) -> None:
        into["orders"] += 1
        into["units"] += int(row["units"] or 0)
        into["revenue"] += _money(row["revenue"])
        into["discount"] += given.get(row["order_id"], ZERO)
        if row["buyer"]:
            into["_buyers"].add(row["buyer"])

    def empty() -> dict[str, Any]:
        return {"orders": 0, "units": 0, "revenue": ZERO, "discount": ZERO, "_buyers": set()}

    total, by_day = empty(), {}
    for row in hit.values():
        add(total, row)
        add(by_day.setdefault(timezone.localtime(row["placed"], zone).date(), empty()), row)

    def figures(acc: dict) -> dict[str, Any]:
        return {"orders": acc["orders"], "units": acc["units"], "revenue": _money(acc["revenue"]),
                "discount": _money(acc["discount"]), "buyers": len(acc["_buyers"])}  # fmt: skip

    orders = total["orders"]
    revenue = _money(total["revenue"])
    aov = (revenue / orders).quantize(CENT, rounding=ROUND_HALF_UP) if orders else None
    first = timezone.localtime(start, zone).date()
    last = timezone.localtime(end - timedelta(microseconds=1), zone).date() if end > start else first
    days = []
    for n in range(max(0, (last - first).days) + 1):
        day = first + timedelta(days=n)
        days.append({"day": day, **figures(by_day.get(day, empty()))})
    return {"start": start, "end": end, **figures(total), "average_order_value": aov, "days": days}


def effect_periods(*, promotion: Promotion, now: datetime) -> tuple[tuple[datetime, datetime], ...] | None:
    """``((during_start, during_end), (before_start, before_end))``: during = [starts_at, min(ends_at, now)),
    before = the same length ending at starts_at. None while there is nothing to measure (a draft, or not
    started yet)."""
    if promotion.state == Promotion.State.DRAFT or promotion.starts_at >= now:
        return None
    end = min(promotion.ends_at, now) if promotion.ends_at is not None else now
    length = end - promotion.starts_at
    return (promotion.starts_at, end), (promotion.starts_at - length, promotion.starts_at)


def uplift(during: dict | None, before: dict | None) -> dict[str, float | None] | None:
    """Per figure (during − before) / before × 100, rounded to one decimal; None for a figure that was 0 (or
    unknown) before. Reads numbers or the snapshot's money strings alike."""
    if during is None or before is None:
        return None
    out: dict[str, float | None] = {}
    for key in FIGURES:
        now_, then = during.get(key), before.get(key)
        if now_ is None or then is None or Decimal(str(then)) == 0:
            out[key] = None
            continue
        then_ = Decimal(str(then))
        change = (Decimal(str(now_)) - then_) / then_ * 100
        out[key] = float(change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return out


def promotion_effect_compute(*, promotion: Promotion, now: datetime | None = None) -> dict[str, Any]:
    """Both periods' figures (two queries, the same SQL) as the snapshot stores them: ``during``, ``before``
    (None before the start) with money as strings and the bounds as ISO instants, and ``daily`` (the window's
    days, the last ``DAYS_MAX``)."""
    now = now or timezone.now()
    periods = effect_periods(promotion=promotion, now=now)
    if periods is None:
        return {"during": None, "before": None, "daily": []}
    zone = shop_zone(promotion.shop)
    during, before = (period_figures(promotion=promotion, start=a, end=b, zone=zone) for a, b in periods)
    return {"during": _figures_json(during), "before": _figures_json(before),
            "daily": [_day_json(d) for d in during["days"][-DAYS_MAX:]]}  # fmt: skip


def _figures_json(figures: dict[str, Any]) -> dict[str, Any]:
    out = {"start": figures["start"].isoformat(), "end": figures["end"].isoformat()}
    for key in FIGURES:
        value = figures[key]
        out[key] = (None if value is None else str(value)) if key in MONEY_FIGURES else value
    return out


def _day_json(day: dict[str, Any]) -> dict[str, Any]:
    return {"day": day["day"].isoformat(), "orders": day["orders"], "units": day["units"],
            "revenue": str(day["revenue"]), "discount": str(day["discount"]), "buyers": day["buyers"]}  # fmt: skip


# ------------------------------------------------------------------------------------------------ snapshots


def is_stale(*, snapshot: PromotionEffect, promotion: Promotion, now: datetime | None = None) -> bool:
    """Whether the promotion changed since ``snapshot`` was computed: edited (``updated_at``), used or a use given
    back (its usage counters), or its start or end passed (the figures' periods moved)."""
    now = now or timezone.now()
    if snapshot.computed_at < promotion.updated_at:
        return True
    if snapshot.used_count != promotion.used_count or snapshot.spent != promotion.spent:
        return True
    return any(edge is not None and snapshot.computed_at < edge <= now
               for edge in (promotion.starts_at, promotion.ends_at))  # fmt: skip


def _store(shop_id: int, promotions: list[Promotion], now: datetime) -> list[PromotionEffect]:
    """Compute and upsert the snapshots of ``promotions`` (one INSERT … ON CONFLICT for all: two readers of a
    stale snapshot at once both write, neither fails)."""
    rows = [
        PromotionEffect(shop_id=shop_id, promotion=p, computed_at=now, used_count=p.used_count, spent=p.spent,
                        **promotion_effect_compute(promotion=p, now=now))
        for p in promotions
    ]  # fmt: skip
    if rows:
        PromotionEffect.objects.for_shop(shop_id).bulk_create(
            rows, update_conflicts=True, unique_fields=["shop", "promotion"],
            update_fields=["computed_at", "during", "before", "daily", "used_count", "spent"],
        )  # fmt: skip
    return rows


def promotion_effect_current(*, actor: Actor, promotion: Promotion) -> PromotionEffect:
    """The promotion's effect snapshot for the page and the API, computed and stored first when there is none
    or it is stale (``is_stale``). One query when fresh, four when computed."""
    require(actor, VIEW, promotion)
    now = timezone.now()
    snapshot = PromotionEffect.objects.for_shop(actor.shop).filter(promotion=promotion).first()
    if snapshot is None or is_stale(snapshot=snapshot, promotion=promotion, now=now):
        promotion.shop = actor.shop  # the zone is the shop's: no second read of the shop
        (snapshot,) = _store(actor.shop.pk, [promotion], now)
    return snapshot


def refreshable_q(now: datetime) -> Q:
    """Promotions whose figures still move: started, not a draft, and running or ended within
    ``REFRESH_ENDED_DAYS``."""
    return (
        Q(starts_at__lte=now)
        & ~Q(state=Promotion.State.DRAFT)
        & (Q(ends_at__isnull=True) | Q(ends_at__gte=now - timedelta(days=REFRESH_ENDED_DAYS)))
    )


def shops_with_effects_to_refresh(*, now: datetime | None = None) -> list[int]:
    """Platform code (the beat's scan): the shops with a promotion ``refreshable_q`` selects."""
    now = now or timezone.now()
    qs = Promotion.unscoped.filter(refreshable_q(now)).order_by().values_list("shop_id", flat=True).distinct()
    return sorted(qs)


def refreshable_promotions(*, shop: Shop, now: datetime) -> QuerySet[Promotion]:
    return Promotion.objects.for_shop(shop).filter(refreshable_q(now)).order_by("id")


def promotion_effects_refresh(*, actor: Actor, now: datetime | None = None) -> int:
    """The beat's run for one shop (as its system actor): recompute the snapshot of every promotion running or
    ended within ``REFRESH_ENDED_DAYS`` days. Returns how many. Safe to run twice (an upsert per promotion)."""
    require(actor, VIEW)
    now = now or timezone.now()
    promotions = list(refreshable_promotions(shop=actor.shop, now=now))
    for p in promotions:
        p.shop = actor.shop
    return len(_store(actor.shop.pk, promotions, now))


def effect_payload(*, snapshot: PromotionEffect) -> dict[str, Any]:
    """The snapshot as the API and the page read it: bounds as datetimes (shown in the current zone), days as
    dates, and the uplift per figure."""

    def figures(raw: dict | None) -> dict | None:
        if raw is None:
            return None
        return {**raw, "start": datetime.fromisoformat(raw["start"]), "end": datetime.fromisoformat(raw["end"])}

    return {
        "promotion": snapshot.promotion_id, "computed_at": snapshot.computed_at,
        "during": figures(snapshot.during), "before": figures(snapshot.before),
        "uplift": uplift(snapshot.during, snapshot.before),
        "daily": [{**d, "day": date.fromisoformat(d["day"])} for d in snapshot.daily or ()],
    }  # fmt: skip
