"""Benchmark analytics on the 1,000,000-order bench shop (the one ``bench_orders.py`` builds and keeps).

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/backoffice_bench .venv/bin/python bench/bench_analytics.py \
        [--runs 30] [--xlsx-rows 100000]

The generator writes orders without events, so the first run rebuilds the daily rollups from them
(``analytics.rollups.rebuild``, timed); later runs reuse them. Measures, each with median and p95:

- ``sales`` by day for a year and ``top_products`` for a quarter through the report registry as a report run
  does (``backoffice.reports.render``: permission, params, rollup reads, rows), against the raw SQL aggregate
  over the orders tables and the raw SQL aggregate over the rollup tables, timed in alternation;
- the dashboard page (``GET /shops/{shop}/`` as the owner, the whole Django stack, in-process client);
- the XLSX export of ``--xlsx-rows`` rows (``analytics.files.write_xlsx``, with its native chart): rows/s and
  peak memory (tracemalloc: every Python allocation, openpyxl's included).

Targets (issue #14): dashboard ≤ 100 ms, sales by day over a year ≤ 200 ms, XLSX peak ≤ 100 MB for 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throwaway import pct  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def line(name: str, times: list[float], extra: str = "") -> None:
    print(f"{name:<44}{statistics.median(times):>10.1f}{pct(times, 95):>9.1f}  {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to the bench database (e.g. .../backoffice_bench; bench_orders.py fills it).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from analytics import rollups
    from analytics.files import write_xlsx
    from analytics.models import OrderDay
    from backoffice import reports
    from backoffice.authz import load_actor
    from backoffice.runtime import settle_memory
    from orders.management.commands.generate_orders import bench_shop
    from orders.models import Order

    shop = bench_shop("Bench orders")
    total = Order.objects.for_shop(shop).count()
    if total < 100_000:
        sys.exit(f"the bench shop has {total:,} orders: run bench/bench_orders.py first (it generates 1,000,000)")
    if not OrderDay.objects.for_shop(shop).exists():
        print(f"rebuilding the rollups from {total:,} orders ...", flush=True)
        started = time.monotonic()
        rollups.rebuild(shop)
        took = time.monotonic() - started
        print(f"rebuilt in {took:.0f}s ({total / took:,.0f} orders/s)")
        with connection.cursor() as cur:
            cur.execute("ANALYZE analytics_orderday; ANALYZE analytics_salesday")
    settle_memory()
    actor = load_actor(shop.owner, shop)
    zone = str(shop.timezone)
    today = timezone.localdate(timezone=timezone.get_current_timezone())
    year = {"date_from": (today - timedelta(days=364)).isoformat(), "date_to": today.isoformat(), "group_by": "day"}
    quarter = {"date_from": (today - timedelta(days=90)).isoformat(), "date_to": today.isoformat(), "by": "revenue",
               "limit": 50}  # fmt: skip
    sales, top = reports.report_type("sales"), reports.report_type("top_products")

    def run_report(report, raw):
        def go():
            return list(reports.render(actor, report, reports.clean_params(report, raw)).rows)

        return go

    def sql(statement: str, params: list):
        def go():
            with connection.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()

        return go

    start_year, end = today - timedelta(days=364), today + timedelta(days=1)
    start_quarter = today - timedelta(days=90)
    raw_year = sql(
        "SELECT (created_at AT TIME ZONE %s)::date AS day, count(*), sum(total), sum(discount_total) "
        "FROM orders_order WHERE shop_id = %s AND state <> 'cancelled' "
        "AND created_at >= (%s::date)::timestamp AT TIME ZONE %s AND created_at < (%s::date)::timestamp AT TIME ZONE %s "
        "GROUP BY 1 ORDER BY 1",
        [zone, shop.pk, start_year, zone, end, zone],
    )  # fmt: skip
    rollup_year = sql(
        "SELECT day, sum(orders), sum(revenue), sum(discounts), sum(refunds) FROM analytics_orderday "
        "WHERE shop_id = %s AND day >= %s AND day < %s GROUP BY day ORDER BY day",
        [shop.pk, start_year, end],
    )  # fmt: skip
    raw_top = sql(
        "SELECT l.sku_id, sum(l.quantity), sum(l.quantity * l.unit_price - l.discount) AS revenue "
        "FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id "
        "WHERE o.shop_id = %s AND o.state <> 'cancelled' "
        "AND o.created_at >= (%s::date)::timestamp AT TIME ZONE %s AND o.created_at < (%s::date)::timestamp AT TIME ZONE %s "
        "GROUP BY 1 ORDER BY 3 DESC LIMIT 50",
        [shop.pk, start_quarter, zone, end, zone],
    )  # fmt: skip
    rollup_top = sql(
        "SELECT sku_id, sum(units), sum(revenue) AS revenue FROM analytics_salesday "
        "WHERE shop_id = %s AND day >= %s AND day < %s GROUP BY 1 ORDER BY 3 DESC LIMIT 50",
        [shop.pk, start_quarter, end],
    )  # fmt: skip

    print(f"\nshop with {total:,} orders; {args.runs} runs per case; PostgreSQL {connection.pg_version}")
    print(f"{'case':<44}{'median ms':>10}{'p95 ms':>9}")
    for name, report_fn, raw_fn, rollup_fn in (
        ("sales by day, one year", run_report(sales, year), raw_year, rollup_year),
        ("top products, one quarter", run_report(top, quarter), raw_top, rollup_top),
    ):
        report_fn(), raw_fn(), rollup_fn()  # warm
        with CaptureQueriesContext(connection) as ctx:
            rows = report_fn()
        queries = len(ctx.captured_queries)
        report_t, raw_t, rollup_t = [], [], []
        for _ in range(args.runs):  # in alternation: the three see the same machine load
            report_t += timed(report_fn, 1)
            raw_t += timed(raw_fn, 1)
            rollup_t += timed(rollup_fn, 1)
        ratio_raw = statistics.median(raw_t) / statistics.median(report_t)
        line(f"{name}: report", report_t, f"{queries} queries, {len(rows)} rows; {ratio_raw:.0f}× faster than raw SQL")
        line(f"{name}: raw SQL over the orders", raw_t)
        line(f"{name}: raw SQL over the rollups", rollup_t,
             f"report ÷ this = {statistics.median(report_t) / statistics.median(rollup_t):.1f}")  # fmt: skip

    client = Client()
    client.force_login(shop.owner)
    page = f"/shops/{shop.pk}/"
    assert client.get(page).status_code == 200
    # (CaptureQueriesContext loses the count when the request closes the connection: count with DEBUG on.)
    from django.conf import settings
    from django.db import reset_queries

    settings.DEBUG = True
    reset_queries()
    client.get(page)
    page_queries = len(connection.queries)
    settings.DEBUG = False
    line("dashboard page (owner)", timed(lambda: client.get(page), args.runs), f"{page_queries} queries")

    # XLSX: rows shaped like top_products (text, whole numbers, money, percent), with the native chart.
    result = reports.ReportResult(
        columns=[reports.Column("product", "Product"), reports.Column("sku", "SKU"),
                 reports.Column("units", "Units", "int"), reports.Column("revenue", "Revenue", "money"),
                 reports.Column("returns_rate", "Returns rate", "percent")],
        rows=((f"Product {i}", f"SKU-{i:06d}", i % 97, Decimal(i % 9973) + Decimal("0.99"), Decimal(i % 7))
              for i in range(args.xlsx_rows)),
        chart=reports.Chart(x="product", series=["revenue"], kind="bar"),
    )  # fmt: skip
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        t = time.perf_counter()
        write_xlsx(result, out, title="Bench")
        took = time.perf_counter() - t
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = out.tell()
    print(f"\nXLSX export, {args.xlsx_rows:,} rows: {args.xlsx_rows / took:,.0f} rows/s ({took:.1f} s), "
          f"peak memory {peak / 2**20:.1f} MiB, file {size / 2**20:.1f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
