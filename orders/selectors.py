"""Reads for orders: scoped, filtered querysets and the buyer-contact masking every edge uses
(API, pages, packing slips, exports)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from backoffice.authz import Actor, can, restrict
from backoffice.errors import ValidationFailed
from backoffice.lookups import in_array
from orders.models import DeliveryMethod, Order, OrderAllocation, OrderEvent, OrderLine, Refund, Return, ReturnLine

MASK = "•••"


# ---------------------------------------------------------------------------------------------
# masking


def may_see_contact(actor: Actor | None) -> bool:
    return can(actor, "orders.view_buyer_contact")


def mask_name(name: str) -> str:
    return f"{name[:1]}{MASK}" if name else ""


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return f"{MASK}{''.join(digits[-2:])}" if digits else MASK


def buyer_of(order: Order, visible: bool) -> dict[str, Any]:
    """The buyer's contact as this member may see it."""
    return buyer_fields(order.buyer_name, order.buyer_phone, order.buyer_address, visible)


def buyer_fields(name: str, phone: str, address: str, visible: bool) -> dict[str, Any]:
    if visible:
        return {"name": name, "phone": phone, "address": address, "masked": False}
    return {"name": mask_name(name), "phone": mask_phone(phone), "address": MASK if address else "", "masked": True}


# ---------------------------------------------------------------------------------------------
# orders


def _scoped(qs: QuerySet, actor: Actor | None, action: str) -> QuerySet:
    """Narrow to the actor's shop and action, and — for a member limited to chosen warehouses — to
    orders with at least one line allocated in one of them."""
    qs = restrict(qs, actor, action)
    if actor is not None and "warehouse" in actor.scopes:
        qs = qs.filter(
            Exists(
                OrderAllocation.objects.for_shop(actor.shop).filter(
                    order_id=OuterRef("pk"), warehouse_id__in=actor.scopes["warehouse"]
                )
            )
        )
    return qs


def _truthy(value) -> bool | None:
    if value in (None, ""):
        return None
    return str(value).lower() in ("1", "true", "yes", "on")


def _when(value, field: str, *, end: bool = False):
    if value in (None, ""):
        return None
    moment = parse_datetime(str(value))
    if moment is None:
        day = parse_date(str(value))
        if day is None:
            raise ValidationFailed("Bad date.", fields={field: ["Use YYYY-MM-DD or an ISO date-time."]})
        moment = datetime.combine(day, time.max if end else time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def order_filter(qs: QuerySet, actor: Actor | None, filters) -> QuerySet:
    filters = filters or {}
    get = filters.get
    if get("state"):
        states = [s for s in str(get("state")).split(",") if s]
        bad = set(states) - set(Order.State.values)
        if bad:
            raise ValidationFailed("Unknown state.", fields={"state": [f"Unknown state: {', '.join(sorted(bad))}"]})
        qs = qs.filter(state__in=states)
    if get("delivery_method"):
        if get("delivery_method") not in DeliveryMethod.values:
            raise ValidationFailed("Unknown delivery method.", fields={"delivery_method": ["Unknown."]})
        qs = qs.filter(delivery_method=get("delivery_method"))
    if (start := _when(get("date_from"), "date_from")) is not None:
        qs = qs.filter(created_at__gte=start)
    if (end := _when(get("date_to"), "date_to", end=True)) is not None:
        qs = qs.filter(created_at__lte=end)
    overdue = _truthy(get("overdue"))
    if overdue is not None:
        late = Q(state__in=Order.OPEN_STATES, ship_by__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if get("warehouse"):
        try:
            warehouse = int(get("warehouse"))
        except (TypeError, ValueError):
            raise ValidationFailed("Bad warehouse.", fields={"warehouse": ["Give a warehouse id."]})
        qs = qs.filter(
            Exists(OrderAllocation.unscoped.filter(order_id=OuterRef("pk"), shop_id=OuterRef("shop_id"),
                                                   warehouse_id=warehouse))
        )  # fmt: skip
    search = str(get("search") or "").strip()
    if search:
        q = Q(number=search) | Q(external_id=search) | Q(sku_codes__icontains=search)
        # Buyer fields are searchable only by members who may see them (no probing masked data).
        if may_see_contact(actor):
            q |= Q(buyer_name__icontains=search) | Q(buyer_phone__icontains=search)
        qs = qs.filter(q)
    return qs


SORTS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),
    "id": ("id",),
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "ship_by": ("ship_by", "id"),
    "-ship_by": ("-ship_by", "-id"),
    "-total": ("-total", "-id"),
    "total": ("total", "id"),
}


