"""The audit log reads as sentences (backoffice.audit.sentences and each app's audit_sentences.py): object names
and links only where the reader may open the object, nothing looked up outside the reader's shop, a generic
sentence for what nobody registered; its filters are choices; one member's activity has its own page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from accounts import services
from accounts.models import AuditEntry, Membership, Role
from backoffice.audit import audit_record
from backoffice.audit.sentences import _ACTIONS, discover, render
from backoffice.authz import load_actor
from backoffice.authz.actions import ACTIONS
from catalog import services as catalog
from orders import services as orders
from orders.models import Order
from orders.tests.factories import make_sku, order_in
from tests.fixtures import make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def named(shop, role_key: str, first_name: str, **kwargs) -> Membership:
    return make_member(shop, role_key, username=first_name.lower(), first_name=first_name, **kwargs)


@pytest.fixture
def story(shop):
    """Anna (operator) packs an order and adjusts stock; the owner moves Boris from Support to Operator."""
    anna = named(shop, "operator", "Anna")
    boris = named(shop, "support", "Boris")
    as_anna = load_actor(anna.user, shop)
    sku, warehouse = make_sku(shop, code="TSHIRT-M")
    warehouse = catalog.warehouse_update(actor=owner_actor(shop), warehouse=warehouse, name="Main warehouse")
    order = order_in(shop, Order.State.AWAITING_PACKAGING, sku=sku)
    orders.order_pack(actor=as_anna, order=order, carrier="Cainiao", tracking_number="123")
    catalog.stock_adjust(actor=as_anna, sku=sku, warehouse=warehouse, delta=20, reason="correction")
    services.staff_update(
        actor=owner_actor(shop), membership=boris, role=Role.objects.for_shop(shop).get(key="operator")
    )
    return {"anna": anna, "boris": boris, "order": order, "sku": sku, "warehouse": warehouse}


def sentences(shop, reader=None, **filters) -> dict[str, object]:
    """The newest sentence of each action, rendered for ``reader`` (the owner by default)."""
    reader = reader or owner_actor(shop)
    entries = AuditEntry.objects.for_shop(shop).filter(**filters).select_related("actor").order_by("-id")
    found = {}
    for s in render(entries, reader=reader):
        found.setdefault(s.entry.action, s)
    return found


def test_entries_read_as_sentences_with_names(shop, story):
    said = sentences(shop)
    number = story["order"].number
    assert said["order.packed"].text == f"Anna (Operator) packed order #{number} — tracking 123 (Cainiao)"
    assert said["stock.adjustment"].text == (
        "Anna (Operator) adjusted stock of SKU TSHIRT-M at Main warehouse: +20 (Correction)"
    )
    owner = shop.owner.username
    assert said["staff.updated"].text == f"{owner} (owner) changed the role of Boris from Support to Operator"
    # Links: the order's page, the member's staff page, the actor's activity page.
    packed = str(said["order.packed"].html)
    assert f'<a href="/shops/{shop.pk}/orders/{story["order"].pk}/">order #{number}</a>' in packed
    assert f'<a href="/shops/{shop.pk}/staff/{story["anna"].pk}/activity/">Anna (Operator)</a>' in packed
    assert f'href="/shops/{shop.pk}/staff/{story["boris"].pk}/">Boris</a>' in str(said["staff.updated"].html)


def test_links_only_to_what_the_reader_may_open(shop, story):
    # An auditor who may read the log but not open orders, and may see the catalog of one other warehouse only.
    other_wh = catalog.warehouse_create(actor=owner_actor(shop), name="Far away", code="far")
    role = services.role_create(actor=owner_actor(shop), name="Auditor",
                                permissions=["accounts.view_audit", "catalog.view"])  # fmt: skip
    auditor = services.staff_create(actor=owner_actor(shop), username="auditor", email="aud@example.com",
                                    password="s3cret-Pass-1", role=role, scopes={"warehouse": [other_wh.pk]})  # fmt: skip
    said = sentences(shop, reader=load_actor(auditor.user, shop))
    number = story["order"].number
    # Names as recorded, no links: the order (no orders.view), the stock row (another warehouse), Boris (no
    # manage_staff); the actor's activity page is theirs to open (they read the log).
    assert said["order.packed"].text == f"Anna (Operator) packed order #{number} — tracking 123 (Cainiao)"
    assert "/orders/" not in str(said["order.packed"].html)
    stock = said["stock.adjustment"]
    assert "/catalog/stock/" not in str(stock.html) and stock.target_url == ""
    assert "TSHIRT-M" not in stock.text and "+20" in stock.text  # the live row's names are not theirs to read
    assert "/staff/" + str(story["boris"].pk) + '/"' not in str(said["staff.updated"].html)
    assert "of boris from" in said["staff.updated"].text  # the recorded username, not the live full name
    # The owner, who may open everything, gets every link.
    mine = sentences(shop)
    assert mine["stock.adjustment"].target_url.startswith(f"/shops/{shop.pk}/catalog/stock/?sku=")


def test_deleted_and_other_shops_objects_never_leak(shop, other_shop):
    actor = owner_actor(shop)
    product = catalog.product_create(actor=actor, title="Kept", skus=[{"code": "KEEP-1", "price": "10.00"},
                                                                       {"code": "GONE-1", "price": "10.00"}])  # fmt: skip
    gone = product.skus.get(code="GONE-1")
    catalog.sku_delete(actor=actor, sku=gone)
    theirs = catalog.product_create(actor=owner_actor(other_shop), title="Their secret product",
                                    skus=[{"code": "SECRET-1", "price": "10.00"}])  # fmt: skip
    services.role_create(actor=owner_actor(other_shop), name="Secret role name", permissions=["orders.view"])
    secret_key = Role.objects.for_shop(other_shop).get(name="Secret role name").key
    # Entries of this shop naming another shop's ids (as a bug or a crafted row might): read as recorded.
    AuditEntry.objects.for_shop(shop).create(shop=shop, actor=shop.owner, action="product.updated",
                                             target_type="catalog.product", target_id=str(theirs.pk),
                                             target_repr="as recorded", changes={"title": ["a", "b"]})  # fmt: skip
    member = make_member(shop, "viewer")
    AuditEntry.objects.for_shop(shop).create(shop=shop, actor=shop.owner, action="staff.updated",
                                             target_type="accounts.membership", target_id=str(member.pk),
                                             target_repr="x @ 1", changes={"role": ["viewer", secret_key]})  # fmt: skip
    said = sentences(shop)
    assert said["sku.deleted"].text.endswith("deleted the variant SKU GONE-1") and said["sku.deleted"].target_url == ""
    assert "as recorded" in said["product.updated"].text and "Their secret" not in said["product.updated"].text
    assert said["product.updated"].target_url == ""
    assert "Secret role name" not in said["staff.updated"].text and secret_key in said["staff.updated"].text


def test_unknown_actions_and_odd_changes_read_as_a_generic_sentence(shop):
    actor = owner_actor(shop)
    product = catalog.product_create(actor=actor, title="Mug", skus=[{"code": "MUG-1", "price": "10.00"}])
    audit_record(shop=shop, actor=actor, action="promotions.launched", target=product)
    # A registered action whose changes have another shape than its sentence expects: no 500, the generic one.
    audit_record(shop=shop, actor=actor, action="stock.adjustment", target=product, changes={"on_hand": [0, "lots"]})
    said = sentences(shop)
    owner = shop.owner.username
    assert said["promotions.launched"].text == f"{owner} (owner): promotions.launched — Mug"
    assert f'<a href="/shops/{shop.pk}/catalog/products/{product.pk}/">Mug</a>' in str(said["promotions.launched"].html)
    assert said["stock.adjustment"].text == f"{owner} (owner): Stock adjusted — Mug"


def test_names_are_escaped(shop):
    actor = owner_actor(shop)
    catalog.product_create(actor=actor, title="<b>Bold</b> & co", skus=[{"code": "ESC-1", "price": "10.00"}])
    html = str(sentences(shop)["product.created"].html)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in html and "<b>" not in html


def _written_actions() -> set[str]:
    """Every audit action the apps' services write today: literal codes, and the f-string families."""
    found = set()
    for app in ("accounts", "catalog", "orders"):
        for path in (ROOT / app).glob("services*/**/*.py") if (ROOT / app / "services").is_dir() else []:
            found |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', path.read_text()))
    found -= set(ACTIONS)  # permission checks name catalog actions with the same keyword
    kinds = {"order": ("confirmed", "packed", "shipped", "delivered", "cancelled"),
             "return": ("approved", "rejected", "received", "exchanged", "refunded"),
             "stock": ("receipt", "return", "adjustment")}  # fmt: skip
    found |= {f"{prefix}.{kind}" for prefix, names in kinds.items() for kind in names}
    return found


