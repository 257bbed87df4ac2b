"""Order-flow report types: ``orders_funnel`` (how long orders take to be confirmed, packed and handed over, and
how many miss their ship-by time) and ``returns`` (return rate and reasons by product).

Both read the orders app through its selectors (``report_orders``, ``report_lines``, ``report_return_lines``),
which apply the actor's scopes with ``restrict``; everything is aggregated in SQL, in a fixed number of
queries whatever the number of orders. Days, weeks (from Monday) and months are the shop's, across DST changes
(the truncation is done in the shop's zone, per row).

- Times are measured from the order's arrival (``created_at``): to confirm = ``confirmed_at``, to pack =
  ``packed_at``, to ship = ``shipped_at`` (handed to the carrier), each over the orders that reached the step
  (an order cancelled later still counts for the steps it reached). Median and mean, in hours. The median is
  found with window functions (the middle row or two of each bucket), so it is the same SQL on PostgreSQL and
  on the embedded SQLite.
- Overdue: an order not cancelled that was handed over after its ``ship_by``, or is still open past it now;
  the share is of the bucket's orders that were not cancelled.
- Returns: the units of the period's orders (not cancelled) and the units that came back from them (returns
  received, refunded or exchanged, whenever that was: as the sales rollups count returned units; a return only
  requested or rejected is not a return yet); the rate is returned ÷ sold. Reasons are the returns' own words,
  most frequent first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum, Window
from django.db.models.functions import RowNumber, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.authz import Actor
from backoffice.reports import Chart, Column, Param, ReportType
from backoffice.tenancy.zones import day_bounds, shop_zone
from orders import selectors as orders_selectors

HOUR = Decimal("0.01")
PERCENT = Decimal("0.01")
GROUPINGS = (("day", _("Day")), ("week", _("Week")), ("month", _("Month")))
TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
CANCELLED = "cancelled"
OPEN_STATES = ("awaiting_confirmation", "awaiting_packaging", "awaiting_deliver")
STEPS = {"confirm": "confirmed_at", "pack": "packed_at", "ship": "shipped_at"}
REASONS_SHOWN = 5


def period_params() -> tuple[Param, Param]:
    """``date_from``/``date_to``: days of the shop (the current zone is the shop's in a request and in a task);
    by default the last 30 days, today included."""
    return (
        Param("date_from", _("From"), "date", default=lambda: timezone.localdate() - timedelta(days=29)),
        Param("date_to", _("To"), "date", default=timezone.localdate),
    )


def period_bounds(shop, params: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """The instants ``[start, end)`` of the period's days in the shop's zone."""
    zone = shop_zone(shop)
    return day_bounds(params["date_from"], zone)[0], day_bounds(params["date_to"], zone)[1]


def bucket_of(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    if group_by == "month":
        return day.replace(day=1)
    return day


def buckets(params: Mapping[str, Any], group_by: str) -> list[date]:
    """Every bucket of the period, oldest first (empty ones too: a chart shows the gap)."""
    out: list[date] = []
    day = params["date_from"]
    while day <= params["date_to"]:
        bucket = bucket_of(day, group_by)
        if not out or out[-1] != bucket:
            out.append(bucket)
        day += timedelta(days=1)
    return out


def _local_day(value: Any, zone) -> date:
    """A truncated bucket as the shop's date (a DateTimeField truncation comes back aware, in ``zone``)."""
    return timezone.localtime(value, zone).date() if isinstance(value, datetime) else value


def _hours(value: timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 3600).quantize(HOUR, rounding=ROUND_HALF_UP)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part`` of ``whole`` in percent (2 places), None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------------ orders_funnel


def _duration(field: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) - F("created_at"), output_field=DurationField())


def _medians(orders, trunc, field: str, zone) -> dict[date, timedelta]:
    """{bucket: median time from arrival to ``field``} over the orders that reached it: each bucket's rows are
    numbered by duration, and the middle one (odd count) or two (even count) are read back. One query."""
    duration = _duration(field)
    ranked = (
        orders.filter(**{f"{field}__isnull": False})
        .annotate(
            bucket=trunc, took=duration,
            rn=Window(RowNumber(), partition_by=[trunc], order_by=[duration.asc(), F("pk").asc()]),
            n=Window(Count("pk"), partition_by=[trunc]),
        )
        .filter(rn__gte=(F("n") + 1) / 2, rn__lte=(F("n") + 2) / 2)
    )  # fmt: skip
    middle: dict[date, list[timedelta]] = defaultdict(list)
    for bucket, took in ranked.values_list("bucket", "took"):
        middle[_local_day(bucket, zone)].append(took)
    return {bucket: sum(values, timedelta()) / len(values) for bucket, values in middle.items()}


