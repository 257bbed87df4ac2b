"""The embedded default (SQLite) takes concurrent writers: they wait for each other instead of failing
with "database is locked" (WAL, busy timeout, IMMEDIATE transactions in backoffice/settings.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_twenty_concurrent_writers_on_sqlite_all_succeed(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}", "REDIS_URL": "",
           "CELERY_BROKER_URL": "", "DJANGO_SETTINGS_MODULE": "backoffice.settings"}  # fmt: skip
    env.pop("REQUIRE_TEST_SERVICES", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "sqlite_writers.py")],
        env=env, capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[0]
    assert last == "errors=0 writes=200 audit=200 counter=200", done.stdout
