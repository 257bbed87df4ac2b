"""Browser-test fixtures: the system Chromium (Debian package) driven by Playwright, against pytest-django's
``live_server``.

Any app's browser tests can write::

    @pytest.mark.browser
    def test_x(page, live_server, login):
        login(page, user)
        page.goto(live_server.url + "/...")

The ``page``/``context``/``browser`` fixtures come from pytest-playwright; this file only points it at the
system Chromium (never ``playwright install``). Without Chromium the tests fail loudly: CI installs it
(``scripts/test-services.sh`` does when ``WITH_BROWSER`` is not 0).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures import PASSWORD

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls made from the
# test body (SynchronousOnlyOperation). Test-only: the ORM is used synchronously, the loop is Playwright's.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-results" / "screenshots"

# Auto-waiting assertions give up after this long (Playwright's default is 5 s; a cold live server is slower).
expect.set_options(timeout=10_000)


def chromium_path() -> str:
    """The system Chromium: $CHROMIUM_PATH, else ``chromium`` (or ``chromium-browser``) on PATH."""
    candidate = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not candidate or not os.access(candidate, os.X_OK):
        pytest.fail(
            "Browser tests need the system Chromium, and none was found: "
            + (
                f"CHROMIUM_PATH={os.environ['CHROMIUM_PATH']!r} is not an executable. "
                if os.environ.get("CHROMIUM_PATH")
                else "no `chromium` on PATH. "
            )
            + "Install it with "
            "`apt-get install -y chromium` (scripts/test-services.sh does so when WITH_BROWSER is not 0), "
            "or point CHROMIUM_PATH at a Chromium binary. Do not use `playwright install`.",
            pytrace=False,
        )
    return candidate


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options (``--headed``, ``--slowmo`` still work) plus the system Chromium."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        # We run as root in CI/containers, where Chromium's sandbox cannot start.
        "args": [*browser_type_launch_args.get("args", []), "--no-sandbox", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """Relative URLs (``page.goto("/accounts/login/")``) resolve against the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """English by default (the language switcher test changes it), a desktop-sized window."""
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def login(live_server):
    """``login(page, user_or_username, password=PASSWORD)``: log in through the real form at /accounts/login/.

    Waits until the browser has left the login page (on success the app redirects to the first shop's
    dashboard, or to ``next``).
    """

    def _login(page: Page, user, password: str = PASSWORD, next_url: str | None = None) -> None:
        username = getattr(user, "username", user)
        url = live_server.url + "/accounts/login/"
        if next_url:
            url += f"?next={next_url}"
        page.goto(url)
        form = page.locator("#login-form")
        form.get_by_label("Username").fill(username)
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Log in").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    return _login


@pytest.fixture
def reauth():
    """``reauth(page, password=PASSWORD)``: on the re-authentication page, confirm the password and continue.

    The page must already be at /accounts/reauth/ (sensitive pages redirect there with ``?next=``); returns
    once the browser has been sent on to ``next``.
    """

    def _reauth(page: Page, password: str = PASSWORD) -> None:
        expect(page).to_have_url(re.compile(r"/accounts/reauth/"))
        form = page.locator("#reauth-form")
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Continue").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/reauth/"))

    return _reauth


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")``: a full-page PNG at test-results/screenshots/<name>.png, to eyeball layout."""

    def _screenshot(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _screenshot
