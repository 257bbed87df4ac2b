"""The embedded default (SQLite, no broker) runs long jobs in the background: an import started from the
page returns at once, the page's progress advances while it is polled, and every row lands even while
another writer keeps the database busy. A row that meets a transient database error ("database is
locked") is retried, never reported as a row error.

Each scenario runs this file as a script in a process of its own on a fresh SQLite file with the real
settings (``backoffice.settings``, no REDIS_URL, no broker), as ``make run`` does; it prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = 5000


def _run_scenario(tmp_path: Path, scenario: str, timeout: int = 540) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REQUIRE_TEST_SERVICES", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'embedded.sqlite3'}", REDIS_URL="", CELERY_BROKER_URL="",
        DJANGO_SETTINGS_MODULE="backoffice.settings", MEDIA_ROOT=str(tmp_path / "media"),
        SECRET_KEY_FILE=str(tmp_path / "secret_key"), LOG_LEVEL="WARNING",
    )  # fmt: skip
    for name in ("DEBUG", "CELERY_TASK_ALWAYS_EAGER", "BACKGROUND_THREADS", "PASSWORD_HASHERS"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), scenario],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_5000_row_import_runs_in_the_background_and_loses_no_row_beside_a_busy_writer(tmp_path):
    out = _run_scenario(tmp_path, "import")
    # The request only accepted the file: it answered long before the import was done.
    assert out["post_status"] == 302 and out["request_s"] < 1.0, out
    assert out["status_right_after"] in ("pending", "running"), out
    # The page's progress bar moved while it was polled (several distinct values between 0 and 100).
    inner = [p for p in out["progress_seen"] if 0 < p < 100]
    assert len(set(inner)) >= 3 and out["progress_seen"] == sorted(out["progress_seen"]), out
    assert out["import_s"] > 3 * out["request_s"], out
    # Every row landed; none was reported as an error, although the other writer was busy throughout.
    assert out["status"] == "done", out
    assert (out["created_rows"], out["error_rows"], out["skus"]) == (ROWS, 0, ROWS), out
    assert out["hammer_writes"] >= 20 and out["hammer_errors"] == 0, out
    assert out["poll_errors"] == 0, out


def test_rows_that_meet_a_locked_database_are_retried_not_reported(tmp_path):
    """A 0.2 s busy timeout and a writer that holds the write lock 0.4 s of every second: rows do meet
    "database is locked"; each is retried and lands, and the job reports no row error."""
    out = _run_scenario(tmp_path, "locked")
    assert out["status"] == "done", out
    assert out["retries"] > 0, out  # the lock was really met
    assert (out["created_rows"], out["error_rows"], out["skus"]) == (out["rows"], 0, out["rows"]), out


def test_a_database_locked_past_every_retry_stops_the_job_which_a_second_run_completes(tmp_path):
    """A writer holds the lock 10 s (past every retry): the job ends failed with the reason (never left
    running), reports no row error, counts exactly the rows that landed; the same file again finishes."""
    out = _run_scenario(tmp_path, "stuck")
    assert out["status"] == "failed" and "database stayed busy" in out["message"], out
    assert out["error_rows"] == 0 and out["created_rows"] == out["skus"] < out["rows"], out
    again = out["again"]
    assert again["status"] == "done" and again["error_rows"] == 0, out
    assert (again["created_rows"], again["unchanged_rows"]) == (out["rows"] - out["skus"], out["skus"]), out
    assert again["skus"] == out["rows"], out


def test_a_process_that_stops_lets_its_jobs_finish_first(tmp_path):
    """The server stopping (Ctrl-C on `make run`) right after an import was accepted: the process waits
    for the job, which ends done with every row, rather than being cut off and left "running"."""
    import sqlite3

    out = _run_scenario(tmp_path, "exit")
    assert out["status_at_exit"] in ("pending", "running"), out
    with sqlite3.connect(tmp_path / "embedded.sqlite3") as db:
        status, created = db.execute("SELECT status, created_rows FROM catalog_importjob").fetchone()
        skus = db.execute("SELECT count(*) FROM catalog_sku").fetchone()[0]
    assert (status, created, skus) == ("done", out["rows"], out["rows"])


# ------------------------------------------------------------------------------------------------ the script


def _csv(rows: int) -> bytes:
    lines = ["sku,title,price,brand"]
    lines += [f"EMB-{n:05d},Embedded product {n},{10 + n % 90}.50,Acme" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _main(scenario: str) -> None:
    import logging
    import re
    import sqlite3
    import threading
    import time

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    rows = {"import": ROWS, "locked": 600, "stuck": 1000, "exit": 1000}[scenario]
    if scenario in ("locked", "stuck"):
        # Short waits for the write lock, so that a long writer makes rows fail with "database is locked".
        options = settings.DATABASES["default"]["OPTIONS"]
        options["timeout"] = 0.2
        options["init_command"] = options["init_command"].replace("busy_timeout=20000", "busy_timeout=200")

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import F
    from django.test import Client

    call_command("migrate", verbosity=0)
    assert settings.BACKGROUND_THREADS > 0 and not settings.DEBUG

    from accounts import services as account_services
    from backoffice.audit import audit_record
    from backoffice.authz import system_actor, tenant_model
    from catalog.models import SKU, ImportJob

    retries = [0]

    class CountRetries(logging.Handler):
        def emit(self, record):
            if " row " in record.getMessage() and "retrying" in record.getMessage():
                retries[0] += 1

    logging.getLogger("backoffice.jobs").addHandler(CountRetries(level=logging.INFO))
    logging.getLogger("backoffice.jobs").setLevel(logging.INFO)

    owner, shop = account_services.shop_signup(
        username="embedded-owner", email="owner@example.com", password="x-Pass-2026-long", shop_name="Embedded"
    )
    stop = threading.Event()
    hammer = {"writes": 0, "errors": 0}

    def write_once() -> None:
        with transaction.atomic():
            tenant_model().objects.filter(pk=shop.pk).update(low_stock_default=F("low_stock_default") + 1)
            audit_record(shop=shop, actor=system_actor(shop), action="embedded.hammer", target=shop)

    def hold_lock(seconds: float) -> None:
        """Take the write lock at the first gap between the importer's transactions (spinning: SQLite's
        own busy wait backs off and could starve behind a busy importer), hold it, release it."""
        db = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=0, isolation_level=None)
        try:
            while True:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    time.sleep(0.0005)
            db.execute("UPDATE accounts_shop SET low_stock_default = low_stock_default + 1 WHERE id = ?", [shop.pk])
            time.sleep(seconds)
            db.execute("COMMIT")
        finally:
            db.close()

    def hammer_loop() -> None:
        # Another writer. "import": short transactions (a row and its audit entry) back to back, on the real
        # settings. "locked": holds the write lock 0.4 s (longer than the importer waits) once a second.
        # "stuck": once the import is under way, holds it 10 s (longer than all the retries), once.
        try:
            while not stop.is_set():
                if scenario == "stuck" and not ImportJob.objects.for_shop(shop).filter(processed_rows__gt=0).exists():
                    time.sleep(0.02)
                    continue
                try:
                    if scenario == "import":
                        write_once()
                    else:
                        hold_lock(0.4 if scenario == "locked" else 10.0)
                    hammer["writes"] += 1
                except Exception:
                    hammer["errors"] += 1
                if scenario == "stuck":
                    return
                time.sleep(0.6 if scenario == "locked" else 0.005)
        finally:
            connection.close()

    # A page that fails answers 500 here (counted in poll_errors) instead of ending the script.
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    url = f"/shops/{shop.pk}/catalog/imports/"
    assert client.get(url).status_code == 200, "the import page"

    def run_import() -> dict:
        upload = SimpleUploadedFile("embedded.csv", _csv(rows), content_type="text/csv")
        started = time.monotonic()
        response = client.post(url, {"kind": "products", "file": upload})
        request_s = time.monotonic() - started
        job = ImportJob.objects.for_shop(shop).latest("id")
        status_right_after = job.status
        detail = f"/shops/{shop.pk}/catalog/imports/{job.pk}/"
        progress_seen: list[int] = []
        poll_errors = 0
        deadline = time.monotonic() + 480
        status = "pending"
        while time.monotonic() < deadline:  # as the page does: GET its progress partial (htmx)
            page = client.get(detail, HTTP_HX_REQUEST="true")
            if page.status_code != 200:
                poll_errors += 1
            else:
                html = page.content.decode()
                status = re.search(r'data-status="(\w+)"', html).group(1)
                progress_seen.append(int(re.search(r'id="import-bar" max="100" value="(\d+)"', html).group(1)))
                if status in ("done", "failed"):
                    break
            time.sleep(0.25)
        import_s = time.monotonic() - started
        job.refresh_from_db()
        return {
            "rows": rows, "post_status": response.status_code, "request_s": round(request_s, 3),
            "status_right_after": status_right_after, "import_s": round(import_s, 1), "status": status,
            "job_status": job.status, "message": job.message, "created_rows": job.created_rows,
            "unchanged_rows": job.unchanged_rows, "error_rows": job.error_rows, "errors": job.errors[:3],
            "skus": SKU.objects.for_shop(shop).count(), "progress_seen": progress_seen, "poll_errors": poll_errors,
        }  # fmt: skip

    if scenario == "exit":  # accept an import, then end the process at once (as a stopped server does)
        upload = SimpleUploadedFile("embedded.csv", _csv(rows), content_type="text/csv")
        assert client.post(url, {"kind": "products", "file": upload}).status_code == 302
        status = ImportJob.objects.for_shop(shop).get().status
        print(json.dumps({"rows": rows, "status_at_exit": status}))
        return

    writer = threading.Thread(target=hammer_loop, daemon=True)
    writer.start()
    time.sleep(0.3)
    out = run_import()
    stop.set()
    writer.join(timeout=30)
    out.update(hammer_writes=hammer["writes"], hammer_errors=hammer["errors"], retries=retries[0])
    if scenario == "stuck":
        out["again"] = run_import()
    print(json.dumps(out))


if __name__ == "__main__":
    _main(sys.argv[1])
