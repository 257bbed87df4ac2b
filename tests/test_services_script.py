"""scripts/test-services.sh, the throwaway PostgreSQL and Redis behind `make test`.

It must fail loudly (non-zero, the reason on stderr, nothing to eval on stdout) when PostgreSQL cannot
start, `make test` must then stop before pytest, and as root it must work from a checkout the `postgres`
system user cannot enter (a clone inside a mode-700 directory). Every test works on a copy of the script in
its own directory, on ports picked free here: it never touches the servers of the checkout running it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IS_ROOT = os.geteuid() == 0
# Under `make test` (which installs PostgreSQL and Redis first) nothing here may be skipped: a missing
# service must fail the suite, not hide. Run by hand elsewhere, the tests that need them skip.
REQUIRED = os.environ.get("REQUIRE_TEST_SERVICES") == "1"
HAVE_PG = any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
PSQL = shutil.which("psql") or next(map(str, Path("/usr/lib/postgresql").glob("*/bin/psql")), "psql")
HAVE_REDIS = bool(shutil.which("redis-server") and shutil.which("redis-cli"))


def _postgres_user_exists() -> bool:
    return subprocess.run(["id", "postgres"], capture_output=True).returncode == 0


# The script installs missing Debian packages when run as root: never let a test do that.
pytestmark = [
    pytest.mark.skipif(not REQUIRED and not HAVE_REDIS, reason="redis-server/redis-cli not installed"),
    pytest.mark.skipif(not REQUIRED and IS_ROOT and not _postgres_user_exists(), reason="no postgres system user"),
]
needs_postgres = pytest.mark.skipif(
    not REQUIRED and not HAVE_PG, reason="PostgreSQL not installed under /usr/lib/postgresql"
)
needs_make = pytest.mark.skipif(not REQUIRED and not shutil.which("make"), reason="make not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Checkout:
    """A copy of what `make test` needs (the script, the Makefile, a stand-in virtualenv whose `python`
    only records how it was called) inside a mode-700 directory."""

    def __init__(self, base: Path, name: str = "clone"):
        private = base / "private"
        private.mkdir(exist_ok=True)
        private.chmod(0o700)
        self.root = private / name
        (self.root / "scripts").mkdir(parents=True)
        shutil.copy2(REPO / "scripts" / "test-services.sh", self.root / "scripts")
        for name_ in ("Makefile", "requirements.txt", "requirements-dev.txt"):
            shutil.copy2(REPO / name_, self.root)
        venv_bin = self.root / ".venv" / "bin"
        venv_bin.mkdir(parents=True)
        self.calls = self.root / "python-calls.log"
        python = venv_bin / "python"
        python.write_text(
            "#!/bin/sh\n"
            f'echo "$* | DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL REQUIRE=$REQUIRE_TEST_SERVICES" >> "{self.calls}"\n'
        )
        python.chmod(0o755)
        # The virtualenv counts as installed: make must not run pip.
        old, new = 1_000_000_000, 2_000_000_000
        for name_ in ("requirements.txt", "requirements-dev.txt"):
            os.utime(self.root / name_, (old, old))
        for stamp in (".installed", ".installed-dev"):
            (self.root / ".venv" / stamp).touch()
            os.utime(self.root / ".venv" / stamp, (new, new))
        self.pg_port = _free_port()
        self.redis_port = _free_port()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "TEST_PG_BIN"}
        }
        self.env.update(WITH_BROWSER="0", TEST_PG_PORT=str(self.pg_port), TEST_REDIS_PORT=str(self.redis_port))

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.root / "scripts" / "test-services.sh"), *args],
            cwd="/",
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def make_test(self, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "--no-print-directory", "test", "PYTEST_ARGS=-q"],
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def python_calls(self) -> str:
        return self.calls.read_text() if self.calls.exists() else ""


@pytest.fixture
def checkout(tmp_path):
    co = Checkout(tmp_path)
    yield co
    co.run("clean")  # stops whatever up started and removes its data (.tmp/ and the /var/tmp fallback)


@pytest.fixture
def fake_pg_bin():
    """A PostgreSQL bin directory the postgres user can reach, whose tools fail like a real failure."""
    path = Path(tempfile.mkdtemp(prefix="fake-pg-bin-"))
    path.chmod(0o755)

    def tool(name: str, body: str) -> None:
        (path / name).write_text("#!/bin/sh\n" + body)
        (path / name).chmod(0o755)

    yield path, tool
    shutil.rmtree(path, ignore_errors=True)


def _failing_initdb(tool) -> None:
    tool("initdb", 'echo "initdb: error: could not create directory \\"$2\\": Permission denied (FAKE)" >&2\nexit 1\n')
    tool("pg_ctl", "exit 1\n")


def test_up_fails_with_the_reason_when_initdb_fails(checkout, fake_pg_bin):
    path, tool = fake_pg_bin
    _failing_initdb(tool)
    result = checkout.run("up", TEST_PG_BIN=str(path))
    assert result.returncode != 0
    assert result.stdout == ""  # nothing an `eval` could take for a working environment
    assert "Permission denied (FAKE)" in result.stderr
    assert "initdb failed" in result.stderr
    assert not _port_open(checkout.redis_port)  # it stopped at PostgreSQL


def test_up_prints_the_server_log_when_postgres_does_not_start(checkout, fake_pg_bin):
    path, tool = fake_pg_bin
    tool("initdb", 'while [ "$1" != -D ]; do shift; done\necho 15 > "$2/PG_VERSION"\n')
    tool(
        "pg_ctl",
        'while [ $# -gt 0 ]; do [ "$1" = -l ] && log=$2; shift; done\n'
        'echo "FATAL:  could not bind IPv4 address (FAKE SERVER LOG)" >> "$log"\n'
        'echo "pg_ctl: could not start server" >&2\nexit 1\n',
    )
    result = checkout.run("up", TEST_PG_BIN=str(path))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "FAKE SERVER LOG" in result.stderr
    assert f"PostgreSQL did not start on port {checkout.pg_port}" in result.stderr


@needs_make
def test_make_test_stops_before_pytest_when_postgres_cannot_start(checkout, fake_pg_bin):
    path, tool = fake_pg_bin
    _failing_initdb(tool)
    result = checkout.make_test(TEST_PG_BIN=str(path))
    assert result.returncode != 0
    assert "Permission denied (FAKE)" in result.stderr
    assert "stopped before the suite" in result.stderr
    assert checkout.python_calls() == ""  # neither makemigrations nor pytest ran


def test_check_refuses_sqlite_and_servers_that_do_not_answer(checkout):
    redis_url = f"redis://127.0.0.1:{checkout.redis_port}/0"
    no_db = checkout.run("check", REDIS_URL=redis_url)
    assert no_db.returncode != 0 and "DATABASE_URL is not set" in no_db.stderr
    sqlite = checkout.run("check", DATABASE_URL="sqlite:///db.sqlite3", REDIS_URL=redis_url)
    assert sqlite.returncode != 0 and "not a PostgreSQL URL" in sqlite.stderr
    if HAVE_PG:
        down = checkout.run(
            "check", DATABASE_URL=f"postgres://postgres@127.0.0.1:{checkout.pg_port}/x", REDIS_URL=redis_url
        )
        assert down.returncode != 0 and "does not answer SELECT 1" in down.stderr


@needs_postgres
def test_up_runs_real_servers_from_a_private_checkout_and_down_stops_them(checkout, tmp_path):
    assert (checkout.root.parent.stat().st_mode & 0o777) == 0o700
    result = checkout.run("up")
    assert result.returncode == 0, result.stderr
    env = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    assert env["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{checkout.pg_port}/backoffice"
    assert env["REDIS_URL"] == f"redis://127.0.0.1:{checkout.redis_port}/0"
    if IS_ROOT:  # the postgres user cannot enter the checkout: the data went where it can
        assert "/var/tmp/backoffice-test-" in result.stderr

    select = subprocess.run(
        [PSQL, env["DATABASE_URL"], "-XtAc", "SELECT 1"], capture_output=True, text=True, timeout=30
    )
    assert select.stdout.strip() == "1", select.stderr
    redis = ["redis-cli", "-u", env["REDIS_URL"]]
    assert subprocess.run([*redis, "ping"], capture_output=True, text=True).stdout.strip() == "PONG"
    databases = subprocess.run([*redis, "config", "get", "databases"], capture_output=True, text=True).stdout.split()
    assert databases[-1] == "64"
    assert checkout.run("check", **env).returncode == 0

    again = checkout.run("up")  # idempotent: the same servers
    assert again.returncode == 0 and again.stdout == result.stdout, again.stderr

    # Another checkout asking for the same port is told whose server holds it, instead of sharing it.
    other = Checkout(tmp_path, "other-clone")
    clash = other.run("up", TEST_PG_PORT=str(checkout.pg_port))
    assert clash.returncode != 0
    assert f"port {checkout.pg_port} is taken by another PostgreSQL server" in clash.stderr
    other.run("clean")

    if shutil.which("make"):  # make test runs pytest on these servers, with the guard variable set
        made = checkout.make_test()
        assert made.returncode == 0, made.stderr
        calls = checkout.python_calls()
        assert f"-m pytest -n auto --maxprocesses 4 -q | DATABASE_URL={env['DATABASE_URL']}" in calls
        assert f"REDIS_URL={env['REDIS_URL']} REQUIRE=1" in calls

    down = checkout.run("down")
    assert down.returncode == 0, down.stderr
    assert not _port_open(checkout.pg_port)
    assert not _port_open(checkout.redis_port)
