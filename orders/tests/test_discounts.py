"""Orders priced by promotions, as the orders app shows and refunds them: the order page's lines (list price,
discount, what was paid, gift lines marked), its totals and the promotions it got (linked for who may see them);
an unknown code on the timeline; the API's typed fields; and refunds of discounted lines, which give back the net
price paid (cents spread so that all units of a line refund exactly what the line cost, a gift refunds nothing).

The promotions are made through the promotions app's services (tests build worlds across apps); the orders app
itself never imports promotions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts import services as accounts
from orders import services
from orders.models import Order, Refund
from orders.services.returns import line_paid, units_refund
from orders.tests.factories import make_sku
from promotions.tests.factories import intake, make_promotion
from tests.fixtures import api_client_for, make_member, owner_actor, web_client_for

D = Decimal
TIERS = [{"min_spend": "300", "discount": "30"}, {"min_spend": "500", "discount": "60"}]


def _delivered(shop, order: Order) -> Order:
    actor = owner_actor(shop)
    order = services.order_pack(actor=actor, order=order, carrier="CDEK", tracking_number=f"TRK{order.pk}")
    order = services.order_ship(actor=actor, order=order)
    return services.order_deliver(actor=actor, order=order)


def _return_and_refund(shop, order: Order, lines: list[tuple[int, int]]) -> Refund:
    """A return of (line id, units), approved, received (written off) and refunded by default: the service's own
    amount, nothing given."""
    actor = owner_actor(shop)
    ret = services.return_request(actor=actor, order=order, reason="Changed mind",
                                  lines=[{"line": pk, "quantity": n} for pk, n in lines])  # fmt: skip
    ret = services.return_approve(actor=actor, ret=ret)
    ret = services.return_receive(actor=actor, ret=ret, warehouse=None)
    _ret, refund = services.return_refund(actor=actor, ret=ret)
    return refund


@pytest.fixture
def spend_order(shop):
    """满减 300/30, 500/60 on 3 × 100.00 + 1 × 33.33 = 333.33: 30.00 off, spread over the lines by amount."""
    tea, _wh = make_sku(shop, price="100.00", stock=10, code="TEA")
    cup, _wh = make_sku(shop, price="33.33", stock=10, code="CUP")
    promotion = make_promotion(shop, name="Spend more", kind="spend_threshold", tiers=TIERS)
    order = intake(shop, [(tea, 3), (cup, 1)])
    return order, promotion


@pytest.mark.django_db
def test_a_spend_tier_order_refunds_exactly_what_was_paid_unit_by_unit(shop, spend_order):
    order, _promotion = spend_order
    assert (order.subtotal, order.discount_total, order.total) == (D("333.33"), D("30.00"), D("303.33"))
    tea, cup = order.lines.order_by("id")
    assert tea.discount + cup.discount == D("30.00") and tea.discount > cup.discount > 0
    assert line_paid(tea) + line_paid(cup) == order.total
    order = _delivered(shop, order)
    # One unit of tea: a third of what the line cost, rounded down to the cent (never its list price, 100.00).
    first = _return_and_refund(shop, order, [(tea.pk, 1)])
    assert first.amount == (line_paid(tea) / 3).quantize(D("0.01"), rounding="ROUND_FLOOR") < D("100.00")
    # The other two units in a second return, with the cup: the tea line's last unit takes the odd cents.
    second = _return_and_refund(shop, order, [(tea.pk, 2), (cup.pk, 1)])
    assert first.amount + second.amount == order.total
    order.refresh_from_db()
    assert order.refunded_total == order.total and order.refundable == 0


@pytest.mark.django_db
def test_one_return_of_everything_refunds_the_order_total(shop, spend_order):
    order, _promotion = spend_order
    order = _delivered(shop, order)
    refund = _return_and_refund(shop, order, [(line.pk, line.quantity) for line in order.lines.all()])
    assert refund.amount == order.total == D("303.33")


@pytest.mark.django_db
def test_a_gift_line_refunds_nothing_and_the_paid_lines_their_net_price(shop):
    tea, _wh = make_sku(shop, price="250.00", stock=10, code="TEA")
    gift, _wh = make_sku(shop, price="40.00", stock=5, code="GIFT-CUP")
    make_promotion(shop, name="Cup with tea", kind="gift_with_purchase", gift_sku=gift.code, min_spend="200")
    make_promotion(shop, name="Ten off", value="10")  # 10% off the tea: 25.00 a unit
    order = intake(shop, [(tea, 2)])
    paid, given = order.lines.order_by("id")
    assert given.is_gift and (given.unit_price, given.discount, line_paid(given)) == (D("0.00"), D("0.00"), D("0"))
    assert (paid.discount, order.total) == (D("50.00"), D("450.00"))
    order = _delivered(shop, order)
    refund = _return_and_refund(shop, order, [(given.pk, 1), (paid.pk, 1)])
    assert refund.amount == D("225.00")  # one tea at its net price; the gift adds nothing
    rest = _return_and_refund(shop, order, [(paid.pk, 1)])
    assert refund.amount + rest.amount == order.total


@given(
    paid=st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False),
    quantity=st.integers(min_value=1, max_value=50),
    cuts=st.lists(st.integers(min_value=1, max_value=50), max_size=10),
)
def test_any_split_of_a_lines_units_refunds_exactly_its_net_total(paid, quantity, cuts):
    """However the units come back (one return, or several of any sizes), they refund ``paid`` exactly; no unit
    refunds a negative amount or more than a cent off the even share."""
    parts, left = [], quantity
    for cut in cuts:
        if left == 0:
            break
        parts.append(min(cut, left))
        left -= parts[-1]
    if left:
        parts.append(left)
    before, total = 0, D("0.00")
    for units in parts:
        amount = units_refund(paid=paid, quantity=quantity, before=before, units=units)
        assert amount >= 0
        assert abs(amount - paid * units / quantity) < D("0.01") * units
        before, total = before + units, total + amount
    assert total == paid


@pytest.mark.django_db
def test_order_page_shows_lines_totals_gift_promotions_and_an_ignored_code(shop):
    tea, _wh = make_sku(shop, price="260.00", stock=10, code="TEA")
    gift, _wh = make_sku(shop, price="40.00", stock=5, code="GIFT-CUP")
    tiers = make_promotion(shop, name="Spend more", kind="spend_threshold", tiers=TIERS)
    make_promotion(shop, name="Cup with tea", kind="gift_with_purchase", gift_sku=gift.code, min_spend="200")
    order = intake(shop, [(tea, 2)], codes=["NOPE-42"])
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
    paid_line, gift_line = order.lines.order_by("id")
    assert f'<tr data-line="{paid_line.pk}"><td class="mono">TEA</td>' in html
    assert "<td data-discount>−60.00</td><td data-paid>460.00</td>" in html
    assert f'<tr data-line="{gift_line.pk}" data-gift>' in html and '<span class="badge ok">Gift</span>' in html
    assert 'id="order-subtotal">520.00 RUB<' in html and 'id="order-discount">−60.00 RUB<' in html
    assert 'id="order-total"><strong>460.00 RUB</strong>' in html
    assert f'<a href="/shops/{shop.pk}/promotions/{tiers.pk}/">Spend more</a>' in html
    assert "Spend threshold" in html and "Gift with purchase" in html and "GIFT-CUP" in html
    assert 'data-code-ignored="NOPE-42"' in html and "Code “NOPE-42” ignored: unknown code" in html
    # The list shows what was paid and the discount under it.
    listing = web.get(f"/shops/{shop.pk}/orders/").content.decode()
    assert '460.00 RUB<div class="muted" data-discount>Discount: −60.00</div>' in listing


@pytest.mark.django_db
def test_a_member_who_may_not_see_promotions_gets_their_names_without_links(shop):
    tea, _wh = make_sku(shop, price="100.00", stock=5, code="TEA")
    promotion = make_promotion(shop, name="Ten off", value="10")
    order = intake(shop, [(tea, 1)])
    role = accounts.role_create(actor=owner_actor(shop), name="Packer", permissions=["orders.view"])
    packer = make_member(shop, role.key).user
    html = web_client_for(packer, reauth=False).get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
    assert f'data-promotion="{promotion.pk}"><td>Ten off</td>' in html and "/promotions/" not in html


@pytest.mark.django_db
def test_api_order_detail_has_typed_promotions_and_line_totals(shop, spend_order):
    order, promotion = spend_order
    body = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/orders/{order.pk}/").json()
    assert (body["subtotal"], body["discount_total"], body["total"]) == ("333.33", "30.00", "303.33")
    assert body["promotions"] == [{"promotion": promotion.pk, "name": "Spend more", "kind": "spend_threshold",
                                   "discount": "30.00", "gift": None, "code": None}]  # fmt: skip
    lines = body["lines"]
    assert [ln["is_gift"] for ln in lines] == [False, False]
    assert sum(D(ln["discount"]) for ln in lines) == D("30.00")
    assert [ln["total"] for ln in lines] == [f"{D(ln['unit_price']) * ln['quantity'] - D(ln['discount']):.2f}"
                                             for ln in lines]  # fmt: skip
    assert sum(D(ln["total"]) for ln in lines) == D(body["total"])


@pytest.mark.django_db
def test_api_timeline_names_the_ignored_code(shop):
    tea, _wh = make_sku(shop, price="100.00", stock=5, code="TEA")
    order = intake(shop, [(tea, 1)], codes=["WHO-KNOWS"])
    body = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/orders/{order.pk}/").json()
    created = next(e for e in body["timeline"] if e["kind"] == "created")
    assert created["data"]["codes_ignored"] == [{"code": "WHO-KNOWS", "reason": "unknown_code"}]
    assert body["total"] == "100.00" and body["promotions"] == []
