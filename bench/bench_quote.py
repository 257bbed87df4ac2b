"""Benchmark the promotions pricing engine as the quote endpoint and order intake use it.

    DATABASE_URL=postgres://.../backoffice_bench .venv/bin/python bench/bench_quote.py [--promotions 200] [--runs 200]

Builds two shops with ``--promotions`` active promotions of every kind (percent and amount off, 满减 tiers,
gifts, buy 2 get 1; every tenth exclusive) in a throwaway database ``<name>_quote`` (dropped afterwards):
``catalog``, 1,000 SKUs in 20 categories with promotions on SKU sets, categories or the whole shop (a cart
touches about a third of them), and ``overlap``, 120 SKUs where nearly every promotion touches every cart (the
worst case: a 20-line cart applies ~165 promotions). Times ``promotion_quote`` for a 20-line and a 100-line
cart: median and p95, and queries per quote, which must not grow with promotions or lines. The reference in the
same run is the plain way to read the same inputs (the cart's SKUs and the shop's promotion rows with two SQL
statements, no pricing): the ratio says what the pricing itself costs. Then intake throughput with and without
promotions (orders per second).

Issue #12's targets: p95 ≤ 20 ms for 20 lines / 200 promotions, ≤ 50 ms for 100 lines.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throwaway import drop_database, fresh_database, pct  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")


def promotion_body(i: int, rng: random.Random, starts_at: str, scope: dict, gift_code: str) -> dict:
    kind = ("percent_off", "amount_off", "spend_threshold", "gift_with_purchase", "buy_x_get_y")[i % 5]
    body = {"name": f"Bench {i}", "kind": kind, "starts_at": starts_at, "priority": rng.randint(0, 5),
            "exclusive": i % 10 == 9, "scope": scope}  # fmt: skip
    if kind == "percent_off":
        body.update(value=str(rng.randint(5, 20)))
    elif kind == "amount_off":
        body.update(value="1.00")
    elif kind == "spend_threshold":
        body.update(tiers=[{"min_spend": "300.00", "discount": "10.00"}, {"min_spend": "1000.00", "discount": "50.00"}])
    elif kind == "gift_with_purchase":
        body.update(gift_sku=gift_code, min_spend="500.00")
    else:
        body.update(buy_quantity=2, get_quantity=1)
    return body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--scenario", action="append", choices=("catalog", "overlap"),
                        help="catalog (a realistic shop) and/or overlap (every promotion touches the cart); both")  # fmt: skip
    args = parser.parse_args()
    args.scenario = args.scenario or ["catalog", "overlap"]
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (the benchmark makes and drops <name>_quote).")
    os.environ["DATABASE_URL"] = bench_url = fresh_database(url, "quote")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(bench_url)


def build(name: str, scenario: str, n_promotions: int, rng: random.Random):
    """A shop for one scenario: (shop, actor, skus). ``overlap``: 120 SKUs, each promotion on 15 random SKUs (or
    the whole shop for tiers and gifts), so a 20-line cart touches nearly every promotion: the worst case.
    ``catalog``: 1,000 SKUs in 20 categories (5 of them subcategories), promotions on 10-SKU sets (70%), on one
    category (25%) or the whole shop (5%)."""
    from django.utils import timezone

    from catalog import services as catalog_services
    from orders.tests.factories import make_sku
    from promotions import services
    from tests.fixtures import make_shop, owner_actor

    shop = make_shop(name)
    actor = owner_actor(shop)
    warehouse = catalog_services.warehouse_create(actor=actor, name="Main", code="main")
    starts_at = (timezone.now() - timezone.timedelta(hours=1)).isoformat()
    if scenario == "overlap":
        skus = [make_sku(shop, code=f"Q-{i:03d}", price=f"{rng.randint(50, 900)}.00", stock=100_000,
                         warehouse=warehouse)[0] for i in range(120)]  # fmt: skip
        codes = [s.code for s in skus]
        scopes = [{} if i % 5 in (2, 3) else {"skus": rng.sample(codes, 15)} for i in range(n_promotions)]
    else:
        parents = [catalog_services.category_create(actor=actor, name=f"Category {i}") for i in range(15)]
        children = [catalog_services.category_create(actor=actor, name=f"Sub {i}", parent=parents[i])
                    for i in range(5)]  # fmt: skip
        categories = parents + children
        skus = [make_sku(shop, code=f"C-{i:04d}", price=f"{rng.randint(50, 900)}.00", stock=100_000,
                         warehouse=warehouse, category=categories[i % 20])[0] for i in range(1000)]  # fmt: skip
        codes = [s.code for s in skus]
        scopes = []
        for _ in range(n_promotions):
            r = rng.random()
            if r < 0.05:
                scopes.append({})
            elif r < 0.30:
                scopes.append({"categories": [rng.choice(parents).pk]})
            else:
                scopes.append({"skus": rng.sample(codes, 10)})
    for i in range(n_promotions):
        body = promotion_body(i, rng, starts_at, scopes[i], rng.choice(codes))
        promotion = services.promotion_create(actor=actor, data=body)
        services.promotion_activate(actor=actor, promotion=promotion)
    return shop, actor, skus


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)

    from orders.tests.factories import make_sku
    from promotions import services
    from promotions.tests.factories import intake
    from tests.fixtures import make_shop

    rng = random.Random(12)
    shops = {sc: build(f"Bench {sc}", sc, args.promotions, rng) for sc in args.scenario}
    plain = make_shop("Bench no promotions")
    plain_skus = [make_sku(plain, code=f"P-{i:03d}", price=f"{rng.randint(50, 900)}.00", stock=100_000)[0]
                  for i in range(20)]  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    from backoffice.runtime import settle_memory

    settle_memory()  # as the web server and the worker do after start-up (backoffice/wsgi.py)

    def raw_read(shop, lines: list[dict]) -> float:
        """The plain way to read the same inputs: the cart's SKUs, the shop's active promotion rows."""
        with connection.cursor() as cur:
            t = time.perf_counter()
            cur.execute("SELECT id, code, price, cost FROM catalog_sku WHERE shop_id = %s AND code = ANY(%s)",
                        [shop.pk, [ln["sku"] for ln in lines]])  # fmt: skip
            cur.fetchall()
            cur.execute("SELECT * FROM promotions_promotion WHERE shop_id = %s AND state = 'active'", [shop.pk])
            cur.fetchall()
            return (time.perf_counter() - t) * 1000

    print(
        f"\n{args.promotions} active promotions per shop; {args.runs} quotes per case; PostgreSQL {connection.pg_version}"
    )
    print(f"{'case':<28}{'median ms':>10}{'p95 ms':>9}{'queries':>9}{'raw SQL ms':>12}{'quote/SQL':>11}"
          f"{'applied':>9}{'considered':>11}")  # fmt: skip
    for scenario, (shop, actor, skus) in shops.items():
        for n in (20, 100):
            times, raw_times, queries, applied, considered = [], [], set(), [], []
            services.promotion_quote(actor=actor, lines=[{"sku": s.code, "quantity": 1} for s in skus[:n]])  # warm
            for _ in range(args.runs):
                lines = [{"sku": s.code, "quantity": rng.randint(1, 3)} for s in rng.sample(skus, n)]
                with CaptureQueriesContext(connection) as ctx:
                    t = time.perf_counter()
                    result = services.promotion_quote(actor=actor, lines=lines)
                    times.append((time.perf_counter() - t) * 1000)
                queries.add(len(ctx.captured_queries))
                raw_times.append(raw_read(shop, lines))
                applied.append(len(result["applied"]))
                considered.append(len(result["applied"]) + sum(
                    1 for r in result["not_applied"] if r["reason"] != "no_eligible_lines"))  # fmt: skip
            med, raw_med = statistics.median(times), statistics.median(raw_times)
            print(f"{f'{scenario}, {n} lines':<28}{med:>10.1f}{pct(times, 95):>9.1f}"
                  f"{'/'.join(map(str, sorted(queries))):>9}{raw_med:>12.2f}{med / raw_med:>11.1f}"
                  f"{statistics.median(applied):>9.0f}{statistics.median(considered):>11.0f}")  # fmt: skip

    def throughput(target, target_skus) -> float:
        t = time.perf_counter()
        for _ in range(args.orders):
            intake(target, [(s, rng.randint(1, 3)) for s in rng.sample(target_skus, 5)])
        return args.orders / (time.perf_counter() - t)

    without = throughput(plain, plain_skus)
    print(f"\nintake, 5-line orders, {args.orders} per shop: {without:.0f} orders/s in a shop without promotions")
    for scenario, (shop, _actor, skus) in shops.items():
        with_promotions = throughput(shop, skus)
        print(f"  {scenario}: {with_promotions:.0f} orders/s with {args.promotions} promotions "
              f"({with_promotions / without:.2f}× the shop without)")  # fmt: skip


if __name__ == "__main__":
    main()
