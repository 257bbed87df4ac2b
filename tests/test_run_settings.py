"""`make run` on a fresh machine: DEBUG off unless asked for, so a missing page is the app's own 404 page
(not Django's technical page listing every URL); static files still served (whitenoise); a secret key
generated once and kept. The server is started exactly as the Makefile starts it (its command line and
environment read from ``make -n run``), with no configuration but a throwaway database and key file."""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fresh_env(tmp_path: Path) -> dict:
    """A machine with no configuration: none of the app's variables, none of make's."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    # Only where the embedded default keeps its files, so the test leaves the checkout alone.
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    return env


def _make_run_line(tmp_path: Path, *args: str) -> tuple[dict, list[str]]:
    """(environment assignments, command) of the line that serves in ``make -n run``."""
    done = subprocess.run(["make", "-n", "-s", "run", *args], cwd=ROOT, env=_fresh_env(tmp_path),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if "manage.py runserver" in ln)
    words = shlex.split(line)
    assignments = {}
    while "=" in words[0] and not words[0].startswith(("/", ".")):
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    return assignments, words


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _setting(env: dict, expression: str) -> str:
    code = f"from django.conf import settings; print({expression})"
    done = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_make_run_serves_the_app_s_404_page_and_static_files_with_debug_off(tmp_path):
    assignments, command = _make_run_line(tmp_path)
    assert assignments.get("DEBUG") == "0", (assignments, command)
    # No autoreloader: on Ctrl-C it would kill the background jobs half-way (tests/test_embedded_jobs.py).
    assert command[1:3] == ["manage.py", "runserver"] and "--noreload" in command, command
    port = _free_port()
    env = {**_fresh_env(tmp_path), **assignments}
    server = subprocess.Popen(
        [sys.executable, *command[1:-1], f"127.0.0.1:{port}"],  # the Makefile's command, on a free port
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        base = f"http://127.0.0.1:{port}"

        status, headers, body = _get(f"{base}/no-such-page/")
        page = body.decode()
        assert status == 404
        # The app's own page in the app's layout...
        assert "There is nothing here, or it belongs to a shop you do not work in." in page
        assert 'class="topbar"' in page
        # ...not Django's technical 404 page, which lists the URL patterns.
        assert "URLconf" not in page and "tried these URL patterns" not in page and "DEBUG = True" not in page

        # Static files (the app's and the admin's) are served with DEBUG off.
        status, headers, body = _get(f"{base}/static/css/app.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert body == (ROOT / "static" / "css" / "app.css").read_bytes()
        status, headers, _body = _get(f"{base}/static/admin/css/base.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert _get(f"{base}/static/no-such-file.css")[0] == 404

        # A page with a form works (the CSRF token needs the secret key).
        status, _headers, body = _get(f"{base}/accounts/login/")
        assert status == 200 and b'name="csrfmiddlewaretoken"' in body
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and anything it started
        server.wait(timeout=30)

    # The key was generated on the first start, kept private, and is the one every later start uses.
    key_file = tmp_path / "secret_key"
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
    digest = _setting(env, "__import__('hashlib').sha256(settings.SECRET_KEY.encode()).hexdigest()")
    assert digest == hashlib.sha256(key.encode()).hexdigest()


def test_debug_is_on_only_when_asked_for(tmp_path):
    off, _command = _make_run_line(tmp_path)
    on, _command = _make_run_line(tmp_path, "DEBUG=1")
    assert (off.get("DEBUG"), on.get("DEBUG")) == ("0", "1")
    fresh = _fresh_env(tmp_path)
    assert _setting({**fresh, **on}, "settings.DEBUG") == "True"
    assert _setting({**fresh, **off}, "settings.DEBUG") == "False"
    # With nothing set at all (manage.py run by hand), DEBUG is off too.
    assert _setting(fresh, "settings.DEBUG, settings.ALLOWED_HOSTS[:2]") == "False ['127.0.0.1', 'localhost']"
