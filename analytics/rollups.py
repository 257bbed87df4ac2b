"""Daily rollups the reports and the dashboard read instead of raw orders (models: ``analytics.models.rollups``,
where what counts and on which day is written down).

One code path keeps them, for an event and for the rebuild alike: ``refresh_orders(shop, ids)`` works out what
each order contributes now (``contribution``), compares it with what the order contributed last
(``OrderContribution``) and adds the difference to the day rows. So an ``order.changed`` costs a fixed number
of queries (about fifteen, whatever the order or the shop), a replayed event finds no difference and changes
nothing, and a rebuild is a wipe followed by the same refresh over batches of orders.

Concurrency (PostgreSQL; the embedded SQLite runs one writer at a time): the order's contribution row is
created if missing (``INSERT … ON CONFLICT DO NOTHING``, which waits for a concurrent insert of the same order)
and locked before the order's rows are read, so two refreshes of one order run one after the other and the
second reads what the first committed. Day rows are created the same way, then locked in key order (SKU rows
before order rows), and the sums are written back: no update is lost, and two refreshes touching the same days
lock them in the same order.

``stock.moved`` keeps ``StockDay`` (``apply_movements``): movements are append-only, so each is added once to the
row of its (local day, SKU, warehouse); a row keeps the highest movement id it holds, and a stock row's movements
are numbered in the order they happen (the catalog locks the stock row), so a replayed event adds nothing. A few
queries per event, however many movements it carries. ``rebuild`` recomputes the table from the catalog's
movements (``catalog.selectors.stock_movement_rows``, in batches, through the same code) in ONE transaction
holding a per-shop advisory lock that every event's handler takes shared first (PostgreSQL): stock moves of the
shop wait for the rebuild (an intake waits too) rather than interleave with it. One transaction keeps the rebuild
exact (a batch must not meet rows that a later movement already reached); the lock keeps an event and the
rebuild from taking the same day rows in different orders (a deadlock, one of them aborted).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from analytics.models import OrderContribution, OrderDay, SalesDay, StockDay
from backoffice import events
from backoffice.tenancy.zones import shop_zone
from catalog import selectors as catalog_selectors
from orders import selectors as orders_selectors

__all__ = ["BATCH", "apply_movements", "contribution", "rebuild", "rebuild_stock", "refresh_orders", "subscribe"]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BATCH = 1000
SMALL = 50  # up to this many day rows (any event), they are matched key by key
CANCELLED = "cancelled"

# The value fields of each table, in the order the contributions store them.
SALES_FIELDS = ("units", "revenue", "discounts", "units_returned", "refunds")
SALES_MONEY = (False, True, True, False, True)
ORDER_FIELDS = ("orders", "units", "gross", "discounts", "revenue", "refunds", "cancelled")
ORDER_MONEY = (False, False, True, True, True, True, False)

SalesKey = tuple[str, int, int, str]  # (day ISO, sku id, warehouse id, delivery method)
OrderKey = tuple[str, str]  # (day ISO, delivery method)
StockKey = tuple[str, int, int]  # (day ISO, sku id, warehouse id)
STOCK_KEY = ("day", "sku_id", "warehouse_id")
STOCK_FIELDS = ("received", "issued", "net", "closing_on_hand", "movements", "last_movement_at", "last_movement_id",
                "max_movement_id")  # fmt: skip
STOCK_LOCK = 0x53544B  # the class of the two-key advisory locks of the stock rollup ("STK"), one per shop


def _day(moment: datetime, zone) -> str:
    return timezone.localtime(moment, zone).date().isoformat()


def _shares(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` shared by ``weights`` to the cent, rounding put on the last share (equal shares when every
    weight is zero)."""
    if not weights:
        return []
    whole = sum(weights, ZERO)
    if whole <= 0:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    out = [(total * w / whole).quantize(CENT) for w in weights[:-1]]
    out.append(total - sum(out, ZERO))
    return out


def _units_over(units: int, slots: list[int]) -> list[int]:
    """``units`` spread over allocation ``slots`` in order, each up to its size (returns fill the first)."""
    out = []
    for size in slots:
        take = min(units, size)
        out.append(take)
        units -= take
    if out and units:
        out[-1] += units
    return out


