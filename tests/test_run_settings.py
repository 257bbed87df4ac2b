"""`make run` on a fresh machine: DEBUG off unless asked for, so a missing page is the app's own 404 page
(not Django's technical page listing every URL); static files still served (whitenoise); a secret key
generated once and kept. The server is started exactly as the Makefile starts it (its command line and
environment read from ``make -n run``), with no configuration but a throwaway database and key file."""

from __future__ import annotations

import hashlib

from tests.run_server import ROOT, fresh_env, http_get, make_run_line, make_run_server, setting


def test_make_run_serves_the_app_s_404_page_and_static_files_with_debug_off(tmp_path):
    assignments, command = make_run_line(tmp_path)
    assert assignments.get("DEBUG") == "0", (assignments, command)
    # No autoreloader: on Ctrl-C it would kill the background jobs half-way (tests/test_embedded_jobs.py).
    assert command[1:3] == ["manage.py", "runserver"] and "--noreload" in command, command
    with make_run_server(tmp_path) as (base, env, _command):
        status, headers, body = http_get(f"{base}/no-such-page/")
        page = body.decode()
        assert status == 404
        # The app's own page in the app's layout...
        assert "There is nothing here, or it belongs to a shop you do not work in." in page
        assert 'class="topbar"' in page
        # ...not Django's technical 404 page, which lists the URL patterns.
        assert "URLconf" not in page and "tried these URL patterns" not in page and "DEBUG = True" not in page

        # Static files (the app's and the admin's) are served with DEBUG off.
        status, headers, body = http_get(f"{base}/static/css/app.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert body == (ROOT / "static" / "css" / "app.css").read_bytes()
        status, headers, _body = http_get(f"{base}/static/admin/css/base.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert http_get(f"{base}/static/no-such-file.css")[0] == 404

        # A page with a form works (the CSRF token needs the secret key).
        status, _headers, body = http_get(f"{base}/accounts/login/")
        assert status == 200 and b'name="csrfmiddlewaretoken"' in body

    # The key was generated on the first start, kept private, and is the one every later start uses.
    key_file = tmp_path / "secret_key"
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
    digest = setting(env, "__import__('hashlib').sha256(settings.SECRET_KEY.encode()).hexdigest()")
    assert digest == hashlib.sha256(key.encode()).hexdigest()


def test_debug_is_on_only_when_asked_for(tmp_path):
    off, _command = make_run_line(tmp_path)
    on, _command = make_run_line(tmp_path, "DEBUG=1")
    assert (off.get("DEBUG"), on.get("DEBUG")) == ("0", "1")
    fresh = fresh_env(tmp_path)
    assert setting({**fresh, **on}, "settings.DEBUG") == "True"
    assert setting({**fresh, **off}, "settings.DEBUG") == "False"
    # With nothing set at all (manage.py run by hand), DEBUG is off too.
    assert setting(fresh, "settings.DEBUG, settings.ALLOWED_HOSTS[:2]") == "False ['127.0.0.1', 'localhost']"
