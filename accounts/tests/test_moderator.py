"""The demo's platform moderator moderates in the admin: staff in the "Platform moderators" group (catalog
migration 0004), not a superuser. They log in, see the pending products, approve one and reject one with
a reason through the admin actions; the decisions go through the catalog services (one audit entry each,
naming the moderator). They edit nothing, nothing else in the admin is theirs, and staff outside the
group cannot moderate."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from accounts.management.commands.load_demo import DEMO_MODERATOR, DEMO_PASSWORD
from accounts.models import AuditEntry, User
from backoffice.authz import load_actor
from catalog import services as catalog_services
from catalog.models import Product
from catalog.moderation import MODERATORS_GROUP, moderators_group
from catalog.tests.factories import make_product

pytestmark = pytest.mark.django_db

NO_PERMISSION = "have permission to view or edit anything"
URL = "/admin/catalog/product/"


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())


def _login(client, username: str, password: str) -> None:
    r = client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})
    assert r.status_code == 302 and r["Location"] == "/admin/", r.content[:500]


def test_the_demo_moderator_approves_and_rejects_pending_products_in_the_admin(demo, client):
    moderator = User.objects.get(username=DEMO_MODERATOR)
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.values_list("name", flat=True)) == [MODERATORS_GROUP]
    pending = list(Product.unscoped.filter(status="pending_review").select_related("shop").order_by("id"))
    assert len(pending) >= 2
    approve, reject = pending[0], pending[1]

    _login(client, DEMO_MODERATOR, DEMO_PASSWORD)
    index = client.get("/admin/").content.decode()
    assert NO_PERMISSION not in index and f'href="{URL}"' in index

    # The pending products are listed, with the two moderation actions on offer.
    r = client.get(URL, {"status__exact": "pending_review"})
    page = r.content.decode()
    assert r.status_code == 200
    for product in pending:
        assert f'value="{product.pk}"' in page and product.title in page
    assert '<option value="approve">' in page and '<option value="reject">' in page
    assert client.get(f"{URL}{approve.pk}/change/").status_code == 200  # the product, read-only, with its SKUs

    r = client.post(URL, {"action": "approve", "_selected_action": [str(approve.pk)]}, follow=True)
    assert r.status_code == 200 and "1 product(s) approved." in r.content.decode()
    approve.refresh_from_db()
    assert (approve.status, approve.reviewed_by) == ("approved", moderator)

    # Reject asks for the reason first (nothing changes yet), then rejects with it.
    r = client.post(URL, {"action": "reject", "_selected_action": [str(reject.pk)]})
    assert r.status_code == 200 and "Reason shown to the seller" in r.content.decode()
    assert Product.unscoped.get(pk=reject.pk).status == "pending_review"
    reason = "The photos show another product."
    r = client.post(URL, {"action": "reject", "apply": "1", "_selected_action": [str(reject.pk)], "reason": reason})
    assert r.status_code == 302
    reject.refresh_from_db()
    assert (reject.status, reject.rejection_reason, reject.reviewed_by) == ("rejected", reason, moderator)

    # Through the services: each decision wrote its audit entry in the seller's shop, naming the moderator
    # and no membership (the platform acted).
    approved = AuditEntry.objects.for_shop(approve.shop).get(action="product.approved", target_id=str(approve.pk))
    rejected = AuditEntry.objects.for_shop(reject.shop).get(action="product.rejected", target_id=str(reject.pk))
    assert (approved.actor, approved.membership, rejected.actor) == (moderator, None, moderator)
    assert rejected.changes["rejection_reason"] == ["", reason]
    # The service's own rules still hold: an approved product is not approved again (no second entry).
    r = client.post(URL, {"action": "approve", "_selected_action": [str(approve.pk)]}, follow=True)
    assert "0 product(s) approved." in r.content.decode()
    assert (
        AuditEntry.objects.for_shop(approve.shop).filter(action="product.approved", target_id=str(approve.pk)).count()
        == 1
    )

    # Nothing is edited in the admin, and nothing but the catalog is theirs.
    other = pending[2] if len(pending) > 2 else approve
    assert client.post(f"{URL}{other.pk}/change/", {"title": "Hijacked"}).status_code == 403
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}{other.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Product.unscoped.get(pk=other.pk).title == other.title
    for url in ("/admin/accounts/shop/", "/admin/accounts/user/", "/admin/orders/order/", "/admin/auth/group/"):
        assert client.get(url).status_code == 403, url


def test_staff_outside_the_group_cannot_moderate(shop, client):
    """A staff user who may only look at products is offered no moderation action, and posting one changes
    nothing; one with no permission at all is where the demo moderator used to be: nothing to see."""
    owner = load_actor(shop.owner, shop)
    product = catalog_services.product_submit(actor=owner, product=make_product(owner))
    looker = User.objects.create_user(username="looker", password=DEMO_PASSWORD, is_staff=True)
    _login(client, "looker", DEMO_PASSWORD)
    assert NO_PERMISSION in client.get("/admin/").content.decode()
    assert client.get(URL).status_code == 403

    looker.user_permissions.add(Permission.objects.get(content_type__app_label="catalog", codename="view_product"))
    page = client.get(URL).content.decode()
    assert f'href="{URL}{product.pk}/change/' in page  # listed (without selection boxes: no action to run)
    assert 'value="approve"' not in page and 'value="reject"' not in page
    client.post(URL, {"action": "approve", "_selected_action": [str(product.pk)]})
    assert Product.unscoped.get(pk=product.pk).status == "pending_review"
    assert not AuditEntry.objects.for_shop(shop).filter(action="product.approved").exists()

    # Put in the moderators' group, the same user may moderate.
    looker.groups.add(moderators_group())
    client.post(URL, {"action": "approve", "_selected_action": [str(product.pk)]})
    assert Product.unscoped.get(pk=product.pk).status == "approved"
