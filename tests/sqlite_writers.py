"""Run by tests/test_sqlite_default.py in a process of its own, on a fresh SQLite file (the embedded
default): migrate, then 20 threads × 10 write transactions that all touch one shop row and append an
audit entry through the kernel, each reading the row first as services do. Prints ``errors=N writes=N audit=N`` and exits 0."""

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402

THREADS, WRITES = 20, 10


def main() -> None:
    call_command("migrate", verbosity=0)
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from backoffice.audit import audit_record
    from backoffice.authz import system_actor, tenant_model

    user = get_user_model().objects.create_user("sqlite-owner", password="x-pass-2026")
    shop = tenant_model().objects.create(name="SQLite shop", owner=user, low_stock_default=0)
    errors: list[BaseException] = []
    writes = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(WRITES):
                try:
                    with transaction.atomic():
                        # Read, then write, as services do: a deferred transaction would have to upgrade
                        # its read lock, which SQLite refuses at once ("database is locked") under contention.
                        current = tenant_model().objects.get(pk=shop.pk)
                        assert current.pk == shop.pk
                        tenant_model().objects.filter(pk=shop.pk).update(low_stock_default=F("low_stock_default") + 1)
                        audit_record(shop=shop, actor=system_actor(shop), action="sqlite.write", target=shop)
                    with lock:
                        writes[0] += 1
                except Exception as exc:  # counted and reported: the point of the test
                    with lock:
                        errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shop.refresh_from_db()
    audit = apps.get_model(django.conf.settings.AUDIT_ENTRY_MODEL).objects.for_shop(shop).count()
    print(f"errors={len(errors)} writes={writes[0]} audit={audit} counter={shop.low_stock_default}")
    for exc in errors[:3]:
        print(f"  {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
