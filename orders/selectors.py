"""Reads for orders: querysets narrowed by the one checker (``restrict``: the action and, through
``Order.scope_paths``, a member's warehouses and categories), the order and return state machines as the pages offer
them, and the buyer-contact masking every edge uses (API, pages, packing slips, exports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, TextField
from django.db.models.functions import Cast, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, in_scope, restrict
from backoffice.errors import ValidationFailed
from backoffice.lookups import in_array
from backoffice.parsing import BIGINT_MAX, parse_day_or_moment, parse_optional_id
from backoffice.tenancy.zones import day_bounds, local_today, shop_zone
from catalog import selectors as catalog_selectors
from orders.models import (
    ORDER_STEPS,
    RETURN_STEPS,
    Carrier,
    DeliveryMethod,
    ExportJob,
    Order,
    OrderAllocation,
    OrderEvent,
    OrderLine,
    Refund,
    Return,
    ReturnLine,
)

if TYPE_CHECKING:
    from accounts.models import Shop

Filters = Mapping[str, Any]
MASK = "•••"


# ---------------------------------------------------------------------------------------------
# masking


def may_see_contact(*, actor: Actor | None) -> bool:
    return can(actor, "orders.view_buyer_contact")


def _mask_name(name: str) -> str:
    return f"{name[:1]}{MASK}" if name else ""


def _mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return f"{MASK}{''.join(digits[-2:])}" if digits else MASK


def buyer_of(*, order: Order, visible: bool) -> dict[str, Any]:
    """The buyer's contact as this member may see it."""
    return buyer_fields(name=order.buyer_name, phone=order.buyer_phone, address=order.buyer_address, visible=visible)


def buyer_fields(*, name: str, phone: str, address: str, visible: bool) -> dict[str, Any]:
    if visible:
        return {"name": name, "phone": phone, "address": address, "masked": False}
    return {"name": _mask_name(name), "phone": _mask_phone(phone), "address": MASK if address else "", "masked": True}


# ---------------------------------------------------------------------------------------------
# orders