def contribution(order: Mapping[str, Any], zone) -> tuple[dict[SalesKey, list], dict[OrderKey, list]]:
    """What ``order`` (one dict of ``orders.selectors.rollup_sources``) adds to the day rows now: the one
    definition of which orders count and on which day (see ``analytics.models.rollups``)."""
    sales: dict[SalesKey, list] = defaultdict(lambda: [0, ZERO, ZERO, 0, ZERO])
    days: dict[OrderKey, list] = defaultdict(lambda: [0, 0, ZERO, ZERO, ZERO, ZERO, 0])
    sold_on = _day(order["created_at"], zone)
    method = order["delivery_method"]
    if order["state"] == CANCELLED:
        days[(sold_on, method)][6] += 1
        return dict(sales), dict(days)
    lines = {line["id"]: line for line in order["lines"]}
    head = days[(sold_on, method)]
    head[0] += 1
    for line in order["lines"]:
        qty = line["quantity"]
        gross = line["unit_price"] * qty
        paid = gross - line["discount"]
        head[1] += qty
        head[2] += gross
        head[3] += line["discount"]
        head[4] += paid
        allocs = line["allocations"] or []
        sizes = [a["quantity"] for a in allocs]
        weights = [Decimal(s) for s in sizes]
        for alloc, revenue, discount, returned in zip(
            allocs, _shares(paid, weights), _shares(line["discount"], weights),
            _units_over(line["returned_quantity"], sizes), strict=True,
        ):  # fmt: skip
            row = sales[(sold_on, line["sku_id"], alloc["warehouse_id"], method)]
            row[0] += alloc["quantity"]
            row[1] += revenue
            row[2] += discount
            row[3] += returned
    for refund in order["refunds"]:
        on = _day(refund["created_at"], zone)
        days[(on, method)][5] += refund["amount"]
        # Per unit taken back by its return, by what it was paid; without a return, per line by what was paid.
        parts: list[tuple[dict, Decimal]] = []
        for line_id, qty in refund["return_lines"]:
            line = lines.get(line_id)
            if line is not None:
                parts.append(
                    (line, (line["unit_price"] * line["quantity"] - line["discount"]) * qty / line["quantity"])
                )
        if not parts:
            parts = [(line, line["unit_price"] * line["quantity"] - line["discount"]) for line in order["lines"]]
        for (line, _weight), amount in zip(parts, _shares(refund["amount"], [w for _l, w in parts]), strict=True):
            allocs = line["allocations"] or []
            for alloc, share in zip(allocs, _shares(amount, [Decimal(a["quantity"]) for a in allocs]), strict=True):
                sales[(on, line["sku_id"], alloc["warehouse_id"], method)][4] += share
    return dict(sales), dict(days)


def _encode(sales: Mapping[SalesKey, list], days: Mapping[OrderKey, list]) -> dict:
    def enc(values, money):
        return [str(v) if m else int(v) for v, m in zip(values, money, strict=True)]

    return {
        "s": sorted([*key, *enc(v, SALES_MONEY)] for key, v in sales.items() if any(v)),
        "o": sorted([*key, *enc(v, ORDER_MONEY)] for key, v in days.items() if any(v)),
    }


def _decode(rows: Mapping[str, Any]) -> tuple[dict[SalesKey, list], dict[OrderKey, list]]:
    def dec(values, money):
        return [Decimal(v) if m else int(v) for v, m in zip(values, money, strict=True)]

    sales = {(r[0], int(r[1]), int(r[2]), r[3]): dec(r[4:], SALES_MONEY) for r in (rows or {}).get("s", [])}
    days = {(r[0], r[1]): dec(r[2:], ORDER_MONEY) for r in (rows or {}).get("o", [])}
    return sales, days


def _add(into: dict, source: Mapping, sign: int) -> None:
    for key, values in source.items():
        current = into.get(key)
        if current is None:
            current = into[key] = [v * 0 for v in values]
        for i, v in enumerate(values):
            current[i] += sign * v


