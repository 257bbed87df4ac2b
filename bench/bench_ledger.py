"""Benchmark the payouts ledger at 1,000,000 entries: balance, ledger pages, a month's statement, posting throughput.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/backoffice_bench .venv/bin/python bench/bench_ledger.py \
        [--entries 1000000] [--small 10000] [--runs 200] [--postings 1000]

Works in a throwaway database ``<name>_ledger`` (made, migrated and dropped afterwards). Two shops get a year of
delivered orders booked as the services book them — a sale (``sales`` −gross, ``pending`` +gross, ``pending``
−commission, ``commission`` +commission) and its settlement 14 days later (``pending`` → ``available``) — six
entries per order, generated in SQL (``INSERT … SELECT generate_series``) in booking order: the big shop
``--entries`` entries, the small one ``--small``. The zero-sum constraint trigger is disabled for the bulk load
only (one statement, not a million trigger calls), then enabled again, and ``ledger_verify`` (every balance
against its entries, every transaction summing to zero) must find nothing.

Measures (median and p95 over ``--runs``; in-process, no network):

- the balance: ``payouts.selectors.balance_summary`` (one indexed read of the balance rows) and
  ``GET /api/v1/shops/{shop}/balance/`` through the whole stack, at the small and the big shop (flat: the same
  cost at 10,000 and 1,000,000 entries; issue #13's target ≤ 5 ms). The reference, timed in the same run, is
  the plain SQL balance ``SELECT account, sum(amount) … GROUP BY account`` over the shop's entries (what a
  django-hordak-style balance costs); the ratio is reported.
- the balance page's pending by maturity day (``pending_by_maturity``) with 200 unsettled sales at both shops,
  against the query it replaced (every sale of the shop, less the settled ones);
- ``GET …/ledger/`` page 1 and a deep page (a cursor after 900,000 entries, or 90 % of them).
- the statement of the last full month (``payouts.statements``), built as the background job builds it (CSV: to a
  temporary file, then to the storage in chunks; XLSX: ``write_file``), for comparison the CSV built in memory
  (``write_file``, what the job did before), and streamed as the API streams CSV: rows/s and peak Python memory
  (tracemalloc, in a separate run from the timing) and the process's peak RSS.
- posting throughput (``payouts.services.post``, triggers on): one process; two processes on two shops (they run
  in parallel); two processes on one shop (they serialise on the shop's balance lock, by design).
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throwaway import drop_database, fresh_database, pct  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--postings", type=int, default=1000, help="postings per process in the throughput runs")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (the benchmark makes and drops <name>_ledger).")
    os.environ["DATABASE_URL"] = bench_url = fresh_database(url, "ledger")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(bench_url)


# -- the data ----------------------------------------------------------------------------------------------------
TRANSACTIONS_SQL = """
INSERT INTO payouts_ledgertransaction (shop_id, kind, key, memo, occurred_at, created_at, settled_at)
SELECT %(shop)s, e.kind, e.o::text, 'order ' || e.o, e.ts, e.ts,
       CASE WHEN e.kind = 'sale' THEN e.ts + interval '14 days' ELSE e.ts END FROM (
    SELECT o, 'sale' AS kind, %(start)s::timestamptz + o * %(step)s::interval AS ts
        FROM generate_series(1, %(orders)s) o
    UNION ALL
    SELECT o, 'settle', %(start)s::timestamptz + o * %(step)s::interval + interval '14 days'
        FROM generate_series(1, %(orders)s) o
) e ORDER BY e.ts, e.kind
"""
ENTRIES_SQL = """
INSERT INTO payouts_ledgerentry (shop_id, transaction_id, account, amount, kind, created_at, order_id)
SELECT t.shop_id, t.id, l.account, l.amount, t.kind, t.created_at, t.key::bigint
FROM payouts_ledgertransaction t
CROSS JOIN LATERAL (SELECT (100 + (t.key::bigint * 37) %% 900)::numeric(16, 2) AS gross) g
CROSS JOIN LATERAL (SELECT round(g.gross * 0.05, 2) AS c) c
CROSS JOIN LATERAL (VALUES
    ('sale', 'sales', -g.gross, 1), ('sale', 'pending', g.gross, 2), ('sale', 'pending', -c.c, 3),
    ('sale', 'commission', c.c, 4), ('settle', 'pending', c.c - g.gross, 1), ('settle', 'available', g.gross - c.c, 2)
) AS l(kind, account, amount, n)
WHERE t.shop_id = %(shop)s AND l.kind = t.kind
ORDER BY t.id, l.n
"""
BALANCES_SQL = """
INSERT INTO payouts_balance (shop_id, account, amount, updated_at)
SELECT shop_id, account, sum(amount), now() FROM payouts_ledgerentry WHERE shop_id = %(shop)s GROUP BY shop_id, account
ON CONFLICT (shop_id, account) DO UPDATE SET amount = EXCLUDED.amount
"""


def load(shop, entries: int) -> float:
    """A year of orders (6 entries each, at least ``entries``) for ``shop``, in booking order; the balance rows set
    from them."""
    from django.db import connection, transaction
    from django.utils import timezone

    orders = max(1, -(-entries // 6))  # at least ``entries``
    span = timedelta(days=365)
    start = timezone.now() - span - timedelta(days=15)  # every settlement is in the past
    params = {"shop": shop.pk, "orders": orders, "start": start, "step": span / orders}
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        # The deferred zero-sum trigger would run once per entry at commit: off for this bulk load only (the
        # generator writes balanced transactions; ledger_verify checks them afterwards).
        cur.execute("ALTER TABLE payouts_ledgerentry DISABLE TRIGGER payouts_txn_zero_sum")
        cur.execute(TRANSACTIONS_SQL, params)
        cur.execute(ENTRIES_SQL, params)
        cur.execute(BALANCES_SQL, params)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys' deferred checks run now, before ALTER
        cur.execute("ALTER TABLE payouts_ledgerentry ENABLE TRIGGER payouts_txn_zero_sum")
    return time.perf_counter() - t


# -- posting throughput ------------------------------------------------------------------------------------------
def _post_many(shop_id: int, tag: str, n: int, barrier) -> None:
    import django

    django.setup()
    from decimal import Decimal

    from payouts.services import post

    barrier.wait()
    for i in range(n):
        post(shop=shop_id, kind="adjustment", key=f"bench-{tag}-{i}",
             entries=[("adjustments", Decimal("-1.00")), ("available", Decimal("1.00"))])  # fmt: skip


def throughput(shop_ids: list[int], n: int, tag: str) -> float:
    """Postings per second with one process per shop id (the same id twice: two processes on one shop)."""
    from django.db import connections

    connections.close_all()  # the children open their own
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(shop_ids) + 1)
    procs = [ctx.Process(target=_post_many, args=(sid, f"{tag}-{k}", n, barrier)) for k, sid in enumerate(shop_ids)]
    for p in procs:
        p.start()
    barrier.wait()
    t = time.perf_counter()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a posting process failed ({p.exitcode})")
    return len(shop_ids) * n / (time.perf_counter() - t)


# -- the run -----------------------------------------------------------------------------------------------------
def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)

    from accounts import services as accounts
    from backoffice.tabular import csv_lines, write_file
    from backoffice.tenancy.zones import local_today, shop_timezone, shop_zone
    from payouts import selectors, services, statements
    from payouts.models import LedgerEntry, StatementJob
    from payouts.services.statements import _save_csv as save_csv
    from tests.fixtures import make_shop, owner_actor

    big, small = make_shop("Bench ledger big"), make_shop("Bench ledger small")
    took = load(big, args.entries)
    load(small, args.small)
    counts = {s.pk: LedgerEntry.objects.for_shop(s).count() for s in (big, small)}
    print(f"loaded {counts[big.pk]:,} + {counts[small.pk]:,} entries in {took:.0f}s "
          f"({counts[big.pk] / took:,.0f} entries/s for the big shop)", flush=True)  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE payouts_ledgerentry")
        cur.execute("VACUUM ANALYZE payouts_ledgertransaction")
        cur.execute("VACUUM ANALYZE payouts_balance")
    t = time.perf_counter()
    drifts = services.ledger_verify(shop=big)
    verify_s = time.perf_counter() - t
    print(f"ledger_verify (big shop, triggers back on): {len(drifts)} drifts in {verify_s:.1f}s")
    if drifts:
        raise SystemExit("the generated ledger does not verify")

    def timed(fn, runs: int = args.runs) -> list[float]:
        fn()  # warm
        out = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        return out

    def raw_balance(shop) -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT account, sum(amount) FROM payouts_ledgerentry WHERE shop_id = %s GROUP BY account",
                        [shop.pk])  # fmt: skip
            cur.fetchall()

    clients = {}
    for s in (big, small):
        _token, key = accounts.token_create(user=s.owner, name="bench")
        clients[s.pk] = Client(HTTP_AUTHORIZATION=f"Token {key}")

    def api(shop, path: str, params=None):
        r = clients[shop.pk].get(f"/api/v1/shops/{shop.pk}/{path}", params or {})
        assert r.status_code == 200, r.content[:300]
        return r

    print(f"\nPostgreSQL {connection.pg_version}; {args.runs} runs per case (the reference: fewer, it is slow)")
    print(f"{'case':<46}{'entries':>11}{'median ms':>11}{'p95 ms':>9}{'queries':>9}")

    def row(label: str, shop, times: list[float], queries: int | str = "") -> float:
        med = statistics.median(times)
        print(f"{label:<46}{counts[shop.pk]:>11,}{med:>11.2f}{pct(times, 95):>9.2f}{queries!s:>9}", flush=True)
        return med

    balance_ms = {}
    for s in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            selectors.balance_summary(shop=s)
        balance_ms[s.pk] = row("balance (selector)", s, timed(lambda s=s: selectors.balance_summary(shop=s)),
                               len(ctx.captured_queries))  # fmt: skip
    for s in (small, big):
        row("GET balance/ (whole stack)", s, timed(lambda s=s: api(s, "balance/")))
    reference = {}
    for s in (small, big):
        reference[s.pk] = row("reference: SUM(amount) GROUP BY account", s,
                              timed(lambda s=s: raw_balance(s), runs=max(5, args.runs // 20)))  # fmt: skip
    # The balance page's "pending by maturity day": every generated sale is settled; 200 fresh ones wait. It reads
    # the unsettled sales only (the partial index on settled_at): the same at both shops. The reference is the
    # query it replaced (every sale of the shop, less those with a settlement).
    from django.db.models import BigIntegerField, OuterRef, Subquery, Sum
    from django.db.models.functions import Cast

    from payouts.models import Kind, LedgerTransaction

    for s in (small, big):
        for i in range(200):
            refs = {"order": 10**9 + i}
            services.post(shop=s, kind="sale", key=str(10**9 + i), entries=[
                ("sales", Decimal("-10.00"), refs), ("pending", Decimal("10.00"), refs)])  # fmt: skip

    def every_sale(shop) -> list:
        remaining = (LedgerEntry.objects.for_shop(shop).filter(account="pending", order_id=Cast(
            OuterRef("key"), output_field=BigIntegerField())).order_by().values("order_id")
            .annotate(t=Sum("amount")).values("t"))  # fmt: skip
        txns = LedgerTransaction.objects.for_shop(shop)
        return list(
            txns.filter(kind=Kind.SALE)
            .exclude(key__in=txns.filter(kind=Kind.SETTLE).values("key"))
            .annotate(remaining=Subquery(remaining))
            .filter(remaining__gt=0)
            .values_list("pk", flat=True)
        )

    owner_of = {s.pk: owner_actor(s) for s in (small, big)}
    for s in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            assert sum(g["orders"] for g in selectors.pending_by_maturity(shop=s, actor=owner_of[s.pk])) == 200
        row(
            "pending_by_maturity (balance page)",
            s,
            timed(lambda s=s: selectors.pending_by_maturity(shop=s, actor=owner_of[s.pk])),
            len(ctx.captured_queries),
        )
    for s in (small, big):
        assert len(every_sale(s)) == 200
        row(
            "reference: every sale, less the settled", s, timed(lambda s=s: every_sale(s), runs=max(5, args.runs // 20))
        )
    ids = LedgerEntry.objects.for_shop(big).order_by("-id").values_list("id", flat=True)
    position = min(900_000, int(counts[big.pk] * 0.9))
    deep_after = ids[position]
    cursor = base64.b64encode(urlencode({"p": str(deep_after)}).encode()).decode()
    page1 = row("GET ledger/ page 1 (50)", big, timed(lambda: api(big, "ledger/")))
    deep = row(f"GET ledger/ after {position:,} entries (cursor)", big,
               timed(lambda: api(big, "ledger/", {"cursor": cursor})))  # fmt: skip

    # -- a month's statement -------------------------------------------------------------------------------------
    actor = owner_actor(big)
    with shop_timezone(big):
        first_of_this = local_today(shop_zone(big)).replace(day=1)
        month = (first_of_this - timedelta(days=1)).replace(day=1)  # the last full month
        statement = statements.month_statement(shop=big, actor=actor, month=month)
        entries_in_month = statement.count()

        def build(fmt: str) -> int:
            header, rows = statements.table(statements.month_statement(shop=big, actor=actor, month=month))
            return write_file(fmt, header, rows, sheet="month")[1]

        def build_job_csv() -> int:
            # What the background job does for CSV: rows to a temporary file, then to the file storage in chunks.
            header, rows = statements.table(statements.month_statement(shop=big, actor=actor, month=month))
            job = StatementJob(shop=big, kind="month", fmt="csv")
            count = save_csv(job, "bench-statement.csv", header, rows)
            job.file.delete(save=False)
            return count

        def stream() -> int:
            header, rows = statements.table(statements.month_statement(shop=big, actor=actor, month=month))
            return sum(len(line) for line in csv_lines(header, rows))

        print(f"\nstatement of {month:%Y-%m} (big shop): {entries_in_month:,} entries")
        print(f"{'how':<40}{'rows':>9}{'seconds':>9}{'entries/s':>11}{'rows/s':>9}{'peak MiB':>10}")
        for label, fn in (("job file, CSV in memory (write_file)", lambda: build("csv")),
                          ("job file, CSV via temp file (the job)", build_job_csv),
                          ("job file, XLSX (write_file)", lambda: build("xlsx")),
                          ("streamed CSV (the API's csv_lines)", stream)):  # fmt: skip
            t = time.perf_counter()
            produced = fn()
            seconds = time.perf_counter() - t
            tracemalloc.start()
            fn()
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows_out = produced if label.startswith("job") else ""
            rate = f"{produced / seconds:>9,.0f}" if rows_out != "" else f"{'':>9}"
            print(f"{label:<40}{rows_out!s:>9}{seconds:>9.2f}{entries_in_month / seconds:>11,.0f}{rate}"
                  f"{peak / 2**20:>10.1f}", flush=True)  # fmt: skip
    print(f"peak RSS of this process so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    # -- posting throughput --------------------------------------------------------------------------------------
    print(f"\nposting throughput ({args.postings} postings per process, triggers on; {os.cpu_count()} cores)")
    one = throughput([small.pk], args.postings, "one")
    two_shops = throughput([small.pk, big.pk], args.postings, "two")
    one_shop = throughput([big.pk, big.pk], args.postings, "same")
    print(f"  1 process:                 {one:>8,.0f} postings/s")
    print(f"  2 processes, 2 shops:      {two_shops:>8,.0f} postings/s")
    print(f"  2 processes, 1 shop:       {one_shop:>8,.0f} postings/s (serialised on the shop's balance lock)")
    from django.db import connections

    connections.close_all()
    drifts = services.ledger_verify(shop=big) + services.ledger_verify(shop=small)
    print(f"ledger_verify after the postings: {len(drifts)} drifts")

    flat = balance_ms[big.pk] / balance_ms[small.pk]
    print(f"\nbalance at {counts[big.pk]:,} vs {counts[small.pk]:,} entries: {balance_ms[big.pk]:.2f} ms vs "
          f"{balance_ms[small.pk]:.2f} ms ({flat:.2f}×; target ≤ 5 ms and flat)")  # fmt: skip
    print(f"reference SUM … GROUP BY at {counts[big.pk]:,} entries: {reference[big.pk]:.1f} ms = "
          f"{reference[big.pk] / balance_ms[big.pk]:,.0f}× the balance read")  # fmt: skip
    print(f"deep page / page 1: {deep / page1:.2f}×")


if __name__ == "__main__":
    main()
