"""Accessibility sweep: axe-core over every page a member can open, at desktop and phone width, 0 violations
of any impact.

The pages are the probe table's (every GET page of ``tests/shop_routes.py`` and the apps' ``probes.py``, so a
page added to an app is swept too), seen by the shop's owner and again by a read-only viewer (templates show
different things to each; refused pages show the 403 page), plus the pages outside a shop: log in (also with
its error), sign up (also with field errors), the one-time-code step, security, re-authentication, opening a
shop, the page of a user with no shop, and the error pages (400, 403, 404, 429, 500).

axe-core comes from the npm registry, pinned in package-lock.json and installed by ``npm ci`` (``make test``
runs it); the test injects ``node_modules/axe-core/axe.min.js`` into each page. All violations of a run are
collected and reported together (page, rule, impact, the elements), and also written to
test-results/accessibility-<viewport>.json.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from accounts import services as accounts
from accounts.services.notifications import Notice
from backoffice.authz import system_actor
from tests.fixtures import PASSWORD
from tests.shop_routes import PROBES, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = REPO_ROOT / "test-results"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PAGES = [p for p in PROBES if not p.api and p.method == "get"]
IMPACTS = ("critical", "serious", "moderate", "minor")

# What axe reports, reduced to what a reader of the failure needs: the rule, its impact, and each element.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: (n.failureSummary || "").split("\\n").slice(1, 2).join("").trim()})),
  }));
}"""


# References axe lets pass (it needs one id of a list to exist, and does not check <label for>): every id named by
# aria-describedby (Django's help text and errors), aria-labelledby, aria-controls or a label's ``for`` exists.
DANGLING = """() => {
  const out = [];
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage", "for"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      if (attr === "for" && el.tagName !== "LABEL") continue;
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean))
        if (!document.getElementById(id)) out.push(`${el.tagName.toLowerCase()}[${attr}="${id}"]`);
    }
  }
  return out;
}"""


def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed ({AXE.relative_to(REPO_ROOT)} is missing): run `npm ci` at the repository "
            "root (`make test` does; scripts/test-services.sh installs npm). It is pinned in package-lock.json.",
            pytrace=False,
        )
    return str(AXE)


class Sweep:
    """Opens pages in browser contexts of one viewport and collects axe's violations on each."""

    def __init__(
        self,
        browser: Browser,
        live_server,
        viewport: dict,
        context_args: dict,
        default_titles: set[str],
        axe_script: str,
    ):
        self.browser, self.live_server, self.viewport = browser, live_server, viewport
        self.default_titles = default_titles
        self.context_args = context_args
        self.axe = axe_script
        self.scanned: list[str] = []
        self.violations: list[dict] = []
        self.untitled: list[str] = []
        self.headings: list[str] = []
        self.axe_seconds = 0.0  # of the sweep's time, how much axe itself took
        self.statuses: list[str] = []  # pages that answered other than expected

    @contextmanager
    def visitor(self):
        """A fresh browser (no cookies). The injected axe is an inline script, which the pages' CSP refuses."""
        context = self.browser.new_context(
            **{**self.context_args, "viewport": self.viewport, "base_url": self.live_server.url, "bypass_csp": True}
        )
        try:
            yield context.new_page()
        finally:
            context.close()

    def scan(self, page: Page, name: str) -> None:
        """axe over the page as it is now (loaded, scripts run)."""
        page.wait_for_load_state("load")
        started = time.perf_counter()
        page.add_script_tag(path=self.axe)
        found = page.evaluate(RUN_AXE)
        self.axe_seconds += time.perf_counter() - started
        self.scanned.append(name)
        dangling = page.evaluate(DANGLING)
        if dangling:
            found.append(
                {
                    "id": "dangling-idref",
                    "impact": "serious",
                    "help": "Referenced ids must exist",
                    "nodes": [{"target": d, "summary": ""} for d in dangling],
                }
            )
        for v in found:
            self.violations.append({"page": name, "url": page.url.removeprefix(self.live_server.url), **v})

    def visit(self, page: Page, path: str, name: str) -> int | None:
        """Go to ``path`` and scan it; a download (no page) is skipped. Returns the status.

        Also checks that the title the server sends (before any script runs) names the page's heading."""
        try:
            response = page.goto(self.live_server.url + path)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):  # an export file, an error report: no page to check
                return None
            raise
        assert response is not None, path
        self.scan(page, name)
        served = re.search(r"<title>(.*?)</title>", response.text(), re.S)
        heading = page.locator("main h1").first
        if heading.count():
            h1 = " ".join(heading.inner_text().split())
            self.headings.append(h1)
            title = " ".join(html.unescape(served.group(1)).split()) if served else ""
            # The base template's default (the shop's name, or the site's) when a template names nothing.
            if h1.lower() not in title.lower() and title in self.default_titles:
                self.untitled.append(f"{name}: <title>{title}</title> (the default) does not name <h1>{h1}</h1>")
        return response.status

    def expect(self, status: int | None, wanted: int | tuple[int, ...], what: str) -> None:
        """Record a page that answered otherwise (a server error would otherwise be swept as a page)."""
        if status is not None and status not in (wanted if isinstance(wanted, tuple) else (wanted,)):
            self.statuses.append(f"{what}: {status}, expected {wanted}")

    def report(self) -> str:
        lines = []
        for v in self.violations:
            targets = "; ".join(
                f"{n['target']}{' (' + n['summary'] + ')' if n['summary'] else ''}" for n in v["nodes"][:6]
            )
            more = f" and {len(v['nodes']) - 6} more" if len(v["nodes"]) > 6 else ""
            lines.append(f"- {v['page']} [{v['url']}]: {v['id']} ({v['impact']}) {v['help']}: {targets}{more}")
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Violations by impact, counted per page scan and rule (as axe's own summary does)."""
        by_impact = Counter(v["impact"] for v in self.violations)
        return {impact: by_impact.get(impact, 0) for impact in IMPACTS}


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator("#login-form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/$"))


