"""Platform staff in the Django admin: catalog rows are read-only; moderation (approve, reject with a
reason) runs as admin actions through the services, each writing its audit entry."""

import re

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model

from backoffice.authz import load_actor
from catalog import services
from catalog.models import Product
from catalog.tests.factories import build_catalog_world, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x-Pass-12345")


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


def audit(shop, action: str):
    return apps.get_model(settings.AUDIT_ENTRY_MODEL).objects.for_shop(shop).filter(action=action)


def test_admin_approves_and_rejects_through_the_services(shop, admin_client, root):
    owner = load_actor(shop.owner, shop)
    a = services.product_submit(actor=owner, product=make_product(owner))
    b = services.product_submit(actor=owner, product=make_product(owner))
    draft = make_product(owner)
    url = "/admin/catalog/product/"
    r = admin_client.post(url, {"action": "approve", "_selected_action": [str(a.pk), str(draft.pk)]}, follow=True)
    assert r.status_code == 200
    r = admin_client.post(url, {"action": "reject", "_selected_action": [str(b.pk)]})
    assert r.status_code == 200 and b"Reason shown to the seller" in r.content
    r = admin_client.post(url, {"action": "reject", "apply": "1", "_selected_action": [str(b.pk)], "reason": ""})
    assert r.status_code == 200 and Product.objects.for_shop(shop).get(pk=b.pk).status == "pending_review"
    r = admin_client.post(url, {"action": "reject", "apply": "1", "_selected_action": [str(b.pk)], "reason": "Fuzzy"})
    assert r.status_code == 302
    states = dict(Product.objects.for_shop(shop).values_list("pk", "status"))
    assert states == {a.pk: "approved", b.pk: "rejected", draft.pk: "draft"}
    assert Product.objects.for_shop(shop).get(pk=b.pk).rejection_reason == "Fuzzy"
    assert Product.objects.for_shop(shop).get(pk=a.pk).reviewed_by == root
    # One audit entry per decision, naming the staff user, no membership (the platform acted).
    approved = audit(shop, "product.approved").get()
    assert (approved.target_id, approved.actor, approved.membership) == (str(a.pk), root, None)
    rejected = audit(shop, "product.rejected").get()
    assert rejected.target_id == str(b.pk) and rejected.actor == root
    assert rejected.changes["rejection_reason"] == ["", "Fuzzy"]
    assert not audit(shop, "product.approved").filter(target_id=str(draft.pk)).exists()  # refused: not submitted


_EDITABLE = re.compile(r"<(textarea|select)\b|<input\b(?![^>]*type=\"hidden\")", re.IGNORECASE)


def test_change_forms_have_no_editable_inputs(shop, admin_client):
    world = build_catalog_world(shop)
    objects = {
        "product": world.product, "category": world.category, "warehouse": world.warehouse,
        "importjob": world.job, "exportjob": world.export,
    }  # fmt: skip
    for model, obj in objects.items():
        r = admin_client.get(f"/admin/catalog/{model}/{obj.pk}/change/")
        assert r.status_code == 200, model
        page = r.content.decode()
        start = page.index(f'id="{model}_form"')
        form = page[start : page.index("</form>", start)]
        assert not _EDITABLE.search(form), (model, _EDITABLE.search(form).group(0))
        assert 'name="_save"' not in form, model
    # Nothing can be added or deleted either.
    assert admin_client.get("/admin/catalog/product/add/").status_code == 403
    assert admin_client.post(f"/admin/catalog/product/{world.product.pk}/delete/").status_code == 403
    r = admin_client.post(f"/admin/catalog/product/{world.product.pk}/change/", {"title": "Hijacked"})
    assert r.status_code == 403
    assert Product.objects.for_shop(shop).get(pk=world.product.pk).title == "Probe phone"
