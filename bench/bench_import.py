"""Benchmark the catalog's bulk import: rows per second for a products+SKUs file (first import, then the
same file again, which must change nothing) and for a stock-levels file.

    DATABASE_URL=postgres://... .venv/bin/python bench/bench_import.py [--rows 10000] [--invalid-every 10]

It creates a throwaway test database (``test_<name>``) and drops it afterwards; nothing else is touched.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")


def products_csv(rows: int, invalid_every: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["product_ref", "sku", "title", "brand", "category", "price", "old_price", "barcode", "weight", "attributes"]
    )
    for i in range(rows):
        price = "oops" if invalid_every and i % invalid_every == invalid_every - 1 else f"{100 + i % 50}.00"
        w.writerow(
            [
                f"B{i // 3}",
                f"BENCH-{i:06d}",
                f"Bench product {i // 3}",
                "Acme",
                "Bench",
                price,
                "",
                f"{i:013d}",
                "0.250",
                f'{{"size": "{"SML"[i % 3]}"}}',
            ]
        )
    return buf.getvalue().encode()


def stock_csv(rows: int, invalid_every: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["sku", "warehouse", "on_hand"])
    for i in range(rows):
        if invalid_every and i % invalid_every == invalid_every - 1:
            continue  # those SKUs were not created
        w.writerow([f"BENCH-{i:06d}", "main", str(i % 40)])
    return buf.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--invalid-every", type=int, default=10, help="every Nth row has a bad price (0: none)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        import tempfile

        from django.conf import settings

        settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="bench-media-")
        from accounts import services as accounts
        from backoffice.authz import load_actor, system_actor
        from catalog import services
        from catalog.models import ImportJob

        _user, shop = accounts.shop_signup(username="bench", email="bench@example.com", password="bench-Pass-1",
                                           shop_name="Bench")  # fmt: skip
        owner = load_actor(shop.owner, shop)
        services.category_create(actor=owner, name="Bench")
        services.warehouse_create(actor=owner, name="Main", code="main")

        def run(kind: str, data: bytes, label: str) -> None:
            job = ImportJob.objects.for_shop(shop).create(shop=shop, kind=kind, file_name=f"{kind}.csv",
                                                          created_by=shop.owner)  # fmt: skip
            job.file.save(f"{kind}.csv", ContentFile(data))
            started = time.perf_counter()
            services.import_job_run(actor=system_actor(shop), job_id=job.pk)
            elapsed = time.perf_counter() - started
            job.refresh_from_db()
            print(f"{label:<34} {job.total_rows:>7} rows {elapsed:7.1f}s {job.total_rows / elapsed:8.0f} rows/s   "
                  f"created={job.created_rows} updated={job.updated_rows} unchanged={job.unchanged_rows} "
                  f"errors={job.error_rows}")  # fmt: skip

        products = products_csv(args.rows, args.invalid_every)
        run("products", products, "products+SKUs, first import")
        run("products", products, "products+SKUs, same file again")
        stock = stock_csv(args.rows, args.invalid_every)
        run("stock", stock, "stock levels, first import")
        run("stock", stock, "stock levels, same file again")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
