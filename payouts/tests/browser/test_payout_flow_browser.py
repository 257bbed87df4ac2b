"""Issue #13's payout flow end to end in a real browser: the owner sees a delivered order's sale (less the
commission of the shop's tier) pending on the balance page; settlement runs past the return window ("time
travel"); the owner reloads and sees it available, withdraws it through the form after re-authenticating; the
platform approves and pays it through the platform API over HTTP; the owner downloads that payout's statement and
it lists the order."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import services as accounts
from accounts.models import Shop
from backoffice.authz import system_actor
from payouts import selectors, services
from payouts.models import Account, Withdrawal
from payouts.tests.factories import delivered
from tests.fixtures import make_platform_user, make_shop, shop_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sale_pending_settled_withdrawn_paid_and_on_the_statement(page: Page, live_server, login, reauth):
    shop = make_shop("Payout Flow Browser")
    Shop.objects.filter(pk=shop.pk).update(tier="silver")  # 8 % commission, not the default tier's
    shop.refresh_from_db()
    assert settings.PAYOUTS_COMMISSION_RATES["silver"] == "0.08"
    order = delivered(shop, "1000.00")  # through the orders services: the delivered event books the sale
    net = "920.00"  # 1000.00 − 8 % commission
    balance_url = f"{live_server.url}/shops/{shop.pk}/payouts/"

    login(page, shop.owner)
    page.goto(balance_url)
    expect(page.locator('[data-figure="pending"] .value')).to_have_text(f"{net} RUB")
    expect(page.locator('[data-figure="available"] .value')).to_have_text("0.00 RUB")
    matures = shop_date(order.delivered_at + timedelta(days=shop.return_window_days), shop)
    expect(page.locator(f'#maturity-table tr[data-day="{matures.isoformat()}"]')).to_contain_text(f"{net} RUB")

    # Settlement inside the return window moves nothing; "time travel" past it moves the sale.
    assert services.settle_matured(actor=system_actor(shop), now=timezone.now()) == 0
    later = timezone.now() + timedelta(days=shop.return_window_days + 1)
    assert services.settle_matured(actor=system_actor(shop), now=later) == 1
    page.reload()
    expect(page.locator('[data-figure="available"] .value')).to_have_text(f"{net} RUB")
    expect(page.locator('[data-figure="pending"] .value')).to_have_text("0.00 RUB")

    # The withdrawal form asks for the password first, then takes the whole available amount.
    page.goto(f"{balance_url}withdrawals/")
    page.locator("#new-withdrawal").click()
    reauth(page)
    expect(page.locator("#available")).to_contain_text(net)
    page.get_by_label("Amount").fill(net)
    page.locator("#submit-withdrawal").click()
    expect(page.locator("#withdrawal-status")).to_have_attribute("data-status", "requested")
    w = Withdrawal.objects.for_shop(shop).get()
    assert w.amount == Decimal(net)
    page.goto(balance_url)
    expect(page.locator('[data-figure="available"] .value')).to_have_text("0.00 RUB")
    expect(page.locator('[data-figure="in_transit"] .value')).to_have_text(f"{net} RUB")

    # The platform's payout desk approves and pays it over HTTP with its API token.
    staff = make_platform_user("payout-desk")
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="payouts",
                                                          codename__in=["view_withdrawal", "change_withdrawal"]))  # fmt: skip
    _token, key = accounts.token_create(user=staff, name="payout desk")
    api = f"{live_server.url}/api/v1/platform/withdrawals/{w.pk}/"
    headers = {"Authorization": f"Token {key}"}
    approved = page.request.post(api + "approve/", data={}, headers=headers)
    assert approved.status == 200 and approved.json()["status"] == "approved"
    paid = page.request.post(api + "pay/", data={"bank_reference": "FLOW-2026"}, headers=headers)
    assert paid.status == 200 and paid.json()["status"] == "paid"
    assert page.request.post(api + "pay/", data={"bank_reference": "AGAIN"}, headers=headers).status == 409
    money = selectors.balance(shop=shop)
    assert (money[Account.AVAILABLE], money[Account.IN_TRANSIT]) == (Decimal("0.00"), Decimal("0.00"))

    # The owner downloads that payout's statement: it lists the order, its sale net of commission, and the payout.
    page.goto(f"{balance_url}statements/")
    row = page.locator(f'[data-payout="{w.pk}"]')
    expect(row).to_contain_text("FLOW-2026")
    with page.expect_download() as info:
        row.get_by_role("link", name=re.compile("CSV")).click()
    with open(info.value.path(), encoding="utf-8-sig") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    head, body = rows[0], rows[1:]
    kind, order_col = head.index("kind"), head.index("order")
    assert [r[0] for r in body][0] == "opening" and [r[0] for r in body][-1] == "closing"
    assert [r[kind] for r in body[1:-1]] == ["sale", "settle", "withdrawal", "withdrawal"]
    assert {r[order_col] for r in body[1:3]} == {order.number}
    sale, settle, _request, payout, closing = body[1:]
    col = {name: head.index(name) for name in ("sales", "pending", "available", "commission", "payouts")}
    assert [sale[col[c]] for c in ("sales", "pending", "commission")] == ["-1000.00", net, "80.00"]
    assert [settle[col[c]] for c in ("pending", "available")] == [f"-{net}", net]
    assert (payout[head.index("withdrawal")], payout[col["payouts"]]) == (str(w.pk), net)
    assert [closing[col[c]] for c in ("available", "commission", "payouts")] == ["0.00", "80.00", net]
