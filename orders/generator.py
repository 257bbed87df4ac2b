"""Bulk data for scale tests: N shops × M orders with lines and allocations, written fast (PostgreSQL
``COPY``; batched ``bulk_create`` elsewhere). Historical data: it writes order rows directly and does
not move stock or write timeline events — use the simulator (``simulate_orders``) for realistic demo data.

Order ids are taken as one block from the table's sequence, so run it while nothing else creates orders
(a benchmark database, a fresh dev database).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from backoffice.authz import system_actor
from catalog import selectors as catalog_selectors
from orders.models import SHIP_WITHIN, Order, OrderAllocation, OrderLine

STATES = (["delivered"] * 60 + ["cancelled"] * 8 + ["delivering"] * 10 + ["awaiting_deliver"] * 7
          + ["awaiting_packaging"] * 12 + ["awaiting_confirmation"] * 3)  # fmt: skip
METHODS = ["standard", "standard", "standard", "express", "pickup"]
NAMES = ["Anna Ivanova", "Ivan Petrov", "Li Wei", "Maria Smirnova", "Dmitry Kuznetsov", "Zhang Min", "Olga Popova"]
ORDER_COLS = ["id", "shop_id", "number", "external_id", "state", "delivery_method", "buyer_name", "buyer_phone",
              "buyer_address", "currency", "total", "refunded_total", "ship_by", "carrier", "tracking_number",
              "packages", "cancel_reason", "cancel_comment", "sku_codes", "created_at", "updated_at", "confirmed_at",
              "packed_at", "shipped_at", "delivered_at", "cancelled_at"]  # fmt: skip
LINE_COLS = ["id", "shop_id", "order_id", "sku_id", "sku_code", "title", "quantity", "unit_price", "returned_quantity"]
ALLOC_COLS = ["id", "shop_id", "order_id", "line_id", "warehouse_id", "quantity"]


def _take_ids(model, count: int) -> int:
    """Reserve ``count`` ids from ``model``'s sequence; returns the first."""
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        seq = cur.fetchone()[0]
        cur.execute("SELECT nextval(%s)", [seq])
        first = cur.fetchone()[0]
        cur.execute("SELECT setval(%s, %s)", [seq, first + count])
    return first


def _rows(shop_id: int, skus: list[tuple[int, str, str, Decimal]], warehouse_ids: list[int], count: int,
          rng: random.Random, order_id0: int, line_id0: int, days: int):  # fmt: skip
    now = timezone.now()
    line_id = line_id0
    orders, lines, allocs = [], [], []
    for i in range(count):
        oid = order_id0 + i
        state = rng.choice(STATES)
        method = rng.choice(METHODS)
        created = now - timedelta(seconds=int((count - i) * days * 86400 / count) + rng.randint(0, 60))
        picked = rng.sample(skus, k=rng.choice((1, 1, 2, 2, 3)))
        total = Decimal("0.00")
        for sku_id, code, title, price in picked:
            qty = rng.choice((1, 1, 1, 2, 3))
            total += price * qty
            lines.append((line_id, shop_id, oid, sku_id, code, title, qty, price, 0))
            allocs.append((line_id, shop_id, oid, line_id, rng.choice(warehouse_ids), qty))
            line_id += 1
        done = state not in ("awaiting_confirmation",)
        packed = state in ("awaiting_deliver", "delivering", "delivered")
        shipped = state in ("delivering", "delivered")
        carrier, tracking = ("CDEK", f"CD{oid:010d}") if packed else ("", "")
        orders.append((
            oid, shop_id, f"{oid:08d}", f"GEN-{oid}", state, method, rng.choice(NAMES),
            f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            f"Moscow, Lenina {rng.randint(1, 99)}, apt {rng.randint(1, 300)}", "RUB", total, Decimal("0.00"),
            created + SHIP_WITHIN[method], carrier, tracking, "[]",
            "buyer_request" if state == "cancelled" else "", "", " ".join(sorted({p[1] for p in picked})),
            created, created, created if done else None, created + timedelta(hours=5) if packed else None,
            created + timedelta(hours=20) if shipped else None,
            created + timedelta(days=3) if state == "delivered" else None,
            created + timedelta(hours=2) if state == "cancelled" else None,
        ))  # fmt: skip
    return orders, lines, allocs, line_id


def _copy(table: str, cols: list[str], rows) -> None:
    with connection.cursor() as cur, cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate_orders(*, shop, count: int, seed: int = 1, days: int = 365, batch: int = 20_000,
                    progress: Callable[[int], None] = lambda n: None) -> int:  # fmt: skip
    """Add ``count`` orders to ``shop`` using its SKUs and warehouses (at least one of each)."""
    platform = system_actor(shop)
    rng = random.Random(seed)
    skus = [(s.pk, s.code, s.product.title[:255], s.price)
            for s in catalog_selectors.sku_list(shop=shop, actor=platform).order_by("id")[:500]]  # fmt: skip
    warehouse_ids = list(
        catalog_selectors.warehouse_list(shop=shop, actor=platform).order_by("id").values_list("pk", flat=True)
    )
    if len(skus) < 3 or not warehouse_ids:
        raise ValueError("the shop needs at least 3 SKUs and one warehouse")
    made = 0
    postgres = connection.vendor == "postgresql"
    while made < count:
        n = min(batch, count - made)
        with transaction.atomic():
            if postgres:
                order0 = _take_ids(Order, n)
                line0 = _take_ids(OrderLine, n * 3)
                orders, lines, allocs, _end = _rows(shop.pk, skus, warehouse_ids, n, rng, order0, line0, days)
                _copy(Order._meta.db_table, ORDER_COLS, orders)
                _copy(OrderLine._meta.db_table, LINE_COLS, lines)
                # allocation ids reuse the line ids' block (one allocation per line): take a block of its own
                alloc0 = _take_ids(OrderAllocation, len(allocs))
                _copy(OrderAllocation._meta.db_table, ALLOC_COLS,
                      ((alloc0 + k, *row[1:]) for k, row in enumerate(allocs)))  # fmt: skip
            else:
                last = Order.unscoped.order_by("-id").values_list("id", flat=True).first() or 0
                last_line = OrderLine.unscoped.order_by("-id").values_list("id", flat=True).first() or 0
                orders, lines, allocs, _end = _rows(shop.pk, skus, warehouse_ids, n, rng, last + 1, last_line + 1, days)
                Order.unscoped.bulk_create([Order(**{**dict(zip(ORDER_COLS, row, strict=True)), "packages": []})
                                            for row in orders],
                                           batch_size=2000)  # fmt: skip
                OrderLine.unscoped.bulk_create([OrderLine(**dict(zip(LINE_COLS, r, strict=True))) for r in lines],
                                               batch_size=2000)  # fmt: skip
                OrderAllocation.unscoped.bulk_create(
                    [OrderAllocation(**dict(zip(ALLOC_COLS[1:], r[1:], strict=True))) for r in allocs], batch_size=2000
                )
        made += n
        progress(made)
    return made