def test_every_action_the_apps_write_has_a_sentence():
    discover()
    written = _written_actions()
    assert {"order.packed", "staff.updated", "stock.adjustment", "sku.deleted"} <= written
    assert sorted(written - set(_ACTIONS)) == []


# ---------------------------------------------------------------- the page: filters as choices, pagination


def test_audit_page_filters_are_choices_and_bad_dates_are_named(shop, story):
    web = web_client_for(shop.owner, reauth=False)
    body = web.get(f"/shops/{shop.pk}/audit/").content.decode()
    assert re.search(r'<select name="action"[^>]*>.*<optgroup label="[^"]+">.*<option value="order.packed">Order packed',
                     body, flags=re.S)  # fmt: skip
    assert '<option value="anna">Anna (anna)</option>' in body
    assert '<option value="orders.order">Order</option>' in body
    r = web.get(f"/shops/{shop.pk}/audit/", {"action": "order.packed"})
    rows = re.findall(r'data-action="([a-z_.]+)"', r.content.decode())
    assert r.status_code == 200 and rows == ["order.packed"]
    r = web.get(f"/shops/{shop.pk}/audit/", {"actor": "anna", "target_type": "catalog.stock"})
    assert re.findall(r'data-action="([a-z_.]+)"', r.content.decode()) == ["stock.adjustment"]
    for bad in ({"date_from": "2026-02-30"}, {"date_to": "2026-13-01"}):
        r = web.get(f"/shops/{shop.pk}/audit/", bad)
        [field] = bad
        assert r.status_code == 400 and f'id="error-{field}"' in r.content.decode()
        assert "data-action=" not in r.content.decode()