def build_funnel(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    shop = actor.shop
    zone = shop_zone(shop)
    start, end = period_bounds(shop, params)
    group_by = params["group_by"]
    trunc = TRUNC[group_by]("created_at", tzinfo=zone)
    orders = orders_selectors.report_orders(shop=shop, actor=actor, start=start, end=end).order_by()
    now = timezone.now()
    live = ~Q(state=CANCELLED)
    late = live & (Q(shipped_at__gt=F("ship_by")) | Q(shipped_at__isnull=True, state__in=OPEN_STATES, ship_by__lt=now))
    averages = {f"{step}_avg": Avg(_duration(field)) for step, field in STEPS.items()}
    totals = {
        _local_day(row["bucket"], zone): row
        for row in orders.annotate(bucket=trunc).values("bucket").annotate(
            orders=Count("pk"), cancelled=Count("pk", filter=Q(state=CANCELLED)), live=Count("pk", filter=live),
            overdue=Count("pk", filter=late), **averages,
        )
    }  # fmt: skip
    progress(40)
    medians = {step: _medians(orders, trunc, field, zone) for step, field in STEPS.items()}
    progress(90)
    for bucket in buckets(params, group_by):
        row = totals.get(bucket) or {"orders": 0, "cancelled": 0, "live": 0, "overdue": 0}
        figures = []
        for step in STEPS:
            figures += [_hours(medians[step].get(bucket)), _hours(row.get(f"{step}_avg"))]
        yield [bucket, row["orders"], row["cancelled"], *figures, row["overdue"], percent(row["overdue"], row["live"])]


FUNNEL = ReportType(
    key="orders_funnel",
    label=_("Order processing times"),
    description=_(
        "Hours from an order's arrival until it is confirmed, packed and handed over (median and average), and "
        "the share of orders past their ship-by time, by day, week or month."
    ),
    columns=(
        Column("period", _("Period"), "date"),
        Column("orders", _("Orders"), "int"),
        Column("cancelled", _("Cancelled"), "int"),
        Column("confirm_median_h", _("Hours to confirm, median"), "decimal"),
        Column("confirm_avg_h", _("Hours to confirm, average"), "decimal"),
        Column("pack_median_h", _("Hours to pack, median"), "decimal"),
        Column("pack_avg_h", _("Hours to pack, average"), "decimal"),
        Column("ship_median_h", _("Hours to hand over, median"), "decimal"),
        Column("ship_avg_h", _("Hours to hand over, average"), "decimal"),
        Column("overdue", _("Overdue"), "int"),
        Column("overdue_share", _("Overdue share"), "percent"),
    ),
    build=build_funnel,
    params=(*period_params(), Param("group_by", _("Group by"), "choice", default="day", choices=GROUPINGS)),
    actions=("orders.view",),
    chart=Chart(x="period", series=("confirm_median_h", "pack_median_h", "ship_median_h"), kind="line"),
)


# ------------------------------------------------------------------------------------------------ returns


def build_returns(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    shop = actor.shop
    start, end = period_bounds(shop, params)
    sold = (
        orders_selectors.report_lines(shop=shop, actor=actor, start=start, end=end).order_by()
        .values(product_id=F("sku__product_id"))
        .annotate(title=F("sku__product__title"), category=F("sku__product__category__name"), units=Sum("quantity"))
    )  # fmt: skip
    returned = orders_selectors.report_return_lines(shop=shop, actor=actor, start=start, end=end).order_by()
    units_back = dict(returned.values_list("line__sku__product_id").annotate(units=Sum("quantity")))
    progress(50)
    # Reasons per product: one return naming two lines of a product counts once for it.
    reasons: dict[int, list[tuple[str, int]]] = defaultdict(list)
    by_reason = (
        returned.values_list("line__sku__product_id", "ret__reason")
        .annotate(n=Count("ret_id", distinct=True)).order_by("line__sku__product_id", "-n", "ret__reason")
    )  # fmt: skip
    counts: dict[int, int] = defaultdict(int)
    for product_id, reason, n in by_reason:
        counts[product_id] += n
        if len(reasons[product_id]) < REASONS_SHOWN:
            reasons[product_id].append((reason.strip(), n))
    progress(80)
    rows = sorted(sold, key=lambda r: (-(units_back.get(r["product_id"]) or 0), -(r["units"] or 0), r["title"]))
    for r in rows:
        back = units_back.get(r["product_id"]) or 0
        text = "; ".join(f"{reason} ×{n}" for reason, n in reasons.get(r["product_id"], ()))
        yield [r["title"], r["category"] or "", r["units"] or 0, back, percent(back, r["units"] or 0),
               counts.get(r["product_id"], 0), text]  # fmt: skip


RETURNS = ReportType(
    key="returns",
    label=_("Returns"),
    description=_(
        "Per product: units sold in the period, units returned from those orders, the return rate and the "
        "buyers' reasons."
    ),
    columns=(
        Column("product", _("Product"), "text"),
        Column("category", _("Category"), "text"),
        Column("units_sold", _("Units sold"), "int"),
        Column("units_returned", _("Units returned"), "int"),
        Column("return_rate", _("Return rate"), "percent"),
        Column("returns", _("Returns"), "int"),
        Column("reasons", _("Reasons"), "text"),
    ),
    build=build_returns,
    params=period_params(),
    actions=("orders.view",),
    chart=Chart(x="product", series=("return_rate",), kind="bar"),
)

REPORT_TYPES = [FUNNEL, RETURNS]