def _truthy(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    return str(value).lower() in ("1", "true", "yes", "on")


def _pk(value: Any) -> int | None:
    """A row id from a URL or a caller, or None when it cannot be one (then nothing is found)."""
    try:
        pk = int(getattr(value, "pk", value))
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk <= BIGINT_MAX else None


def _moment(value: Any, field: str, *, end_of_day: bool = False) -> datetime | None:
    """A date filter (``parse_day_or_moment``) that also exists in UTC: ``0001-01-01T00:00+14:00`` is a real
    calendar moment but falls before year 1 in UTC, which SQLite's adapter cannot write (an OverflowError,
    a 500); it is refused as the impossible dates are."""
    moment = parse_day_or_moment(value, field, end_of_day=end_of_day)
    if moment is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            message = _("Use a real date, YYYY-MM-DD, or an ISO date-time.")
            raise ValidationFailed(message, fields={field: [message]}) from None
    return moment


def _filtered(qs: QuerySet[Order], actor: Actor | None, filters: Filters | None, shop: Shop) -> QuerySet[Order]:
    filters = filters or {}
    get = filters.get
    if get("state"):
        states = [s for s in str(get("state")).split(",") if s]
        bad = set(states) - set(Order.State.values)
        if bad:
            raise ValidationFailed(_("Unknown state."), fields={"state": [
                _("Unknown state: %(states)s") % {"states": ", ".join(sorted(bad))}]})  # fmt: skip
        qs = qs.filter(state__in=states)
    if get("delivery_method"):
        if get("delivery_method") not in DeliveryMethod.values:
            raise ValidationFailed(_("Unknown delivery method."), fields={"delivery_method": [_("Unknown.")]})
        qs = qs.filter(delivery_method=get("delivery_method"))
    if (start := _moment(get("date_from"), "date_from")) is not None:
        qs = qs.filter(created_at__gte=start)
    if (end := _moment(get("date_to"), "date_to", end_of_day=True)) is not None:
        qs = qs.filter(created_at__lte=end)
    overdue = _truthy(get("overdue"))
    if overdue is not None:
        late = Q(state__in=Order.OPEN_STATES, ship_by__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if due := get("due"):
        qs = qs.filter(due_q(shop=shop, value=due))
    if (warehouse := parse_optional_id(get("warehouse"), "warehouse")) is not None:
        qs = qs.filter(
            Exists(OrderAllocation.unscoped.filter(order_id=OuterRef("pk"), shop_id=OuterRef("shop_id"),
                                                   warehouse_id=warehouse))
        )  # fmt: skip
    search = str(get("search") or "").strip()
    if search:
        q = Q(number=search) | Q(external_id=search) | Q(sku_codes__icontains=search)
        # Buyer fields are searchable only by members who may see them (no probing masked data).
        if may_see_contact(actor=actor):
            q |= Q(buyer_name__icontains=search) | Q(buyer_phone__icontains=search)
        qs = qs.filter(q)
    return qs


DUE_CHOICES = ("today", "overdue")


def due_q(*, shop: Shop, value: Any, now: datetime | None = None) -> Q:
    """Open orders by their ship-by deadline: ``today`` (the deadline falls on the shop's today, in its time
    zone, as ``due_today_count`` counts them) or ``overdue`` (already past, as ``overdue=1``)."""
    now = now or timezone.now()
    open_ = Q(state__in=Order.OPEN_STATES)
    if value == "overdue":
        return open_ & Q(ship_by__lt=now)
    if value == "today":
        zone = shop_zone(shop)
        start, end = day_bounds(local_today(zone, now=now), zone)
        return open_ & Q(ship_by__gte=start, ship_by__lt=end)
    message = _("Choose one of: %(v)s") % {"v": ", ".join(DUE_CHOICES)}
    raise ValidationFailed(_("Unknown deadline filter."), fields={"due": [message]})


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


def _orders(*, shop: Shop, actor: Actor | None, action: str) -> QuerySet[Order]:
    return restrict(Order.objects.for_shop(shop), actor, action)


def order_list(*, shop: Shop, actor: Actor | None, filters: Filters | None = None, action: str = "orders.view",
               prefetch: bool = True) -> QuerySet[Order]:  # fmt: skip
    """The orders this member may see (or act on, for ``action``), filtered (state, date_from/date_to,
    delivery_method, overdue, warehouse, search by number / external number / SKU / buyer), with lines
    prefetched."""
    qs = _filtered(_orders(shop=shop, actor=actor, action=action), actor, filters, shop)
    if not prefetch:
        return qs
    return qs.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.for_shop(shop).order_by("id")))


LINE_FIELDS = ("id", "order_id", "sku_code", "sku_id", "title", "quantity", "unit_price", "returned_quantity")


def lines_by_order(*, shop: Shop, order_ids: Iterable[int]) -> dict[int, list[dict]]:
    """The lines of these orders (already read through ``order_list``) as plain rows, one query (the
    list's fast path)."""
    out: dict[int, list[dict]] = {}
    rows = OrderLine.objects.for_shop(shop).filter(in_array("order_id", order_ids)).order_by("id").values(*LINE_FIELDS)
    for row in rows:
        out.setdefault(row["order_id"], []).append(row)
    return out


def order_sort(*, value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return SORTS["-id"]
    if value not in SORTS:
        raise ValidationFailed(_("Unknown sort."), fields={"sort": [
            _("Choose one of: %(v)s") % {"v": ", ".join(SORTS)}]})  # fmt: skip
    return SORTS[value]


def order_detail_queryset(*, shop: Shop, actor: Actor | None, action: str = "orders.view") -> QuerySet[Order]:
    """Orders with everything the detail shows, in a constant number of queries."""
    return (
        _orders(shop=shop, actor=actor, action=action)
        .select_related("carrier_ref")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.for_shop(shop).order_by("id")),
            Prefetch("allocations", queryset=OrderAllocation.objects.for_shop(shop).select_related("warehouse")),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.for_shop(shop).select_related("actor").order_by("created_at", "id"),
            ),
            Prefetch("returns", queryset=Return.objects.for_shop(shop).order_by("-id")),
            Prefetch("refunds", queryset=Refund.objects.for_shop(shop).select_related("actor").order_by("-id")),
        )
    )