def submit_empty(page: Page, form_selector: str) -> None:
    """Send a form with its required fields empty (the browser's own check off), to see the field errors."""
    form = page.locator(form_selector)
    form.evaluate("f => { f.noValidate = true; }")
    form.locator("[type=submit]").last.click()
    page.wait_for_load_state("load")


def serve(page: Page, url: str, html: str, status: int) -> None:
    """Open ``url`` showing a page rendered here: one the live server cannot be made to answer (a server
    error, a locked-out login), which still loads the site's CSS and scripts from the live server."""
    page.route(url, lambda route: route.fulfill(status=status, content_type="text/html; charset=utf-8", body=html))
    page.goto(url)
    page.unroute(url)


@pytest.fixture
def axe_script() -> str:
    """The axe-core file to inject, or the test fails saying how to install it (before any world is built)."""
    return axe_source()


@pytest.fixture
def a11y_world() -> World:
    """The probe world (every page has something to show) with a few unread notifications for the owner."""
    world = World.build("Accessibility world")
    notices = [Notice(recipient=world.shop.owner, kind="member_expiring", title=f"Notice {i}") for i in range(2)]
    accounts.notifications_send(actor=system_actor(world.shop), notices=notices, email=False)
    return world


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_passes_axe(axe_script, browser: Browser, browser_context_args, live_server, a11y_world, viewport):
    world = a11y_world
    shop = world.shop
    sweep = Sweep(browser, live_server, viewport, browser_context_args, {"Seller back-office", shop.name}, axe_script)
    shop_path = f"/shops/{shop.pk}"

    # Outside a shop, logged out.
    with sweep.visitor() as page:
        sweep.visit(page, "/accounts/login/", "login")
        page.locator("#login-form").get_by_label("Username").fill(shop.owner.username)
        page.locator("#login-form").get_by_label("Password").fill("not-the-password")
        page.locator("#login-form").get_by_role("button", name="Log in").click()
        expect(page.locator("#login-form").get_by_role("alert")).to_be_visible()
        sweep.scan(page, "login (wrong password)")
        sweep.visit(page, "/accounts/signup/", "signup")
        submit_empty(page, "#signup-form")
        sweep.scan(page, "signup (field errors)")
        sweep.visit(page, "/no-such-page/", "404 (logged out)")
        serve(
            page,
            live_server.url + "/accounts/login/",
            render_to_string("accounts/locked_out.html", {"message": "Locked."}),
            429,
        )
        sweep.scan(page, "429 locked out")
        serve(page, live_server.url + "/", render_to_string("500.html"), 500)
        sweep.scan(page, "500")

    # The one-time-code step of a member with two-factor authentication.
    two_factor = get_user_model().objects.create_user(username="twofactor", password=PASSWORD)
    TOTPDevice.objects.create(user=two_factor, name="phone", confirmed=True)
    with sweep.visitor() as page:
        log_in(page, two_factor.username)
        expect(page).to_have_url(re.compile(r"/accounts/login/otp/"))
        sweep.scan(page, "login one-time code")

    # A user with no shop.
    get_user_model().objects.create_user(username="shopless", password=PASSWORD)
    with sweep.visitor() as page:
        log_in(page, "shopless")
        sweep.scan(page, "no shop")
        sweep.visit(page, reverse("accounts:open_shop"), "open a shop (no shop yet)")

    # The owner: every page of the probe table, and the pages around the shop.
    with sweep.visitor() as page:
        log_in(page, shop.owner.username)
        # Confirmed once, so that the sensitive pages (staff, roles) show themselves, not this one again.
        sweep.visit(page, reverse("accounts:reauth") + f"?next={shop_path}/", "owner re-authentication")
        page.locator("#reauth-form").get_by_label("Password").fill(PASSWORD)
        page.locator("#reauth-form").get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(rf"{shop_path}/$"))
        before = len(sweep.headings)
        for probe in PAGES:
            sweep.expect(sweep.visit(page, probe.url(world), f"owner {probe.id}"), probe.ok, probe.id)
        assert "Confirm it's you" not in sweep.headings[before:], "the owner's pages asked to re-authenticate again"
        sweep.visit(page, reverse("accounts:security"), "owner security")
        sweep.visit(page, reverse("accounts:open_shop"), "owner open another shop")
        # A refused filter goes back to the list with the reason as a message; a NUL in the address is a 400.
        sweep.visit(page, f"{shop_path}/orders/?date_from=2026-02-30", "owner order list (refused filter)")
        expect(page.locator(".messages .error")).to_be_visible()
        sweep.expect(sweep.visit(page, f"{shop_path}/orders/?search=%00", "owner 400"), 400, "NUL in the address")
        sweep.expect(sweep.visit(page, f"{shop_path}/no-such-page/", "owner 404"), 404, "missing page")
        sweep.visit(page, reverse("catalog:product_create", kwargs={"shop": shop.pk}), "owner product form")
        submit_empty(page, "#product-form")
        sweep.scan(page, "owner product form (field errors)")

    # A read-only viewer on the same pages (the 403 page once).
    with sweep.visitor() as page:
        log_in(page, world.members["viewer"].user.username)
        refused = False
        for probe in PAGES:
            if refused and page.request.get(live_server.url + probe.url(world)).status == 403:
                continue
            status = sweep.visit(page, probe.url(world), f"viewer {probe.id}")
            sweep.expect(status, (200, 403), probe.id)
            refused |= status == 403
        assert refused, "the viewer met no 403 page to scan"

    RESULTS.mkdir(exist_ok=True)
    name = "desktop" if viewport == DESKTOP else "phone"
    (RESULTS / f"accessibility-{name}.json").write_text(
        json.dumps(
            {
                "scanned": sweep.scanned,
                "axe_seconds": round(sweep.axe_seconds, 1),
                "counts": sweep.counts(),
                "violations": sweep.violations,
            },
            indent=1,
        )
    )
    assert len(sweep.scanned) >= 70, sweep.scanned  # the sweep did look at the pages (downloads aside)
    problems = []
    if sweep.statuses:
        problems.append(
            "pages that did not answer as expected (a server error is swept as the 500 page):\n- "
            + "\n- ".join(sweep.statuses)
        )
    if sweep.violations:
        problems.append(f"{len(sweep.violations)} axe violations (page × rule) {sweep.counts()}:\n" + sweep.report())
    if sweep.untitled:
        problems.append("pages left with the default <title>:\n- " + "\n- ".join(sweep.untitled))
    assert not problems, f"at {viewport['width']}x{viewport['height']}:\n" + "\n".join(problems)