def order_list(*, shop, actor: Actor | None, filters=None, action: str = "orders.view",
               prefetch: bool = True) -> QuerySet[Order]:  # fmt: skip
    """The orders this member may see, filtered (state, date_from/date_to, delivery_method, overdue,
    warehouse, search by number / external number / SKU / buyer), with lines prefetched."""
    qs = _scoped(Order.objects.for_shop(shop), actor, action)
    qs = order_filter(qs, actor, filters)
    if not prefetch:
        return qs
    return qs.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.for_shop(shop).order_by("id")))


LINE_FIELDS = ("id", "order_id", "sku_code", "sku_id", "title", "quantity", "unit_price", "returned_quantity")


def lines_by_order(*, shop, order_ids) -> dict[int, list[dict]]:
    """The lines of these orders as plain rows, one query (the list's fast path)."""
    out: dict[int, list[dict]] = {}
    rows = OrderLine.objects.for_shop(shop).filter(in_array("order_id", order_ids)).order_by("id").values(*LINE_FIELDS)
    for row in rows:
        out.setdefault(row["order_id"], []).append(row)
    return out


def order_sort(value) -> tuple[str, ...]:
    if value in (None, ""):
        return SORTS["-id"]
    if value not in SORTS:
        raise ValidationFailed("Unknown sort.", fields={"sort": [f"Choose one of: {', '.join(SORTS)}"]})
    return SORTS[value]


def order_detail_queryset(*, shop, actor: Actor | None, action: str = "orders.view") -> QuerySet[Order]:
    """Orders with everything the detail shows, in a constant number of queries."""
    return _scoped(Order.objects.for_shop(shop), actor, action).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.for_shop(shop).order_by("id")),
        Prefetch("allocations", queryset=OrderAllocation.objects.for_shop(shop).select_related("warehouse")),
        Prefetch(
            "events", queryset=OrderEvent.objects.for_shop(shop).select_related("actor").order_by("created_at", "id")
        ),
        Prefetch("returns", queryset=Return.objects.for_shop(shop).order_by("-id")),
        Prefetch("refunds", queryset=Refund.objects.for_shop(shop).select_related("actor").order_by("-id")),
    )


def order_get(*, shop, actor: Actor | None, pk, action: str = "orders.view") -> Order | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return order_detail_queryset(shop=shop, actor=actor, action=action).filter(pk=pk).first()


def state_counts(*, shop, actor: Actor | None, filters=None) -> dict[str, int]:
    """Orders per state for the list tabs (the other filters applied, the state filter not)."""
    filters = {k: v for k, v in (filters or {}).items() if k != "state"}
    qs = order_filter(_scoped(Order.objects.for_shop(shop), actor, "orders.view"), actor, filters)
    counts = dict.fromkeys(Order.State.values, 0)
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    counts["all"] = sum(counts.values())
    return counts


def overdue_count(*, shop, actor: Actor | None) -> int:
    return order_filter(_scoped(Order.objects.for_shop(shop), actor, "orders.view"), actor, {"overdue": "1"}).count()


# ---------------------------------------------------------------------------------------------
# returns and refunds


def return_list(*, shop, actor: Actor | None, filters=None, action: str = "orders.view") -> QuerySet[Return]:
    qs = Return.objects.for_shop(shop).filter(order__in=_scoped(Order.objects.for_shop(shop), actor, action))
    filters = filters or {}
    if filters.get("state"):
        if filters["state"] not in Return.State.values:
            raise ValidationFailed("Unknown state.", fields={"state": ["Unknown state."]})
        qs = qs.filter(state=filters["state"])
    if filters.get("order"):
        qs = qs.filter(order_id=filters["order"]) if str(filters["order"]).isdigit() else qs.none()
    return qs.select_related("order", "created_by").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.for_shop(shop).select_related("line", "warehouse").order_by("id"))
    )


def refund_list(*, shop, actor: Actor | None, filters=None, action: str = "orders.view") -> QuerySet[Refund]:
    qs = Refund.objects.for_shop(shop).filter(order__in=_scoped(Order.objects.for_shop(shop), actor, action))
    filters = filters or {}
    if filters.get("order"):
        qs = qs.filter(order_id=filters["order"]) if str(filters["order"]).isdigit() else qs.none()
    return qs.select_related("order", "actor")


def export_list(*, shop, actor: Actor):
    from orders.models import ExportJob

    return restrict(ExportJob.objects.for_shop(shop), actor, "orders.export").select_related("created_by")