def order_get(*, shop: Shop, actor: Actor | None, pk: Any, action: str = "orders.view") -> Order | None:
    if (pk := _pk(pk)) is None:
        return None
    return order_detail_queryset(shop=shop, actor=actor, action=action).filter(pk=pk).first()


def state_counts(*, shop: Shop, actor: Actor | None, filters: Filters | None = None) -> dict[str, int]:
    """Orders per state for the list tabs (the other filters applied, the state filter not)."""
    filters = {k: v for k, v in (filters or {}).items() if k != "state"}
    qs = order_list(shop=shop, actor=actor, filters=filters, prefetch=False)
    counts = dict.fromkeys(Order.State.values, 0)
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    counts["all"] = sum(counts.values())
    return counts


def open_counts(*, shop: Shop, actor: Actor | None) -> dict[str, int]:
    """The open orders per state and the late ones among them (``overdue``), as the actor may see them: one query
    over the open orders only (the dashboard; the list's tabs count every state with ``state_counts``)."""
    qs = order_list(shop=shop, actor=actor, filters={}, prefetch=False).filter(state__in=Order.OPEN_STATES)
    # COUNT(state), not COUNT(id): the partial index (shop, state, ship_by) then answers alone (index-only scan).
    counts = {state: Count("state", filter=Q(state=state)) for state in Order.OPEN_STATES}
    return qs.order_by().aggregate(**counts, overdue=Count("state", filter=Q(ship_by__lt=timezone.now())))


def overdue_count(*, shop: Shop, actor: Actor | None) -> int:
    return order_list(shop=shop, actor=actor, filters={"overdue": "1"}, prefetch=False).count()


def order_actions(*, actor: Actor | None, order: Order) -> dict[str, bool]:
    """What the actor may do with this order now: the state machine the services enforce
    (``ORDER_STEPS``), their action, their scope. The pages offer exactly these."""
    if actor is None or order.shop_id != actor.shop.pk or not in_scope(actor, order):
        return dict.fromkeys([*ORDER_STEPS, "refund", "slip"], False)
    may = {name: can(actor, step.action) and order.state in step.sources for name, step in ORDER_STEPS.items()}
    may["refund"] = can(actor, "orders.refund") and order.refundable > 0
    may["slip"] = can(actor, "orders.process")
    return may


def return_actions(*, actor: Actor | None, ret: Return) -> dict[str, bool]:
    """What the actor may do with this return now (``RETURN_STEPS``, checked on its order's scope)."""
    if actor is None or ret.shop_id != actor.shop.pk or not in_scope(actor, ret.order):
        return dict.fromkeys(RETURN_STEPS, False)
    return {name: can(actor, step.action) and ret.state in step.sources for name, step in RETURN_STEPS.items()}


# ---------------------------------------------------------------------------------------------
# tracking numbers


def tracking_key(carrier: str, tracking_number: str) -> tuple[str, str]:
    """How two tracking numbers are compared: per carrier, trimmed, letter case aside (as the unique index
    ``order_unique_tracking_per_carrier`` compares them)."""
    return (carrier or "").strip().lower(), (tracking_number or "").strip().lower()


