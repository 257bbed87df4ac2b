"""`make run` as a fresh machine runs it, for tests: the command line and environment read from
``make -n run`` (so a change to the Makefile is what gets tested), a throwaway SQLite database, key file and
media folder under a temporary directory, and the server on a free port.

Used by tests/test_run_settings.py (DEBUG off, the app's 404 page) and
tests/browser/test_embedded_default_browser.py (a 5,000-row import in the browser)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_env(tmp_path: Path) -> dict[str, str]:
    """A machine with no configuration: none of the app's variables, none of make's."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    # Only where the embedded default keeps its files, so the test leaves the checkout alone.
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SECRET_KEY_FILE=str(tmp_path / "secret_key"),
               MEDIA_ROOT=str(tmp_path / "media"))  # fmt: skip
    return env


def make_run_line(tmp_path: Path, *args: str) -> tuple[dict[str, str], list[str]]:
    """(environment assignments, command) of the line that serves in ``make -n run``."""
    done = subprocess.run(["make", "-n", "-s", "run", *args], cwd=ROOT, env=fresh_env(tmp_path),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if "manage.py runserver" in ln)
    words = shlex.split(line)
    assignments = {}
    while "=" in words[0] and not words[0].startswith(("/", ".")):
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    return assignments, words


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def manage(env: dict[str, str], *args: str, timeout: int = 300) -> str:
    """``manage.py <args>`` with this environment (the server's settings and database); its stdout."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def setting(env: dict[str, str], expression: str) -> str:
    """A value of the settings this environment loads, printed by ``manage.py shell``."""
    code = f"from django.conf import settings; print({expression})"
    return manage(env, "shell", "-v", "0", "-c", code, timeout=120).strip()


@contextmanager
def make_run_server(tmp_path: Path, *make_args: str) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """Serve as ``make run`` does, on a free port: yields (base URL, environment, the Makefile's command).

    The database is whatever the environment's DATABASE_URL holds (migrate it first to log in); the server's
    output is in ``tmp_path / "server.log"``. The server and anything it started are stopped afterwards
    (SIGTERM to its process group, as Ctrl-C would)."""
    assignments, command = make_run_line(tmp_path, *make_args)
    port = free_port()
    env = {**fresh_env(tmp_path), **assignments}
    # The server's output goes to a file (a pipe nobody reads would fill up and stall it): the log, on failure.
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, *command[1:-1], f"127.0.0.1:{port}"],  # the Makefile's command, on a free port
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-4000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", env, command
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and anything it started
        server.wait(timeout=60)
