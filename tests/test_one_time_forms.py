"""One-time form tokens (backoffice/once.py): a form that creates something creates it once, whether the
button is clicked twice at the same moment or the browser resends the form later; a POST without the
token of a form rendered for this member is refused and does nothing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Membership, Role
from catalog.models import Product
from orders.models import Order, Refund
from orders.tests.factories import make_sku, order_in
from tests.fixtures import PASSWORD, make_member
from tests.races import race, require_postgresql

S = Order.State
_TOKEN = re.compile(r'name="once_token" value="([^"]+)"')


def web_client_for(user, *, reauth: bool = True) -> Client:
    """A plain test client (never one that adds tokens itself): these tests send exactly what they mean."""
    client = Client()
    client.force_login(user)
    if reauth:
        assert client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"}).status_code == 302
    return client


def token_of(client, url: str, form_id: str) -> str:
    """The token the form ``form_id`` of the page carries, as a browser would send it."""
    html = client.get(url).content.decode()
    form = html[html.index(f'id="{form_id}"') :]
    return _TOKEN.search(form[: form.index("</form>")]).group(1)


def _refund_setup(shop):
    sku, _wh = make_sku(shop, stock=10)
    order = order_in(shop, S.DELIVERED, sku=sku, quantity=2, unit_price="100.00")
    finance = make_member(shop, "finance").user
    return order, finance, f"/shops/{shop.pk}/orders/{order.pk}/refund/"


@pytest.mark.django_db(transaction=True)
def test_two_refunds_sent_at_once_with_one_token_record_one_refund(shop):
    require_postgresql()
    order, finance, url = _refund_setup(shop)
    clients = [web_client_for(finance, reauth=False) for _ in range(2)]
    token = token_of(clients[0], url, "refund-form")
    body = {"amount": "30.00", "reason": "Late", "once_token": token}

    results = race(2, lambda i: clients[i].post(url, body))

    assert sorted(r.status_code for r in results) == [302, 409]
    assert Refund.objects.for_shop(shop).filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")


def test_a_resent_refund_form_is_answered_409_with_a_link_to_the_first_result(shop):
    order, finance, url = _refund_setup(shop)
    web = web_client_for(finance, reauth=False)
    body = {"amount": "30.00", "reason": "Late", "once_token": token_of(web, url, "refund-form")}
    first = web.post(url, body)
    again = web.post(url, body)
    assert first.status_code == 302
    html = again.content.decode()
    assert again.status_code == 409 and "This form was already sent" in html and f'href="{first["Location"]}"' in html
    assert Refund.objects.for_shop(shop).filter(order=order).count() == 1
    # A fresh rendering of the form carries a new token: a second refund on purpose is possible.
    assert web.post(url, {**body, "once_token": token_of(web, url, "refund-form")}).status_code == 302
    assert Refund.objects.for_shop(shop).filter(order=order).count() == 2


def test_a_refund_without_a_token_of_this_member_is_refused_400(shop):
    order, finance, url = _refund_setup(shop)
    web = web_client_for(finance, reauth=False)
    other = web_client_for(make_member(shop, "finance").user, reauth=False)
    body = {"amount": "30.00", "reason": "Late"}
    for token in (None, "", "not a token", "x" * 32, token_of(other, url, "refund-form")):
        r = web.post(url, body if token is None else {**body, "once_token": token})
        assert r.status_code == 400 and "This form has expired" in r.content.decode(), token
    assert not Refund.objects.for_shop(shop).exists()


def test_a_refused_send_releases_the_token_so_the_corrected_form_can_be_sent(shop):
    order, finance, url = _refund_setup(shop)
    web = web_client_for(finance, reauth=False)
    token = token_of(web, url, "refund-form")
    r = web.post(url, {"amount": "500.00", "reason": "Too much", "once_token": token})
    assert r.status_code == 400 and "can still be refunded" in r.content.decode()
    assert web.post(url, {"amount": "20.00", "reason": "Late", "once_token": token}).status_code == 302
    assert web.post(url, {"amount": "20.00", "reason": "Late", "once_token": token}).status_code == 409
    assert list(Refund.objects.for_shop(shop).values_list("amount", flat=True)) == [Decimal("20.00")]


def test_staff_create_sent_twice_creates_one_member(shop):
    web = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/staff/new/"
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    body = {"username": "twice", "email": "t@example.com", "password": PASSWORD, "role": viewer.pk,
            "once_token": token_of(web, url, "staff-form")}  # fmt: skip
    assert [web.post(url, body).status_code for _ in range(2)] == [302, 409]
    assert Membership.unscoped.filter(user__username="twice").count() == 1
    del body["once_token"]
    assert web.post(url, {**body, "username": "none"}).status_code == 400
    assert not Membership.unscoped.filter(user__username="none").exists()


@pytest.mark.django_db(transaction=True)
def test_product_create_sent_twice_at_once_creates_one_product(shop):
    require_postgresql()
    clients = [web_client_for(shop.owner, reauth=False) for _ in range(2)]
    url = f"/shops/{shop.pk}/catalog/products/new/"
    body = {"title": "Once", "brand": "Acme", "description": "", "attributes": "",
            "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
            "variants-MAX_NUM_FORMS": "50", "variants-0-code": "ONCE-1", "variants-0-price": "10.00",
            "once_token": token_of(clients[0], url, "product-form")}  # fmt: skip

    results = race(2, lambda i: clients[i].post(url, body))

    assert sorted(r.status_code for r in results) == [302, 409], [r.content.decode()[:500] for r in results]
    assert Product.objects.for_shop(shop).filter(title="Once").count() == 1
    # Sent once more afterwards: still one product.
    assert clients[1].post(url, body).status_code == 409
    assert Product.objects.for_shop(shop).filter(title="Once").count() == 1


def test_editing_a_role_needs_no_token_but_creating_one_does(shop):
    web = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/roles/new/"
    body = {"name": "Packers", "permissions": ["orders.view"]}
    assert web.post(url, body).status_code == 400
    assert not Role.objects.for_shop(shop).filter(name="Packers").exists()
    token = token_of(web, url, "role-form")
    assert [web.post(url, {**body, "once_token": token}).status_code for _ in range(2)] == [302, 409]
    role = Role.objects.for_shop(shop).get(name="Packers")
    edit = f"/shops/{shop.pk}/roles/{role.pk}/"
    assert 'name="once_token"' not in web.get(edit).content.decode()
    assert web.post(edit, {"name": "Pickers", "permissions": ["orders.view"]}).status_code == 302
    role.refresh_from_db()
    assert role.name == "Pickers"