def tracking_numbers_taken(*, shop: Shop, pairs: Iterable[tuple[str, str]],
                           exclude_order_id: int | None = None) -> set[tuple[str, str]]:  # fmt: skip
    """Which of these (carrier, tracking number) pairs a live (not cancelled) order of the shop other than
    ``exclude_order_id`` already uses, as its tracking number or one of its packages'; the answer is in
    ``tracking_key`` form.

    Shop-wide on purpose, not narrowed by a member's scope: the numbers are the carrier's, whoever packed
    the other order. Callers name the number, never the order that holds it (nothing out of scope leaks)."""
    wanted = {tracking_key(c, t) for c, t in pairs if (c or "").strip() and (t or "").strip()}
    if not wanted:
        return set()
    numbers = {t for _c, t in wanted}
    live = Order.objects.for_shop(shop).exclude(state=Order.State.CANCELLED)
    if exclude_order_id is not None:
        live = live.exclude(pk=exclude_order_id)
    main = (live.exclude(tracking_number="").annotate(t=Lower("tracking_number"))
            .filter(t__in=numbers).values_list("carrier", "tracking_number"))  # fmt: skip
    taken = {tracking_key(c, t) for c, t in main} & wanted
    # Package numbers live in JSON: a substring match on its text finds the few candidates, Python decides.
    in_packages = Q()
    for number in numbers:
        in_packages |= Q(packages_text__icontains=number)
    candidates = (live.exclude(packages=[]).annotate(packages_text=Cast("packages", TextField()))
                  .filter(in_packages).values_list("carrier", "packages"))  # fmt: skip
    for carrier, packages in candidates:
        for package in packages if isinstance(packages, list) else []:
            if isinstance(package, dict):
                key = tracking_key(str(package.get("carrier") or carrier), str(package.get("tracking_number") or ""))
                if key in wanted:
                    taken.add(key)
    return taken


# ---------------------------------------------------------------------------------------------
# carriers


def carrier_list(*, shop: Shop, actor: Actor | None, filters: Filters | None = None,
                 action: str = "orders.view") -> QuerySet[Carrier]:  # fmt: skip
    """The shop's carriers by name (``active=1``/``0`` narrows to the active or inactive ones)."""
    qs = restrict(Carrier.objects.for_shop(shop), actor, action)
    active = _truthy((filters or {}).get("active"))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by(Lower("name"), "id")


def carrier_get(*, shop: Shop, actor: Actor | None, pk: Any, action: str = "orders.view") -> Carrier | None:
    if (pk := _pk(pk)) is None:
        return None
    return carrier_list(shop=shop, actor=actor, action=action).filter(pk=pk).first()


def carrier_choices(*, shop: Shop) -> list[Carrier]:
    """The carriers a pack form offers: the shop's active ones (empty: the shop keeps no list and the
    carrier is typed in). Not narrowed by the member: whoever may pack may name any of the shop's carriers."""
    return list(Carrier.objects.for_shop(shop).filter(is_active=True).order_by(Lower("name"), "id"))


def shop_has_carriers(*, shop: Shop) -> bool:
    """Whether the shop keeps a carrier list (any carrier, active or not): then a pack must name one of it."""
    return Carrier.objects.for_shop(shop).exists()


def carrier_match(*, shop: Shop, value: str) -> Carrier | None:
    """The shop's active carrier named ``value`` by its name or its code (letter case aside), or None."""
    text = (value or "").strip()
    if not text:
        return None
    qs = Carrier.objects.for_shop(shop).filter(is_active=True)
    return qs.filter(Q(name__iexact=text) | Q(code__iexact=text)).order_by("id").first()


# ---------------------------------------------------------------------------------------------
# returns and refunds


def return_list(*, shop: Shop, actor: Actor | None, filters: Filters | None = None,
                action: str = "orders.view") -> QuerySet[Return]:  # fmt: skip
    """Returns of the orders this member may see (or act on, for ``action``)."""
    qs = Return.objects.for_shop(shop).filter(order__in=_orders(shop=shop, actor=actor, action=action))
    filters = filters or {}
    if filters.get("state"):
        if filters["state"] not in Return.State.values:
            raise ValidationFailed(_("Unknown state."), fields={"state": [_("Unknown state.")]})
        qs = qs.filter(state=filters["state"])
    if (order := parse_optional_id(filters.get("order"), "order")) is not None:
        qs = qs.filter(order_id=order)
    return qs.select_related("order", "created_by").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.for_shop(shop).select_related("line", "warehouse").order_by("id"))
    )


def refund_list(*, shop: Shop, actor: Actor | None, filters: Filters | None = None,
                action: str = "orders.view") -> QuerySet[Refund]:  # fmt: skip
    """Refunds of the orders this member may see (or act on, for ``action``)."""
    qs = Refund.objects.for_shop(shop).filter(order__in=_orders(shop=shop, actor=actor, action=action))
    filters = filters or {}
    if (order := parse_optional_id(filters.get("order"), "order")) is not None:
        qs = qs.filter(order_id=order)
    return qs.select_related("order", "actor")