def test_audit_page_paginates_newest_first(shop):
    actor = owner_actor(shop)
    for n in range(30):
        services.shop_update(actor=actor, return_window_days=10 + n)
    newest_first = list(
        AuditEntry.objects.for_shop(shop).filter(action="shop.updated").order_by("-id").values_list("pk", flat=True)
    )
    web = web_client_for(shop.owner, reauth=False)
    first = web.get(f"/shops/{shop.pk}/audit/", {"action": "shop.updated"}).content.decode()
    second = web.get(f"/shops/{shop.pk}/audit/", {"action": "shop.updated", "page": 2}).content.decode()
    assert [int(i) for i in re.findall(r'data-entry="(\d+)"', first)] == newest_first[:25]
    assert [int(i) for i in re.findall(r'data-entry="(\d+)"', second)] == newest_first[25:]
    assert "Page 1 of 2" in first and "?action=shop.updated&page=2" in first
    assert "changed the shop settings: return window (days)" in first
    # A page number that is not one shows a page, not an error.
    assert web.get(f"/shops/{shop.pk}/audit/", {"page": "x²"}).status_code == 200


# ---------------------------------------------------------------- one member's activity


def test_member_activity_page(shop, other_shop, story):
    anna, boris = story["anna"], story["boris"]
    web = web_client_for(shop.owner, reauth=False)
    r = web.get(f"/shops/{shop.pk}/staff/{anna.pk}/activity/")
    body = r.content.decode()
    actions = re.findall(r'data-action="([a-z_.]+)"', body)
    assert r.status_code == 200 and actions == ["stock.adjustment", "order.packed"]
    assert 'name="actor"' not in body and "<title>Activity of anna</title>" in body
    assert f'href="/shops/{shop.pk}/audit/?actor=anna"' in body
    # Its own filters still apply, and cannot widen it to someone else.
    r = web.get(f"/shops/{shop.pk}/staff/{anna.pk}/activity/", {"action": "order.packed", "actor": shop.owner.username})
    assert re.findall(r'data-action="([a-z_.]+)"', r.content.decode()) == ["order.packed"]
    assert web.get(f"/shops/{shop.pk}/staff/{anna.pk}/activity/", {"date_from": "2026-02-30"}).status_code == 400
    # Boris did nothing.
    assert "Nothing recorded" in web.get(f"/shops/{shop.pk}/staff/{boris.pk}/activity/").content.decode()
    # Another shop's member: 404; a member without the audit log: 403.
    theirs = Membership.objects.for_shop(other_shop).get(is_owner=True)
    assert web.get(f"/shops/{shop.pk}/staff/{theirs.pk}/activity/").status_code == 404
    assert web_client_for(anna.user).get(f"/shops/{shop.pk}/staff/{anna.pk}/activity/").status_code == 403


def test_staff_page_links_to_the_activity_for_those_who_may_read_the_log(shop, story):
    anna = story["anna"]
    link = f'href="/shops/{shop.pk}/staff/{anna.pk}/activity/"'
    admin = make_member(shop, "admin")
    assert link in web_client_for(admin.user).get(f"/shops/{shop.pk}/staff/{anna.pk}/").content.decode()
    role = services.role_create(actor=owner_actor(shop), name="Staff manager", permissions=["accounts.manage_staff"])
    manager = services.staff_create(actor=owner_actor(shop), username="mgr", email="mgr@example.com",
                                    password="s3cret-Pass-1", role=role)  # fmt: skip
    services.staff_update(actor=owner_actor(shop), membership=anna, manager=manager)
    page = web_client_for(manager.user).get(f"/shops/{shop.pk}/staff/{anna.pk}/")
    assert page.status_code == 200 and link not in page.content.decode()


def test_system_and_platform_actors_read_plainly(shop):
    platform = get_user_model().objects.create_user(username="platform-bob", password="x", is_staff=True)
    from backoffice.authz import system_actor

    audit_record(shop=shop, actor=system_actor(shop), action="low_stock.scanned", target=shop,
                 changes={"opened": [None, [1, 2]], "resolved": [None, []]})  # fmt: skip
    audit_record(shop=shop, actor=system_actor(shop, user=platform), action="shop.tier_changed", target=shop,
                 changes={"tier": ["basic", "gold"]})  # fmt: skip
    said = sentences(shop)
    assert said["low_stock.scanned"].text == "Low-stock check: 2 alerts opened, 0 resolved"
    assert said["shop.tier_changed"].text.startswith("platform-bob moved the shop from the Basic plan to Gold")