def _update_from_values(model, fields: tuple[str, ...], rows: list[tuple], *, add: bool) -> None:
    """One ``UPDATE … FROM (VALUES …)`` per chunk: ``rows`` are ``(id, value, ...)``; each field is set to the value
    (``add=False``) or has it added (``add=True``). The same SQL on PostgreSQL and SQLite (3.33+); Django's
    ``bulk_update`` builds one CASE per field and row, which costs seconds of Python for a rebuild batch."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ["id", *fields]
    json_fields = {f for f in fields if isinstance(model._meta.get_field(f), models.JSONField)}
    cast = {"postgresql": "jsonb"}.get(connection.vendor)

    def value(field: str) -> str:
        column = connection.ops.quote_name(model._meta.get_field(field).column)
        incoming = f"v.{column}"
        if field in json_fields:
            return f"CAST({incoming} AS {cast})" if cast else incoming
        if isinstance(model._meta.get_field(field), models.DecimalField):
            incoming = f"CAST({incoming} AS NUMERIC)"
        return f"{table}.{column} + {incoming}" if add else incoming

    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    sets = ", ".join(f"{connection.ops.quote_name(model._meta.get_field(f).column)} = {value(f)}" for f in fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            placeholders = ", ".join("(" + ", ".join(["%s"] * len(names)) + ")" for _row in chunk)
            params = [json.dumps(v) if names[i] in json_fields else v for row in chunk for i, v in enumerate(row)]
            cursor.execute(
                # Only the model's own table and column names and placeholders are put in the text.
                f"WITH v ({columns}) AS (VALUES {placeholders}) "  # noqa: S608
                f"UPDATE {table} SET {sets} FROM v WHERE {table}.id = v.id",
                params,
            )


def _apply(shop_id: int, model, key_fields: tuple[str, ...], fields: tuple[str, ...], deltas: Mapping) -> None:
    """Add ``deltas`` ({key: [values]}) to the day rows: missing rows created (a concurrent creator is waited
    for, not duplicated), every touched row locked in key order, then the deltas added in one statement
    (``row = row + delta``, so nothing read can go stale). Three queries (more chunks for a large rebuild batch)."""
    deltas = {key: values for key, values in deltas.items() if any(values)}
    if not deltas:
        return
    keys = sorted(deltas)
    model.objects.for_shop(shop_id).bulk_create(
        [model(shop_id=shop_id, **dict(zip(key_fields, key, strict=True))) for key in keys], ignore_conflicts=True
    )
    qs = model.objects.for_shop(shop_id).select_for_update()
    if len(keys) <= SMALL:
        match = Q()
        for key in keys:
            match |= Q(**dict(zip(key_fields, key, strict=True)))
        qs = qs.filter(match)
    else:
        # A rebuild batch: lock the rows of these days and first key parts (a few more rows than needed, which
        # are left as they are) rather than compile an OR of a thousand keys.
        qs = qs.filter(**{f"{field}__in": sorted({key[i] for key in keys}) for i, field in enumerate(key_fields[:2])})
    found = qs.order_by(*key_fields).values_list("id", *key_fields)
    rows = []
    for row_id, *key in found:
        key = tuple(k.isoformat() if isinstance(k, date) else k for k in key)
        if key in deltas:
            rows.append((row_id, *deltas[key]))
    _update_from_values(model, fields, rows, add=True)
    # A row left at zero everywhere is kept (a later event may fill it again); reads ignore it.


def refresh_orders(shop, order_ids: Iterable[int]) -> int:
    """Bring the rollups of ``order_ids`` up to date with the orders as they are now (the handler of
    ``order.changed``, and each batch of the rebuild). Returns how many orders changed their contribution."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return 0
    zone = shop_zone(shop)
    with transaction.atomic():
        OrderContribution.objects.for_shop(shop).bulk_create(
            [OrderContribution(shop_id=shop.pk, order_ref=i) for i in ids], ignore_conflicts=True
        )
        stored = {
            c.order_ref: c
            for c in OrderContribution.objects.for_shop(shop).select_for_update()
            .filter(order_ref__in=ids)
            .order_by("order_ref")
        }  # fmt: skip
        sales_delta: dict = {}
        days_delta: dict = {}
        changed = []
        found = {o["id"]: o for o in orders_selectors.rollup_sources(shop=shop, order_ids=ids)}
        for order_id in ids:
            row = stored[order_id]
            order = found.get(order_id)
            new_sales, new_days = contribution(order, zone) if order is not None else ({}, {})
            encoded = _encode(new_sales, new_days)
            if encoded == (row.rows or {"s": [], "o": []}):
                continue  # a replayed event, or a change the rollups do not count (a tracking number)
            old_sales, old_days = _decode(row.rows)
            _add(sales_delta, new_sales, 1)
            _add(sales_delta, old_sales, -1)
            _add(days_delta, new_days, 1)
            _add(days_delta, old_days, -1)
            row.rows = encoded
            changed.append(row)
        _apply(shop.pk, SalesDay, ("day", "sku_id", "warehouse_id", "delivery_method"), SALES_FIELDS, sales_delta)
        _apply(shop.pk, OrderDay, ("day", "delivery_method"), ORDER_FIELDS, days_delta)
        if changed:
            _update_from_values(OrderContribution, ("rows",), [(c.pk, c.rows) for c in changed], add=False)
    return len(changed)