# ---------------------------------------------------------------------------------------------
# exports


def order_filters_text(*, filters: Filters | None, warehouse_names: Mapping[int, str] | None = None) -> str:
    """An order list's filters in words, as the export page shows them ("State: Delivered · From
    2026-11-01"); a warehouse by its name when ``warehouse_names`` has it (the caller reads the names the
    member may see), else by its id."""
    filters = filters or {}
    get = filters.get
    parts = []
    states = [s for s in str(get("state") or "").split(",") if s]
    if states:
        labels = [str(Order.State(s).label) if s in Order.State.values else s for s in states]
        parts.append(_("State: %(states)s") % {"states": ", ".join(labels)})
    if get("date_from"):
        parts.append(_("From %(date)s") % {"date": get("date_from")})
    if get("date_to"):
        parts.append(_("To %(date)s") % {"date": get("date_to")})
    if method := get("delivery_method"):
        label = DeliveryMethod(method).label if method in DeliveryMethod.values else method
        parts.append(_("Delivery: %(method)s") % {"method": label})
    overdue = _truthy(get("overdue"))
    if overdue is not None:
        parts.append(_("Overdue only") if overdue else _("Not overdue"))
    if get("due") == "today":
        parts.append(_("Due today"))
    elif get("due") == "overdue":
        parts.append(_("Overdue only"))
    if warehouse := get("warehouse"):
        name = (warehouse_names or {}).get(_pk(warehouse) or 0) or f"#{warehouse}"
        parts.append(_("Warehouse: %(name)s") % {"name": name})
    if search := str(get("search") or "").strip():
        parts.append(_("Search: “%(text)s”") % {"text": search})
    return " · ".join(parts) or _("All orders")


def order_filters_texts(*, shop: Shop, actor: Actor, filter_sets: Sequence[Filters]) -> list[str]:
    """``order_filters_text`` of each set of filters, naming the warehouses the member may see (one query)."""
    ids = {pk for filters in filter_sets if (pk := _pk((filters or {}).get("warehouse")))}
    names: dict[int, str] = {}
    if ids:
        visible = catalog_selectors.warehouse_list(shop=shop, actor=actor, action="orders.export")
        names = dict(visible.filter(pk__in=ids).values_list("pk", "name"))
    return [order_filters_text(filters=filters, warehouse_names=names) for filters in filter_sets]


def export_list(*, shop: Shop, actor: Actor | None) -> QuerySet[ExportJob]:
    """The export jobs this member may see and download: the kernel's one rule for background jobs (a
    member limited to chosen warehouses sees the jobs they started and those whose recorded scope lies
    within theirs, never an unlimited member's export of every warehouse)."""
    return restrict(ExportJob.objects.for_shop(shop), actor, "orders.export").select_related("created_by")


def export_get(*, shop: Shop, actor: Actor | None, pk: Any) -> ExportJob | None:
    if (pk := _pk(pk)) is None:
        return None
    return export_list(shop=shop, actor=actor).filter(pk=pk).first()


# ---------------------------------------------------------------------------------------------
# analytics reads (the report types of the analytics app aggregate these in SQL)


def report_lines(*, shop: Shop, actor: Actor | None, start: datetime, end: datetime,
                 action: str = "orders.view") -> QuerySet[OrderLine]:  # fmt: skip
    """The lines the actor may report on: lines of the orders placed in ``[start, end)`` that they may see
    (``restrict``: their warehouses, through the orders' scope), cancelled orders left out, and only lines whose
    SKU is in their categories (a member limited to some categories never gets figures of another's products).
    Aggregate it (``values(...).annotate(...)``); never iterate it."""
    orders = _orders(shop=shop, actor=actor, action=action).filter(created_at__gte=start, created_at__lt=end)
    skus = catalog_selectors.sku_list(shop=shop, actor=actor, action=action).values("pk")
    return OrderLine.objects.for_shop(shop).filter(
        order__in=orders.exclude(state=Order.State.CANCELLED).values("pk"), sku__in=skus
    )


