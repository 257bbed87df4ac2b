"""Platform staff moderate products in the Django admin: approve, reject with a reason."""

import pytest

from accounts.models import User
from backoffice.authz import load_actor
from catalog import services
from catalog.models import Product
from catalog.tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser(username="root", email="root@example.com", password="x-Pass-12345")
    client.force_login(user)
    return client


def test_admin_approves_and_rejects(shop, admin_client):
    owner = load_actor(shop.owner, shop)
    a = services.product_submit(actor=owner, product=make_product(owner))
    b = services.product_submit(actor=owner, product=make_product(owner))
    draft = make_product(owner)
    url = "/admin/catalog/product/"
    r = admin_client.post(url, {"action": "approve", "_selected_action": [str(a.pk), str(draft.pk)]}, follow=True)
    assert r.status_code == 200
    r = admin_client.post(url, {"action": "reject", "_selected_action": [str(b.pk)]})
    assert r.status_code == 200 and b"Reason shown to the seller" in r.content
    r = admin_client.post(url, {"action": "reject", "apply": "1", "_selected_action": [str(b.pk)], "reason": "Fuzzy"})
    assert r.status_code == 302
    states = dict(Product.objects.for_shop(shop).values_list("pk", "status"))
    assert states == {a.pk: "approved", b.pk: "rejected", draft.pk: "draft"}
    assert Product.objects.for_shop(shop).get(pk=b.pk).rejection_reason == "Fuzzy"