def _stock_lock(shop_id: int, *, exclusive: bool) -> None:
    """The rebuild holds the shop's lock alone, each event's handler shares it (PostgreSQL; SQLite runs one writer
    at a time anyway). Two-key locks: a key space apart from the one-key locks of ``orders``."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [STOCK_LOCK, shop_id % 2**31])


def _add_movements(shop_id: int, zone, rows: Iterable[tuple]) -> int:
    """Add movements ``(id, sku_id, warehouse_id, created_at, on_hand_delta, on_hand_after)`` to their day rows:
    missing rows created (a concurrent creator is waited for), the rows locked in key order, the new figures
    worked out from the locked values and written in one statement. Movements at or below a row's
    ``max_movement_id`` are already in it and are skipped. Three queries (more chunks for a rebuild batch).
    Returns how many movements were added."""
    groups: dict[StockKey, list[tuple]] = defaultdict(list)
    for movement_id, sku_id, warehouse_id, created_at, delta, after in rows:
        groups[(_day(created_at, zone), sku_id, warehouse_id)].append((movement_id, created_at, delta, after))
    if not groups:
        return 0
    keys = sorted(groups)
    StockDay.objects.for_shop(shop_id).bulk_create(
        [StockDay(shop_id=shop_id, **dict(zip(STOCK_KEY, key, strict=True))) for key in keys], ignore_conflicts=True
    )
    qs = StockDay.objects.for_shop(shop_id).select_for_update()
    if len(keys) <= SMALL:
        match = Q()
        for key in keys:
            match |= Q(**dict(zip(STOCK_KEY, key, strict=True)))
        qs = qs.filter(match)
    else:  # a rebuild batch: these days and SKUs (a few more rows locked than needed), as ``_apply`` does
        qs = qs.filter(day__in=sorted({k[0] for k in keys}), sku_id__in=sorted({k[1] for k in keys}))
    updates, added = [], 0
    for row_id, day, sku_id, warehouse_id, *values in qs.order_by(*STOCK_KEY).values_list(
        "id", *STOCK_KEY, *STOCK_FIELDS
    ):
        moves = groups.get((day.isoformat(), sku_id, warehouse_id))
        if not moves:
            continue
        received, issued, net, closing, count, last_at, last_id, max_id = values
        before = max_id
        for movement_id, created_at, delta, after in sorted(moves, key=lambda m: m[0]):
            if movement_id <= max_id:
                continue  # already counted: a replayed event
            received, issued, net, count, max_id = (
                received + max(delta, 0),
                issued + max(-delta, 0),
                net + delta,
                count + 1,
                movement_id,
            )
            if last_at is None or (created_at, movement_id) > (last_at, last_id):
                last_at, last_id, closing = created_at, movement_id, after
            added += 1
        if max_id != before:
            at = connection.ops.adapt_datetimefield_value(last_at)
            updates.append((row_id, received, issued, net, closing, count, at, last_id, max_id))
    _update_from_values(StockDay, STOCK_FIELDS, updates, add=False)
    return added


def apply_movements(shop, movements: Iterable[Any]) -> int:
    """Add stored stock movements (``catalog.models.StockMovement``, as ``stock.moved`` carries them) to the daily
    stock rollup; returns how many were new. A fixed number of queries, whatever the number of movements."""
    rows = [
        (m.pk, m.sku_id, m.warehouse_id, m.created_at, m.on_hand_delta, m.on_hand_after)
        for m in movements
        if m.pk is not None
    ]
    if not rows:
        return 0
    with transaction.atomic():
        _stock_lock(shop.pk, exclusive=False)
        return _add_movements(shop.pk, shop_zone(shop), rows)


def rebuild_stock(shop, *, batch: int = BATCH) -> int:
    """The shop's daily stock rollup from scratch, from every stock movement (``batch`` per read), in one
    transaction under the shop's stock lock (see the module's docstring). Returns the number of movements read."""
    zone = shop_zone(shop)
    seen = 0
    with transaction.atomic():
        _stock_lock(shop.pk, exclusive=True)
        StockDay.objects.for_shop(shop).delete()
        after = 0
        while rows := catalog_selectors.stock_movement_rows(shop=shop, after_id=after, limit=batch):
            _add_movements(shop.pk, zone, rows)
            seen += len(rows)
            after = rows[-1][0]
    return seen


def rebuild(shop, *, batch: int = BATCH) -> int:
    """The shop's rollups from scratch: every row wiped, then every order refreshed, ``batch`` orders per
    transaction (reading orders through ``orders.selectors``). An event arriving meanwhile is safe: its refresh
    and the batch's lock the same contribution row, and whichever comes second applies only the difference.
    The daily stock rollup is rebuilt first (``rebuild_stock``). Returns the number of orders read."""
    rebuild_stock(shop, batch=batch)
    with transaction.atomic():
        SalesDay.objects.for_shop(shop).delete()
        OrderDay.objects.for_shop(shop).delete()
        OrderContribution.objects.for_shop(shop).delete()
    after, seen = 0, 0
    while True:
        ids = orders_selectors.rollup_order_ids(shop=shop, after=after, limit=batch)
        if not ids:
            return seen
        refresh_orders(shop, ids)
        seen += len(ids)
        after = ids[-1]


def _order_changed(*, shop, order, kind: str = "", **_payload) -> None:
    refresh_orders(shop, [order.pk])


def _stock_moved(*, shop, movements, **_payload) -> None:
    apply_movements(shop, movements)


def subscribe() -> None:
    """Follow ``order.changed`` (backoffice.events): each change of an order refreshes its share; and
    ``stock.moved``: each stored stock movement is added to its day."""
    events.subscribe("order.changed", _order_changed)
    events.subscribe("stock.moved", _stock_moved)
