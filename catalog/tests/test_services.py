"""Catalog services: products and SKUs, moderation, stock, reservations, constraints, audit."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction

from backoffice.authz import load_actor, system_actor
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from catalog import services
from catalog.models import SKU, LowStockAlert, Product, Stock, StockMovement
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.fixtures import make_member, make_shop

pytestmark = pytest.mark.django_db
S = Product.Status


def audit_entries(shop):
    return apps.get_model(settings.AUDIT_ENTRY_MODEL).objects.for_shop(shop).order_by("id")


def audit_actions(shop) -> list[str]:
    return list(audit_entries(shop).values_list("action", flat=True))


def approve(platform_moderator, product):
    return services.product_approve(actor=system_actor(product.shop, user=platform_moderator), product=product)


def reject(platform_moderator, product, reason):
    return services.product_reject(
        actor=system_actor(product.shop, user=platform_moderator), product=product, reason=reason
    )


def test_product_create_with_variants(shop, owner):
    cat = services.category_create(actor=owner, name="Phones")
    product = services.product_create(
        actor=owner, title="Phone X", category=cat,
        skus=[{"code": "PX-BLK", "price": "990.00", "cost": "500.00", "attributes": {"color": "black"}},
              {"code": "PX-WHT", "price": Decimal("990.00")}],
    )  # fmt: skip
    assert product.status == S.DRAFT
    skus = list(SKU.objects.for_shop(shop).filter(product=product).order_by("code"))
    assert [s.code for s in skus] == ["PX-BLK", "PX-WHT"]
    assert skus[0].price == Decimal("990.00") and skus[0].cost == Decimal("500.00")
    assert audit_actions(shop)[-1] == "product.created"


def test_sku_codes_are_unique_per_shop(shop, owner):
    make_product(owner, skus=1)
    taken = SKU.objects.for_shop(shop).first().code
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=owner, title="Dup", skus=[{"code": taken, "price": "1.00"}])
    assert "skus.0.code" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(
            actor=owner, title="Dup", skus=[{"code": "A", "price": "1"}, {"code": "A", "price": "1"}]
        )
    assert "skus.1.code" in exc.value.fields
    # Another shop may use the same code.
    other = make_shop()
    services.product_create(
        actor=load_actor(other.owner, other), title="Same code", skus=[{"code": taken, "price": "1"}]
    )


def test_bad_money_is_a_validation_error(owner):
    for bad in ("-1", "abc", "1.234", "NaN"):
        with pytest.raises(ValidationFailed):
            services.product_create(actor=owner, title="T", skus=[{"code": f"C{bad}", "price": bad}])


def test_other_shops_category_is_not_found(shop, owner):
    other = make_shop()
    foreign = services.category_create(actor=load_actor(other.owner, other), name="Foreign")
    with pytest.raises(NotFound):
        services.product_create(actor=owner, title="T", category=foreign)


def test_moderation_flow(shop, owner, platform_moderator):
    product = make_product(owner)
    with pytest.raises(Conflict):
        approve(platform_moderator, product)  # not submitted yet
    product = services.product_submit(actor=owner, product=product)
    assert product.status == S.PENDING_REVIEW and product.submitted_at
    with pytest.raises(Conflict) as exc:
        services.product_submit(actor=owner, product=product)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ValidationFailed):
        reject(platform_moderator, product, "  ")
    product = reject(platform_moderator, product, "Blurry photos")
    assert product.status == S.REJECTED and product.rejection_reason == "Blurry photos"
    product = services.product_submit(actor=owner, product=product)
    assert product.status == S.PENDING_REVIEW and product.rejection_reason == ""
    product = approve(platform_moderator, product)
    assert product.status == S.APPROVED and product.reviewed_by == platform_moderator
    product = services.product_archive(actor=owner, product=product)
    assert product.status == S.ARCHIVED
    with pytest.raises(Conflict):
        services.product_archive(actor=owner, product=product)
    product = services.product_unarchive(actor=owner, product=product)
    assert product.status == S.DRAFT
    with pytest.raises(Conflict):
        services.product_unarchive(actor=owner, product=product)
    assert [a for a in audit_actions(shop) if a.startswith("product.")][1:] == [
        "product.submitted", "product.rejected", "product.submitted", "product.approved",
        "product.archived", "product.unarchived",
    ]  # fmt: skip
    # The audit entries of moderation name the staff user the platform acted for.
    assert audit_entries(shop).filter(action="product.approved").get().actor == platform_moderator


def test_only_platform_code_moderates(shop, owner, platform_moderator):
    """A shop member (even the owner, who holds catalog.publish) cannot approve their own product; the
    platform (a system actor) can. Staff checks stay at the edge (admin, IsPlatformStaff)."""
    product = services.product_submit(actor=owner, product=make_product(owner))
    with pytest.raises(Forbidden):
        services.product_approve(actor=owner, product=product)
    with pytest.raises(Forbidden):
        services.product_reject(actor=owner, product=product, reason="no")
    other = make_shop()
    with pytest.raises(NotFound):  # the platform acting for another shop
        services.product_approve(actor=system_actor(other, user=platform_moderator), product=product)
    assert approve(platform_moderator, product).status == S.APPROVED


def test_services_refuse_a_bare_user(shop, owner, platform_moderator):
    """Every service needs an Actor: a User handed in (to skip the scope checks, say) is a TypeError."""
    product = make_product(owner)
    sku = first_sku(product)
    wh = make_warehouse(owner)
    user = shop.owner
    calls = [
        lambda: services.category_create(actor=user, name="X"),
        lambda: services.warehouse_create(actor=user, name="W", code="w-user"),
        lambda: services.product_create(actor=user, title="T"),
        lambda: services.product_update(actor=user, product=product, title="T2"),
        lambda: services.sku_update(actor=user, sku=sku, price="1.00"),
        lambda: services.product_submit(actor=user, product=product),
        lambda: services.product_approve(actor=platform_moderator, product=product),
        lambda: services.stock_adjust(actor=user, sku=sku, warehouse=wh, delta=1, reason="receipt"),
        lambda: services.stock_reserve(actor=user, lines=[{"sku": sku, "quantity": 1}]),
        lambda: services.stock_release(actor=user, allocations=[{"sku": sku.pk, "warehouse": wh.pk, "quantity": 1}]),
        lambda: services.stock_ship(actor=user, allocations=[{"sku": sku.pk, "warehouse": wh.pk, "quantity": 1}]),
        lambda: services.low_stock_scan(actor=user),
        lambda: services.export_create(actor=user, kind="products", fmt="csv"),
        lambda: services.import_job_run(actor=user, job_id=1),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert Stock.objects.for_shop(shop).count() == 0 and product.status == S.DRAFT


def test_stock_services_for_orders_take_a_system_actor(shop, owner):
    """Orders reserve, ship and release as the system actor, naming the member who acted."""
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=5, reason="receipt")
    packer = make_member(shop, "viewer")  # holds no catalog.manage_stock: orders checked its own action
    platform = system_actor(shop, user=packer.user)
    allocations = services.stock_reserve(actor=platform, lines=[{"sku": sku, "quantity": 2}], reference="o-1")
    services.stock_ship(actor=platform, allocations=allocations, reference="o-1")
    movements = StockMovement.objects.for_shop(shop).order_by("id")
    assert [(m.kind, m.actor_id) for m in movements][-2:] == [("reservation", packer.user_id),
                                                               ("shipment", packer.user_id)]  # fmt: skip
    assert audit_entries(shop).filter(action="stock.shipped").get().actor == packer.user
    with pytest.raises(NotFound):
        services.stock_reserve(actor=system_actor(make_shop()), lines=[{"sku": sku, "quantity": 1}])


def test_submit_needs_a_sku(owner):
    # A product cannot be created without a SKU any more (test_validation); one saved before that rule can
    # still not be submitted.
    product = Product.objects.for_shop(owner.shop).create(shop=owner.shop, title="Empty")
    with pytest.raises(ValidationFailed) as exc:
        services.product_submit(actor=owner, product=product)
    assert exc.value.code == "no_skus"


def _approved(owner, platform_moderator):
    product = services.product_submit(actor=owner, product=make_product(owner))
    return approve(platform_moderator, product)


def test_content_edit_sends_approved_product_back_to_review(owner, platform_moderator):
    product = _approved(owner, platform_moderator)
    product = services.product_update(actor=owner, product=product, description="New words")
    assert product.status == S.PENDING_REVIEW
    # No change at all: nothing happens.
    product = approve(platform_moderator, product)
    product = services.product_update(actor=owner, product=product, description="New words")
    assert product.status == S.APPROVED


def test_price_and_stock_edits_keep_approval(shop, owner, platform_moderator):
    product = _approved(owner, platform_moderator)
    sku = first_sku(product)
    services.sku_update(actor=owner, sku=sku, price=Decimal("120.00"), old_price=Decimal("150.00"))
    services.stock_adjust(actor=owner, sku=sku, warehouse=make_warehouse(owner), delta=5, reason="receipt")
    product.refresh_from_db()
    assert product.status == S.APPROVED
    assert SKU.objects.for_shop(shop).get(pk=sku.pk).price == Decimal("120.00")
    services.sku_update(actor=owner, sku=sku, barcode="999")
    product.refresh_from_db()
    assert product.status == S.PENDING_REVIEW


def test_new_variant_on_approved_product_goes_to_review(owner, platform_moderator):
    product = _approved(owner, platform_moderator)
    services.sku_create(actor=owner, product=product, code="NEW-1", price="5.00")
    product.refresh_from_db()
    assert product.status == S.PENDING_REVIEW


def test_cost_needs_view_cost(shop):
    operator = load_actor(make_member(shop, "operator").user, shop)
    with pytest.raises(Forbidden):
        services.product_create(actor=operator, title="T", skus=[{"code": "C1", "price": "1", "cost": "0.5"}])
    product = services.product_create(actor=operator, title="T", skus=[{"code": "C1", "price": "1"}])
    with pytest.raises(Forbidden):
        services.sku_update(actor=operator, sku=first_sku(product), cost=Decimal("1"))


def test_category_scope_limits_edits(shop, owner):
    mine = services.category_create(actor=owner, name="Mine")
    theirs = services.category_create(actor=owner, name="Theirs")
    member = make_member(shop, "operator", scopes={"category": [mine.pk]})
    actor = load_actor(member.user, shop)
    services.product_create(actor=actor, title="OK", category=mine, skus=[{"code": "OK1", "price": "1"}])
    with pytest.raises(Forbidden):
        services.product_create(actor=actor, title="No", category=theirs)
    with pytest.raises(Forbidden):
        services.product_create(actor=actor, title="No category")
    other = make_product(owner, category=theirs)
    with pytest.raises(Forbidden):
        services.product_update(actor=actor, product=other, title="Hijack")


# ------------------------------------------------------------------------------------------- stock


def test_receipt_and_adjustments_record_movements(shop, owner):
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    m1 = services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=10, reason="receipt", note="PO-1")
    m2 = services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=-3, reason="damage")
    stock = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    assert (stock.on_hand, stock.reserved, stock.available) == (7, 0, 7)
    assert (m1.kind, m1.on_hand_after, m2.kind, m2.on_hand_after) == ("receipt", 10, "adjustment", 7)
    assert m2.actor == shop.owner and m2.reason == "damage"
    assert audit_actions(shop)[-2:] == ["stock.receipt", "stock.adjustment"]


def test_adjustment_validation(owner):
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    with pytest.raises(ValidationFailed):
        services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=5, reason="because")
    with pytest.raises(ValidationFailed):
        services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=0, reason="correction")
    with pytest.raises(ValidationFailed):
        services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=-5, reason="receipt")
    with pytest.raises(Conflict) as exc:
        services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=-1, reason="loss")
    assert exc.value.code == "insufficient_stock"


def test_cannot_take_reserved_stock_away(shop, owner):
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=5, reason="receipt")
    services.stock_reserve(actor=owner, lines=[{"sku": sku, "quantity": 4, "warehouse": wh}])
    with pytest.raises(Conflict):
        services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=-2, reason="loss")
    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=-1, reason="loss")
    stock = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    assert (stock.on_hand, stock.reserved, stock.available) == (4, 4, 0)


def test_database_refuses_negative_available(shop, owner):
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=2, reason="receipt")
    qs = Stock.objects.for_shop(shop).filter(sku=sku, warehouse=wh)
    for bad in ({"reserved": 3}, {"reserved": -1}, {"on_hand": -1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            qs.update(**bad)


def test_reserve_all_lines_or_none(shop, owner):
    a, b = first_sku(make_product(owner)), first_sku(make_product(owner))
    wh1, wh2 = make_warehouse(owner), make_warehouse(owner)
    services.stock_adjust(actor=owner, sku=a, warehouse=wh1, delta=5, reason="receipt")
    services.stock_adjust(actor=owner, sku=b, warehouse=wh1, delta=1, reason="receipt")
    services.stock_adjust(actor=owner, sku=b, warehouse=wh2, delta=3, reason="receipt")
    movements = StockMovement.objects.for_shop(shop).count()
    with pytest.raises(Conflict) as exc:
        services.stock_reserve(actor=owner, lines=[{"sku": a, "quantity": 2}, {"sku": b, "quantity": 4}])
    assert exc.value.code == "out_of_stock" and "lines.1.quantity" in exc.value.fields
    assert sum(Stock.objects.for_shop(shop).values_list("reserved", flat=True)) == 0
    assert StockMovement.objects.for_shop(shop).count() == movements
    # No warehouse given: the one that can cover the line.
    allocations = services.stock_reserve(actor=owner, lines=[{"sku": a, "quantity": 2}, {"sku": b, "quantity": 3}],
                                         reference="order-1")  # fmt: skip
    assert {(x["sku"], x["warehouse"], x["quantity"]) for x in allocations} == {(a.pk, wh1.pk, 2), (b.pk, wh2.pk, 3)}
    # The same SKU twice in one request counts both lines.
    with pytest.raises(Conflict):
        services.stock_reserve(actor=owner, lines=[{"sku": a, "quantity": 2, "warehouse": wh1},
                                                   {"sku": a, "quantity": 2, "warehouse": wh1}])  # fmt: skip
    services.stock_release(actor=owner, allocations=allocations[:1], reference="order-1")
    services.stock_ship(actor=owner, allocations=allocations[1:], reference="order-1")
    s_a = Stock.objects.for_shop(shop).get(sku=a, warehouse=wh1)
    s_b = Stock.objects.for_shop(shop).get(sku=b, warehouse=wh2)
    assert (s_a.on_hand, s_a.reserved) == (5, 0) and (s_b.on_hand, s_b.reserved) == (0, 0)
    kinds = list(StockMovement.objects.for_shop(shop).order_by("id").values_list("kind", flat=True))[-4:]
    assert kinds == ["reservation", "reservation", "release", "shipment"]
    with pytest.raises(Conflict):
        services.stock_release(actor=owner, allocations=allocations[:1])  # already released


def test_stock_set_level_is_idempotent(shop, owner):
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    assert services.stock_set_level(actor=owner, sku=sku, warehouse=wh, on_hand=7).on_hand_delta == 7
    assert services.stock_set_level(actor=owner, sku=sku, warehouse=wh, on_hand=7) is None
    assert services.stock_set_level(actor=owner, sku=sku, warehouse=wh, on_hand=2).on_hand_delta == -5


def test_warehouse_scope_limits_stock_changes(shop, owner):
    sku = first_sku(make_product(owner))
    mine, theirs = make_warehouse(owner), make_warehouse(owner)
    actor = load_actor(make_member(shop, "operator", scopes={"warehouse": [mine.pk]}).user, shop)
    services.stock_adjust(actor=actor, sku=sku, warehouse=mine, delta=1, reason="receipt")
    with pytest.raises(Forbidden):
        services.stock_adjust(actor=actor, sku=sku, warehouse=theirs, delta=1, reason="receipt")
    services.stock_adjust(actor=owner, sku=sku, warehouse=theirs, delta=3, reason="receipt")
    # Reserving without naming a warehouse takes only from the member's own warehouses.
    with pytest.raises(Conflict):
        services.stock_reserve(actor=actor, lines=[{"sku": sku, "quantity": 2}])
    [allocation] = services.stock_reserve(actor=actor, lines=[{"sku": sku, "quantity": 1}])
    assert allocation["warehouse"] == mine.pk
    theirs_allocation = services.stock_reserve(actor=owner, lines=[{"sku": sku, "quantity": 1, "warehouse": theirs}])
    with pytest.raises(Forbidden):
        services.stock_release(actor=actor, allocations=theirs_allocation)


def test_a_member_limited_to_warehouses_cannot_open_one(shop, owner):
    mine = make_warehouse(owner)
    actor = load_actor(make_member(shop, "operator", scopes={"warehouse": [mine.pk]}).user, shop)
    with pytest.raises(Forbidden) as exc:
        services.warehouse_create(actor=actor, name="Mine too", code="mine-too")
    assert exc.value.code == "out_of_scope"
    services.warehouse_update(actor=actor, warehouse=mine, address="1 Dock Road")
    # A member limited only by category may (warehouses are not in a category).
    cat = services.category_create(actor=owner, name="Phones")
    by_category = load_actor(make_member(shop, "operator", scopes={"category": [cat.pk]}).user, shop)
    services.warehouse_create(actor=by_category, name="Annex", code="annex")


def test_a_variant_added_by_mistake_can_be_removed_but_not_one_with_a_history(shop):
    owner = load_actor(shop.owner, shop)
    product = make_product(owner, skus=3)
    first, stocked, spare = SKU.objects.for_shop(shop).filter(product=product).order_by("id")
    wh = make_warehouse(owner)
    services.stock_adjust(actor=owner, sku=stocked, warehouse=wh, delta=2, reason="receipt")

    services.sku_delete(actor=owner, sku=spare)
    assert not SKU.objects.for_shop(shop).filter(pk=spare.pk).exists()
    entry = audit_entries(shop).filter(action="sku.deleted").get()
    assert entry.changes["code"] == [spare.code, None]

    with pytest.raises(Conflict) as exc:
        services.sku_delete(actor=owner, sku=stocked)
    assert exc.value.code == "sku_has_stock"
    services.stock_adjust(actor=owner, sku=stocked, warehouse=wh, delta=-2, reason="damage")
    with pytest.raises(Conflict) as exc:
        services.sku_delete(actor=owner, sku=stocked)  # no stock now, but a history to keep readable
    assert exc.value.code == "sku_in_use"
    assert Stock.objects.for_shop(shop).filter(sku=stocked).exists()  # nothing half-deleted

    services.product_create(actor=owner, title="Single", skus=[{"code": "ONLY-1", "price": "5.00"}])
    only = SKU.objects.for_shop(shop).get(code="ONLY-1")
    with pytest.raises(Conflict) as exc:
        services.sku_delete(actor=owner, sku=only)
    assert exc.value.code == "last_variant"


def test_the_shop_default_threshold_drives_the_low_stock_scan(shop, owner):
    """SPEC §2: a SKU without its own threshold alerts at the shop's ``low_stock_default``; when the
    owner changes the default, the next scan follows it (and a SKU with its own threshold ignores it)."""
    from accounts import services as accounts

    wh = make_warehouse(owner)
    plain, own = first_sku(make_product(owner)), first_sku(make_product(owner))
    services.sku_update(actor=owner, sku=own, low_stock_threshold=1)
    for sku in (plain, own):
        services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=3, reason="receipt")

    def scan_open() -> dict[int, int]:
        services.low_stock_scan(actor=system_actor(shop))
        return dict(LowStockAlert.objects.for_shop(shop).filter(status="open").values_list("sku_id", "threshold"))

    assert shop.low_stock_default == 5
    assert scan_open() == {plain.pk: 5}  # 3 ≤ 5; own: 3 > 1
    accounts.shop_update(actor=owner, low_stock_default=2)
    assert scan_open() == {}  # 3 > 2: resolved
    accounts.shop_update(actor=owner, low_stock_default=3)
    assert scan_open() == {plain.pk: 3}
    assert LowStockAlert.objects.for_shop(shop).filter(sku=own).count() == 0
