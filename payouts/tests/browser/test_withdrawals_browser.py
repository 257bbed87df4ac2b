"""A withdrawal in a real browser: the owner asks for one above the shop's second-approval threshold (the form asks
for the password first), a finance member approves it as the second person on the confirmation page, the platform
approves and pays it through the platform API, and the owner sees it paid with the bank's reference. axe-core finds
nothing on the pages on the way."""

from __future__ import annotations

import json
import re
import urllib.request
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from accounts import services as accounts
from payouts import services as ledger
from payouts.models import Account, Kind, Withdrawal
from payouts.services import withdrawals as services
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE
from tests.fixtures import make_member, make_platform_user, make_shop, owner_actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _platform(live_server, key: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/platform/withdrawals/{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def _axe(page: Page) -> list:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE) + page.evaluate(DANGLING)


def test_owner_withdraws_with_reauth_finance_approves_platform_pays(browser, live_server, login, reauth):
    shop = make_shop("Withdrawals Browser")
    ledger.post(shop=shop, kind=Kind.ADJUSTMENT, key="fund",
                entries=[(Account.ADJUSTMENTS, Decimal("-1000.00")), (Account.AVAILABLE, Decimal("1000.00"))])  # fmt: skip
    services.payout_settings_update(actor=owner_actor(shop), second_approval_above="500.00")
    finance = make_member(shop, "finance")
    base = f"{live_server.url}/shops/{shop.pk}/payouts/withdrawals/"
    found: dict[str, list] = {}
    # axe is injected inline: these contexts let it past the pages' CSP.
    owner_context = browser.new_context(bypass_csp=True, base_url=live_server.url, locale="en-US",
                                        viewport={"width": 1280, "height": 800})  # fmt: skip
    page = owner_context.new_page()

    login(page, shop.owner)
    page.goto(base)
    found["empty list"] = _axe(page)
    page.locator("#new-withdrawal").click()
    reauth(page)  # the form asks for the password first, then comes back
    expect(page.locator("#available")).to_contain_text("1000.00")
    found["form"] = _axe(page)
    page.get_by_label("Amount").fill("600.00")
    page.locator("#submit-withdrawal").click()
    expect(page.locator("#withdrawal-status")).to_have_attribute("data-status", "awaiting_approval")
    expect(page.locator("#approve-withdrawal")).to_have_count(0)  # not the requester's to approve
    found["detail"] = _axe(page)
    w = Withdrawal.objects.for_shop(shop).get()

    second = browser.new_context(bypass_csp=True, base_url=live_server.url, locale="en-US").new_page()
    try:
        login(second, finance.user)
        second.goto(f"{base}{w.pk}/")
        second.locator("#approve-withdrawal").click()
        expect(second.locator("#withdrawal-confirm")).to_be_visible()
        found["confirm"] = _axe(second)
        second.locator("#confirm-approve").click()
        expect(second.locator("#withdrawal-status")).to_have_attribute("data-status", "requested")
        expect(second.locator("#second-approver")).to_contain_text(finance.user.username)
    finally:
        second.context.close()

    staff = make_platform_user()
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="payouts",
                                                          codename__in=["view_withdrawal", "change_withdrawal"]))  # fmt: skip
    _token, key = accounts.token_create(user=staff, name="payout desk")
    assert _platform(live_server, key, f"{w.pk}/approve/", {})["status"] == "approved"
    assert _platform(live_server, key, f"{w.pk}/pay/", {"bank_reference": "SWIFT-777"})["status"] == "paid"

    page.goto(base)
    expect(page.locator(f'[data-withdrawal="{w.pk}"]')).to_have_attribute("data-status", "paid")
    found["list"] = _axe(page)
    page.locator(f'[data-withdrawal="{w.pk}"] a').click()
    expect(page.locator("#bank-reference")).to_have_text("SWIFT-777")
    expect(page).to_have_url(re.compile(rf"/withdrawals/{w.pk}/$"))
    owner_context.close()
    assert {name: v for name, v in found.items() if v} == {}
