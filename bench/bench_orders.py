"""Benchmark the order list endpoint at scale: one shop with N orders (default 1,000,000) on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/backoffice_bench .venv/bin/python bench/bench_orders.py \
        [--orders 1000000] [--runs 40] [--page-size 50]

The database named in DATABASE_URL is created when missing, migrated, and KEPT (generating a million
orders takes minutes; a second run reuses them and only tops up). Use a database of its own.

Measures, for ``GET /api/v1/shops/{shop}/orders/`` through the whole Django stack (token auth, membership,
permission check, serializer with masking, cursor pagination; in-process client, no network):
page 1, a deep page (cursor ~90% of the way in), page 1 filtered by state; median and p95 latency and
queries per request; and the same page read with raw SQL (orders + their lines) for the API/SQL ratio,
timed in alternation with the API calls so that both see the same machine load. Token and membership
come from the access cache (backoffice.authz.cache) as in production; one more row shows page 1 with
that cache invalidated before every request (the first request after any change of access).
Targets: queries per request constant, deep page within 1.5× of page 1, API/raw-SQL ratio under 5×.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def cursor_at(position: int) -> str:
    """A DRF cursor pointing just after ``position`` for the ``-id`` ordering."""
    return base64.b64encode(urlencode({"p": str(position)}).encode()).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own (e.g. .../backoffice_bench).")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)

    from accounts import services as accounts
    from accounts.models import ApiToken
    from backoffice.authz import cache as access_cache
    from orders.api.serializers import ORDER_LIST_FIELDS
    from orders.generator import generate_orders
    from orders.management.commands.generate_orders import bench_shop
    from orders.models import Order

    shop = bench_shop("Bench orders")
    have = Order.objects.for_shop(shop).count()
    if have < args.orders:
        print(f"generating {args.orders - have:,} orders (have {have:,}) ...", flush=True)
        started = time.monotonic()
        generate_orders(shop=shop, count=args.orders - have, seed=have + 1, batch=50_000,
                        progress=lambda n: print(f"  {n:,}", end="\r", flush=True))  # fmt: skip
        took = time.monotonic() - started
        print(f"generated {args.orders - have:,} orders in {took:.0f}s ({(args.orders - have) / took:,.0f}/s)")
        with connection.cursor() as cur:
            cur.execute("ANALYZE orders_order; ANALYZE orders_orderline; ANALYZE orders_orderallocation")
    total = Order.objects.for_shop(shop).count()
    _token, key = accounts.token_create(user=shop.owner, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    # A staff operator too: a role's grants and a warehouse scope cost two more queries when not cached.
    from accounts.models import Membership, Role
    from backoffice.authz import load_actor
    from catalog.models import Warehouse

    operator = Membership.objects.for_shop(shop).filter(user__username="bench-operator").first()
    if operator is None:
        operator = accounts.staff_create(
            actor=load_actor(shop.owner, shop), username="bench-operator", email="bench-operator@example.com",
            password="bench-Pass-2026", role=Role.objects.for_shop(shop).get(key="operator"),
            scopes={"warehouse": list(Warehouse.objects.for_shop(shop).values_list("pk", flat=True))},
        )  # fmt: skip
    _token, operator_key = accounts.token_create(user=operator.user, name="bench")
    operator_client = Client(HTTP_AUTHORIZATION=f"Token {operator_key}")
    path = f"/api/v1/shops/{shop.pk}/orders/"
    ids = Order.objects.for_shop(shop).order_by("-id").values_list("id", flat=True)
    deep_after = ids[int(total * 0.9)]

    def raw_reader(where: str, params: list):
        # The same columns the API's list rows carry, and their lines.
        sql_orders = (f"SELECT {', '.join(ORDER_LIST_FIELDS)} FROM orders_order "
                      f"WHERE shop_id = %s {where} ORDER BY id DESC LIMIT %s")  # fmt: skip
        sql_lines = ("SELECT id, order_id, sku_id, sku_code, title, quantity, unit_price, returned_quantity "
                     "FROM orders_orderline WHERE shop_id = %s AND order_id = ANY(%s) ORDER BY id")  # fmt: skip

        def read() -> float:
            with connection.cursor() as cur:
                t = time.perf_counter()
                cur.execute(sql_orders, [shop.pk, *params, args.page_size])
                found = [row[0] for row in cur.fetchall()]
                cur.execute(sql_lines, [shop.pk, found])
                cur.fetchall()
                return (time.perf_counter() - t) * 1000

        return read

    def timed(params: dict, raw=None, cold: bool = False, client=client) -> tuple[list[float], int, int, list[float]]:
        """API timings, interleaved with the raw read when given (so both see the same machine load).
        ``cold``: the access cache is invalidated before each request, as after any change of access."""
        times, raw_times, queries, rows = [], [], 0, 0
        client.get(path, params)  # warm
        for _ in range(args.runs):
            if cold:
                access_cache.shop_changed(shop.pk)
                access_cache.token_changed(ApiToken.hash_key(key))
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                r = client.get(path, params)
                times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.content[:300]
            queries, rows = len(ctx.captured_queries), len(r.json()["results"])
            if raw is not None:
                raw_times.append(raw())
        return times, queries, rows, raw_times

    size = {"page_size": args.page_size}
    cases = [
        ("page 1", size, raw_reader("", [])),
        ("deep page (90%)", {**size, "cursor": cursor_at(deep_after)}, raw_reader("AND id < %s", [deep_after])),
        ("page 1, state=awaiting_packaging", {**size, "state": "awaiting_packaging"},
         raw_reader("AND state = %s", ["awaiting_packaging"])),
    ]  # fmt: skip
    print(f"\nshop {shop.pk}: {total:,} orders; page size {args.page_size}; {args.runs} runs each; "
          f"PostgreSQL {connection.pg_version}")  # fmt: skip
    print(f"{'case':<34}{'median ms':>10}{'p95 ms':>9}{'queries':>9}{'rows':>6}{'raw SQL ms':>12}{'API/SQL':>9}")
    results = {}
    for label, params, raw in cases:
        times, queries, rows, raw_times = timed(params, raw)
        med, raw_med = statistics.median(times), statistics.median(raw_times)
        results[label] = (med, queries, raw_med)
        print(f"{label:<34}{med:>10.1f}{pct(times, 95):>9.1f}{queries:>9}{rows:>6}{raw_med:>12.2f}"
              f"{med / raw_med:>9.1f}")  # fmt: skip
    small, q_small, _r, _raw = timed({"page_size": 5})
    print(f"{'page 1, page_size=5':<34}{statistics.median(small):>10.1f}{pct(small, 95):>9.1f}{q_small:>9}")
    staff, q_staff, _r, staff_raw = timed(size, cases[0][2], client=operator_client)
    print(f"{'page 1, warehouse-scoped operator':<34}{statistics.median(staff):>10.1f}{pct(staff, 95):>9.1f}"
          f"{q_staff:>9}{'':>6}{statistics.median(staff_raw):>12.2f}"
          f"{statistics.median(staff) / statistics.median(staff_raw):>9.1f}")  # fmt: skip
    cold, q_cold, _r, cold_raw = timed(size, cases[0][2], cold=True)
    print(
        f"{'page 1, access cache cold':<34}{statistics.median(cold):>10.1f}{pct(cold, 95):>9.1f}{q_cold:>9}"
        f"{'':>6}{statistics.median(cold_raw):>12.2f}{statistics.median(cold) / statistics.median(cold_raw):>9.1f}"
    )
    floor = []
    for _ in range(args.runs):
        t = time.perf_counter()
        client.get(f"/api/v1/shops/{shop.pk}/")
        floor.append((time.perf_counter() - t) * 1000)
    floor_med = statistics.median(floor)
    page1_raw = results["page 1"][2]
    print(f"{'GET /shops/{shop}/ (auth floor)':<34}{floor_med:>10.1f}{pct(floor, 95):>9.1f}")
    print(
        f"\norders' own share of page 1 (minus the auth/membership floor every shop endpoint pays): "
        f"{results['page 1'][0] - floor_med:.1f} ms = {(results['page 1'][0] - floor_med) / page1_raw:.1f}× raw SQL"
    )
    first, deep = results["page 1"], results["deep page (90%)"]
    print(f"\ndeep/page-1 latency: {deep[0] / first[0]:.2f}× (target ≤ 1.5×); "
          f"queries constant: {len({first[1], deep[1], q_small}) == 1}")  # fmt: skip


if __name__ == "__main__":
    main()