def report_return_lines(*, shop: Shop, actor: Actor | None, start: datetime, end: datetime,
                        action: str = "orders.view") -> QuerySet[ReturnLine]:  # fmt: skip
    """The units of ``report_lines`` that came back (returns received, then refunded or exchanged: what the
    lines' ``returned_quantity`` and analytics' rollups count), with their return's reason: a return rate is
    measured on the orders of the period, whenever the return came."""
    lines = report_lines(shop=shop, actor=actor, start=start, end=end, action=action).values("pk")
    back = (Return.State.RECEIVED, Return.State.REFUNDED, Return.State.EXCHANGED)
    return ReturnLine.objects.for_shop(shop).filter(line__in=lines, ret__state__in=back)


def report_orders(*, shop: Shop, actor: Actor | None, start: datetime, end: datetime,
                  action: str = "orders.view") -> QuerySet[Order]:  # fmt: skip
    """The orders placed in ``[start, end)`` the actor may see (cancelled ones included), for aggregates."""
    return _orders(shop=shop, actor=actor, action=action).filter(created_at__gte=start, created_at__lt=end)


# ---------------------------------------------------------------------------------------------
# analytics' daily rollups (analytics.rollups): what each order contributes, read in a fixed number of queries


def rollup_order_ids(*, shop: Shop, after: int = 0, limit: int = 1000) -> list[int]:
    """The ids of the shop's orders after ``after``, ascending, at most ``limit`` (the rebuild's batches)."""
    qs = Order.objects.for_shop(shop).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)
    return list(qs[:limit])


def rollup_sources(*, shop: Shop, order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Everything the rollups count of these orders, one dict per order found: ``id``, ``created_at``, ``state``,
    ``delivery_method``; ``lines`` (``id``, ``sku_id``, ``quantity``, ``unit_price``, ``discount``,
    ``returned_quantity``), each with its ``allocations`` (``warehouse_id``, ``quantity``, in id order);
    ``refunds`` (``created_at``, ``amount``, and the ``return_lines`` of its return as ``(line id, quantity)``,
    empty for a refund without a return). Five queries whatever the number of orders (a batch of the rebuild,
    or the one order of an ``order.changed``)."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return []
    orders = {
        o["id"]: {**o, "lines": [], "refunds": []}
        for o in Order.objects.for_shop(shop).filter(pk__in=ids)
        .values("id", "created_at", "state", "delivery_method")
    }  # fmt: skip
    lines: dict[int, dict] = {}
    for line in (
        OrderLine.objects.for_shop(shop).filter(order_id__in=ids).order_by("pk")
        .values("id", "order_id", "sku_id", "quantity", "unit_price", "discount", "returned_quantity")
    ):  # fmt: skip
        line["allocations"] = []
        lines[line["id"]] = line
        orders[line["order_id"]]["lines"].append(line)
    for alloc in (
        OrderAllocation.objects.for_shop(shop).filter(order_id__in=ids).order_by("pk")
        .values("line_id", "warehouse_id", "quantity")
    ):  # fmt: skip
        lines[alloc["line_id"]]["allocations"].append(alloc)
    refunds = list(
        Refund.objects.for_shop(shop).filter(order_id__in=ids).order_by("pk")
        .values("order_id", "ret_id", "created_at", "amount")
    )  # fmt: skip
    returned: dict[int, list[tuple[int, int]]] = {}
    ret_ids = {r["ret_id"] for r in refunds if r["ret_id"]}
    if ret_ids:
        for rl in (
            ReturnLine.objects.for_shop(shop)
            .filter(ret_id__in=ret_ids)
            .order_by("pk")
            .values("ret_id", "line_id", "quantity")
        ):
            returned.setdefault(rl["ret_id"], []).append((rl["line_id"], rl["quantity"]))
    for refund in refunds:
        refund["return_lines"] = returned.get(refund["ret_id"], [])
        orders[refund["order_id"]]["refunds"].append(refund)
    return [orders[i] for i in ids if i in orders]


def delivery_method_labels() -> dict[str, str]:
    """{delivery method code: its label in the current language} (reports name the methods)."""
    return {value: str(label) for value, label in DeliveryMethod.choices}
