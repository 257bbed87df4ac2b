"""The Django admin shows orders, returns, refunds and exports read-only; a platform refund goes through
the service, as the system acting for the staff user."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict

from accounts.models import AuditEntry
from orders.models import ExportJob, Order, Refund, Return
from orders.tests.factories import order_in, return_in
from tests.fixtures import PASSWORD, BrowserClient

pytestmark = pytest.mark.django_db
EDITABLE = ('<input type="text"', '<input type="number"', "<textarea", "<select", 'type="checkbox"')


@pytest.fixture
def superuser_client():
    # A browser: its form POSTs carry the one-time token the refund form issues (backoffice/once.py).
    client = BrowserClient()
    user = get_user_model().objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    client.force_login(user)
    client.user = user
    return client


def _rows(model, shop) -> list[dict]:
    return [model_to_dict(x) for x in model.objects.for_shop(shop).order_by("id")]


@pytest.mark.parametrize("kind", ["order", "return", "refund", "export"])
def test_change_forms_are_read_only(shop, superuser_client, kind):
    ret = return_in(shop, Return.State.REFUNDED)
    obj = {
        "order": ret.order,
        "return": ret,
        "refund": Refund.objects.for_shop(shop).get(ret=ret),
        "export": ExportJob.objects.for_shop(shop).create(shop=shop, fmt="csv", created_by=shop.owner),
    }[kind]
    model = type(obj)
    url = f"/admin/orders/{model._meta.model_name}/{obj.pk}/change/"
    page = superuser_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index(f'id="{model._meta.model_name}_form"')
    form = html[start : html.index("</form>", start)]
    assert not any(tag in form for tag in EDITABLE), [tag for tag in EDITABLE if tag in form]
    assert 'name="_save"' not in html and "/delete/" not in html
    before = {m: _rows(m, shop) for m in (Order, Return, Refund, ExportJob)}
    r = superuser_client.post(url, {"state": "cancelled", "amount": "999.00", "reason": "edited", "status": "done"})
    assert r.status_code == 403
    assert superuser_client.post(f"/admin/orders/{model._meta.model_name}/add/", {}).status_code == 403
    assert (
        superuser_client.post(f"/admin/orders/{model._meta.model_name}/{obj.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert {m: _rows(m, shop) for m in (Order, Return, Refund, ExportJob)} == before


def test_refund_on_behalf_of_the_marketplace(shop, superuser_client):
    order = order_in(shop, Order.State.DELIVERED, unit_price="100.00")
    url = "/admin/orders/order/"
    ask = superuser_client.post(url, {"action": "refund_on_behalf", ACTION_CHECKBOX_NAME: [order.pk]})
    assert ask.status_code == 200 and 'id="refund-on-behalf"' in ask.content.decode()
    bad = superuser_client.post(url, {"action": "refund_on_behalf", ACTION_CHECKBOX_NAME: [order.pk], "apply": "1",
                                      "amount": "", "reason": "x"})  # fmt: skip
    assert bad.status_code == 200 and not Refund.objects.for_shop(shop).exists()
    done = superuser_client.post(url, {"action": "refund_on_behalf", ACTION_CHECKBOX_NAME: [order.pk], "apply": "1",
                                       "amount": "30.00", "reason": "Marketplace goodwill"})  # fmt: skip
    assert done.status_code == 302
    refund = Refund.objects.for_shop(shop).get(order=order)
    assert refund.amount == Decimal("30.00") and refund.actor == superuser_client.user
    entry = AuditEntry.objects.for_shop(shop).get(action="refund.created", target_id=str(refund.pk))
    assert entry.actor == superuser_client.user and entry.membership is None
    # The service's rules hold: never more than is still refundable.
    superuser_client.post(url, {"action": "refund_on_behalf", ACTION_CHECKBOX_NAME: [order.pk], "apply": "1",
                                "amount": "80.00", "reason": "Too much"})  # fmt: skip
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")


def test_refund_on_behalf_is_sent_once(shop, client):
    """The refund form carries a one-time token, as the shop's own refund form: without it nothing is refunded
    (400), with it once, and the same form sent again (a double click, a resend) refunds nothing more (409)."""
    root = get_user_model().objects.create_superuser(username="root1", email="r1@example.com", password=PASSWORD)
    client.force_login(root)  # a plain client: it sends only what the test gives it
    order = order_in(shop, Order.State.DELIVERED, unit_price="100.00")
    url = "/admin/orders/order/"
    chosen = {"action": "refund_on_behalf", ACTION_CHECKBOX_NAME: [order.pk]}
    form = client.post(url, chosen).content.decode()
    token = re.search(r'name="once_token" value="([^"]+)"', form).group(1)
    send = {**chosen, "apply": "1", "amount": "10.00", "reason": "Goodwill"}
    assert client.post(url, send).status_code == 400
    assert not Refund.objects.for_shop(shop).exists()
    assert client.post(url, {**send, "once_token": token}).status_code == 302
    again = client.post(url, {**send, "once_token": token})
    assert again.status_code == 409 and "already sent" in again.content.decode()
    order.refresh_from_db()
    assert Refund.objects.for_shop(shop).count() == 1 and order.refunded_total == Decimal("10.00")


def test_refund_on_behalf_is_for_superusers(shop, client):
    staff = get_user_model().objects.create_user(username="staff", email="s@example.com", password=PASSWORD,
                                                 is_staff=True)  # fmt: skip
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(staff)
    order = order_in(shop, Order.State.DELIVERED)
    r = client.post("/admin/orders/order/", {"action": "refund_on_behalf", ACTION_CHECKBOX_NAME: [order.pk],
                                             "apply": "1", "amount": "1.00", "reason": "x"})  # fmt: skip
    assert not Refund.objects.for_shop(shop).exists()
    assert r.status_code in (200, 302)
