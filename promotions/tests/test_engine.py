"""Worked examples of the pricing engine (issue 12), as a table: cart + rules → the discounts the buyer sees.

Each row states the whole outcome that matters: total discount, each line's discount, what applied (and for how
much) and why the others did not. Money is written as strings and compared as Decimals.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from promotions import engine as e
from promotions.engine import CartLine, Rule, Scope, Tier, quote

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def line(index, price, qty=1, *, sku=None, category=1, product=None, floor=None):
    return CartLine(
        index=index,
        sku=sku or f"SKU{index}",
        product_id=product if product is not None else 100 + index,
        category_id=category,
        quantity=qty,
        unit_price=D(price),
        floor=None if floor is None else D(floor),
    )


def pct(key, value, **kw):
    return Rule(key=key, kind=e.PERCENT_OFF, value=D(value), **kw)


def off(key, value, **kw):
    return Rule(key=key, kind=e.AMOUNT_OFF, value=D(value), **kw)


def tiers(key, *pairs, **kw):
    return Rule(key=key, kind=e.SPEND_THRESHOLD, tiers=tuple(Tier(D(a), D(b)) for a, b in pairs), **kw)


def gift(key, sku="GIFT", **kw):
    return Rule(key=key, kind=e.GIFT_WITH_PURCHASE, gift_sku=sku, **kw)


def bxgy(key, buy, get, **kw):
    return Rule(key=key, kind=e.BUY_X_GET_Y, buy_quantity=buy, get_quantity=get, **kw)


CAT2 = Scope(categories=frozenset({2}))

# (id, lines, rules, quote kwargs, expected discount, per-line discounts, applied {key: amount}, not_applied {key: reason})
CASES = [
    (
        "10% + 10% combinable = 19% off",
        [line(0, "100.00")],
        [pct("a", "10"), pct("b", "10")],
        {},
        "19.00",
        ["19.00"],
        {"a": "10.00", "b": "9.00"},
        {},
    ),
    (
        "满减 300/30 and 500/60 on a 520 cart = 60 off, spread by line amount",
        [line(0, "200.00", 2), line(1, "120.00")],
        [tiers("t", ("300", "30"), ("500", "60"))],
        {},
        "60.00",
        ["46.15", "13.85"],
        {"t": "60.00"},
        {},
    ),
    (
        "满减 on a 350 cart reaches only the first tier",
        [line(0, "350.00")],
        [tiers("t", ("500", "60"), ("300", "30"))],
        {},
        "30.00",
        ["30.00"],
        {"t": "30.00"},
        {},
    ),
    (
        "满减 counts the subtotal already reduced by item-level promotions (320 - 10% = 288 < 300)",
        [line(0, "320.00")],
        [tiers("t", ("300", "30")), pct("p", "10")],
        {},
        "32.00",
        ["32.00"],
        {"p": "32.00"},
        {"t": "min_spend_not_met"},
    ),
    (
        "gift with purchase, gift SKU in stock: no money off, a gift line",
        [line(0, "100.00")],
        [gift("g", min_spend=D("50.00"))],
        {},
        "0.00",
        ["0.00"],
        {"g": "0.00"},
        {},
    ),
    (
        "gift with purchase, gift SKU out of stock: no gift, said in the quote",
        [line(0, "100.00")],
        [gift("g", min_spend=D("50.00"), gift_in_stock=False)],
        {},
        "0.00",
        ["0.00"],
        {},
        {"g": "gift_out_of_stock"},
    ),
    (
        "gift triggered by buying SKU A (absent here)",
        [line(0, "100.00", sku="B")],
        [gift("g", trigger_sku="A")],
        {},
        "0.00",
        ["0.00"],
        {},
        {"g": "no_eligible_lines"},
    ),
    (
        "buy 2 get 1 on three different prices: the cheapest unit is free",
        [line(0, "30.00"), line(1, "10.00"), line(2, "20.00")],
        [bxgy("b", 2, 1)],
        {},
        "10.00",
        ["0.00", "10.00", "0.00"],
        {"b": "10.00"},
        {},
    ),
    (
        "buy 2 get 1 counts units over lines: 3 units of 25 and 2 of 40 → 1 free (group of 3), of the cheapest",
        [line(0, "40.00", 2), line(1, "25.00", 3)],
        [bxgy("b", 2, 1)],
        {},
        "25.00",
        ["0.00", "25.00"],
        {"b": "25.00"},
        {},
    ),
    (
        "buy 2 get 1 with two units only",
        [line(0, "40.00", 2)],
        [bxgy("b", 2, 1)],
        {},
        "0.00",
        ["0.00"],
        {},
        {"b": "quantity_not_met"},
    ),
    (
        "amount off is per unit",
        [line(0, "20.00", 3)],
        [off("a", "5.00")],
        {},
        "15.00",
        ["15.00"],
        {"a": "15.00"},
        {},
    ),
    (
        "amount off never below zero",
        [line(0, "3.00", 2)],
        [off("a", "5.00")],
        {},
        "6.00",
        ["6.00"],
        {"a": "6.00"},
        {},
    ),
    (
        "exclusive 30% beats two combinable 10% (19%) when better for the buyer",
        [line(0, "100.00")],
        [pct("a", "10"), pct("b", "10"), pct("x", "30", exclusive=True)],
        {},
        "30.00",
        ["30.00"],
        {"x": "30.00"},
        {"a": "blocked_by_exclusive", "b": "blocked_by_exclusive"},
    ),
    (
        "exclusive 15% loses to two combinable 10% (19%)",
        [line(0, "100.00")],
        [pct("a", "10"), pct("b", "10"), pct("x", "15", exclusive=True)],
        {},
        "19.00",
        ["19.00"],
        {"a": "10.00", "b": "9.00"},
        {"x": "not_best_for_buyer"},
    ),
    (
        "exclusive on category 2 leaves the other lines to a whole-shop combinable",
        [line(0, "100.00", category=1), line(1, "100.00", category=2)],
        [pct("a", "10"), pct("x", "50", exclusive=True, scope=CAT2)],
        {},
        "60.00",
        ["10.00", "50.00"],
        {"a": "10.00", "x": "50.00"},
        {},
    ),
    (
        "two exclusives: the better one wins, the other is blocked by it",
        [line(0, "100.00")],
        [pct("x", "20", exclusive=True), pct("y", "25", exclusive=True)],
        {},
        "25.00",
        ["25.00"],
        {"y": "25.00"},
        {"x": "blocked_by_exclusive"},
    ),
    (
        "equal benefit: the combinable set is kept rather than the exclusive",
        [line(0, "100.00")],
        [pct("a", "20"), pct("x", "20", exclusive=True)],
        {},
        "20.00",
        ["20.00"],
        {"a": "20.00"},
        {"x": "not_best_for_buyer"},
    ),
    (
        "exclusive that does not apply (min spend) blocks nothing",
        [line(0, "100.00")],
        [pct("a", "10"), pct("x", "50", exclusive=True, min_spend=D("500.00"))],
        {},
        "10.00",
        ["10.00"],
        {"a": "10.00"},
        {"x": "min_spend_not_met"},
    ),
    (
        "floor: 50% off 100 with floor 80 gives 20 off, capped_by_floor",
        [line(0, "100.00", floor="80.00")],
        [pct("p", "50")],
        {},
        "20.00",
        ["20.00"],
        {"p": "20.00"},
        {},
    ),
    (
        "floor at the list price: nothing to take off",
        [line(0, "100.00", floor="100.00")],
        [pct("p", "50")],
        {},
        "0.00",
        ["0.00"],
        {},
        {"p": "capped_by_floor"},
    ),
    (
        "满减 over lines with floors: the undistributable rest is not given",
        [line(0, "200.00", floor="190.00"), line(1, "200.00", floor="195.00")],
        [tiers("t", ("300", "50"))],
        {},
        "15.00",
        ["10.00", "5.00"],
        {"t": "15.00"},
        {},
    ),
    (
        "满减 spread around a floor: the floored line gives what it can, the other the rest",
        [line(0, "200.00", floor="199.00"), line(1, "200.00")],
        [tiers("t", ("300", "50"))],
        {},
        "50.00",
        ["1.00", "49.00"],
        {"t": "50.00"},
        {},
    ),
    (
        "budget: a 30.00 discount clipped to the 12.34 left, spread over the lines",
        [line(0, "100.00"), line(1, "100.00"), line(2, "100.00")],
        [pct("p", "10", budget_left=D("12.34"))],
        {},
        "12.34",
        ["4.12", "4.11", "4.11"],
        {"p": "12.34"},
        {},
    ),
    (
        "budget spent",
        [line(0, "100.00")],
        [pct("p", "10", budget_left=D("0.00"))],
        {},
        "0.00",
        ["0.00"],
        {},
        {"p": "budget_spent"},
    ),
    (
        "order cap 15%: the last-applied promotion is clipped first",
        [line(0, "100.00")],
        [pct("a", "10", priority=2), pct("b", "10", priority=1)],
        {"max_discount_percent": D("15")},
        "15.00",
        ["15.00"],
        {"a": "10.00", "b": "5.00"},
        {},
    ),
    (
        "order cap 10%: the last-applied promotion is removed entirely",
        [line(0, "100.00")],
        [pct("a", "10", priority=2), pct("b", "10", priority=1)],
        {"max_discount_percent": D("10")},
        "10.00",
        ["10.00"],
        {"a": "10.00"},
        {"b": "capped"},
    ),
    (
        "unknown code: reported, the code-less promotion still applies",
        [line(0, "100.00")],
        [pct("a", "10"), pct("c", "20", code="SAVE20")],
        {"codes": ["NOPE"]},
        "10.00",
        ["10.00"],
        {"a": "10.00"},
        {"c": "code_required", None: "unknown_code"},
    ),
    (
        "a code is matched trimmed and case-insensitively",
        [line(0, "100.00")],
        [pct("c", "20", code="SAVE20")],
        {"codes": [" save20 "]},
        "20.00",
        ["20.00"],
        {"c": "20.00"},
        {},
    ),
    (
        "outside the window: not started yet, and ended (the end is exclusive)",
        [line(0, "100.00")],
        [
            pct("future", "10", starts_at=AT + timedelta(seconds=1)),
            pct("past", "10", starts_at=AT - timedelta(days=2), ends_at=AT),
            pct("now", "5", starts_at=AT, ends_at=AT + timedelta(seconds=1)),
        ],
        {},
        "5.00",
        ["5.00"],
        {"now": "5.00"},
        {"future": "outside_window", "past": "outside_window"},
    ),
    (
        "minimum spend not met on an item-level promotion",
        [line(0, "99.99")],
        [pct("p", "10", min_spend=D("100.00"))],
        {},
        "0.00",
        ["0.00"],
        {},
        {"p": "min_spend_not_met"},
    ),
    (
        "paused, usage limit, per-buyer limit",
        [line(0, "100.00")],
        [pct("p", "10", paused=True), pct("u", "10", uses_left=0), pct("b", "10", buyer_uses_left=0)],
        {},
        "0.00",
        ["0.00"],
        {},
        {"p": "paused", "u": "limit_reached", "b": "buyer_limit_reached"},
    ),
    (
        "scope matches no line",
        [line(0, "100.00", category=1)],
        [pct("p", "10", scope=CAT2)],
        {},
        "0.00",
        ["0.00"],
        {},
        {"p": "no_eligible_lines"},
    ),
    (
        "scope by SKU and by product",
        [line(0, "100.00", sku="A"), line(1, "100.00", product=7), line(2, "100.00")],
        [pct("s", "10", scope=Scope(skus=frozenset({"A"}))), pct("q", "20", scope=Scope(products=frozenset({7})))],
        {},
        "30.00",
        ["10.00", "20.00", "0.00"],
        {"s": "10.00", "q": "20.00"},
        {},
    ),
    (
        "same priority: percent before amount whatever the order given",
        [line(0, "100.00")],
        [off("a", "10.00"), pct("p", "10")],
        {},
        "20.00",
        ["20.00"],
        {"p": "10.00", "a": "10.00"},
        {},
    ),
]


@pytest.mark.parametrize(
    ("lines", "rules", "kwargs", "discount", "line_discounts", "applied", "not_applied"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_worked_example(lines, rules, kwargs, discount, line_discounts, applied, not_applied):
    for rules_in in (rules, list(reversed(rules))):  # the order given never matters
        q = quote(lines, rules_in, at=AT, **kwargs)
        assert q.discount == D(discount)
        assert [ql.discount for ql in q.lines] == [D(x) for x in line_discounts]
        assert {a.key: a.amount for a in q.applied} == {k: D(v) for k, v in applied.items()}
        assert {n.key: n.reason for n in q.not_applied} == not_applied
        assert q.total == q.subtotal - q.discount
        assert sum((a.amount for a in q.applied), D("0")) == q.discount


def test_item_promotions_apply_in_priority_order_each_on_the_reduced_price():
    # 10.00 off first (priority 2), then 50% of 90 = 45 → 55 off; the other order would give 60.
    q = quote([line(0, "100.00")], [pct("p", "50", priority=1), off("a", "10.00", priority=2)], at=AT)
    assert [(a.key, a.amount) for a in q.applied] == [("a", D("10.00")), ("p", D("45.00"))]
    assert q.total == D("45.00")


def test_gift_line_is_returned_for_stock_reservation():
    q = quote([line(0, "100.00")], [gift("g", sku="MUG", gift_quantity=2, min_spend=D("80.00"))], at=AT)
    assert q.gifts == (e.GiftLine(rule_key="g", sku="MUG", quantity=2, unit_price=D("0.00")),)
    assert q.applied[0].gift == q.gifts[0]
    assert q.total == D("100.00")


def test_gift_value_counts_for_the_buyer_when_choosing_an_exclusive():
    # Exclusive gift worth 30.00 beats a 10% combinable (10.00); worth 5.00 it loses.
    rich = gift("g", exclusive=True, gift_price=D("30.00"))
    q = quote([line(0, "100.00")], [pct("a", "10"), rich], at=AT)
    assert [a.key for a in q.applied] == ["g"] and q.discount == D("0.00") and len(q.gifts) == 1
    poor = gift("g", exclusive=True, gift_price=D("5.00"))
    q = quote([line(0, "100.00")], [pct("a", "10"), poor], at=AT)
    assert [a.key for a in q.applied] == ["a"] and q.gifts == ()
    assert {n.key: n.reason for n in q.not_applied} == {"g": "not_best_for_buyer"}


def test_exclusive_gift_of_unknown_value_beats_nothing():
    q = quote([line(0, "100.00")], [gift("g", exclusive=True)], at=AT)
    assert [g.sku for g in q.gifts] == ["GIFT"] and q.not_applied == ()


def test_floor_clipping_is_reported_per_line_and_on_the_rule():
    q = quote([line(0, "100.00", floor="80.00"), line(1, "100.00")], [pct("p", "50")], at=AT)
    assert [ql.capped_by_floor for ql in q.lines] == [True, False]
    assert [ql.total for ql in q.lines] == [D("80.00"), D("50.00")]
    assert q.applied[0].clipped == (e.CLIP_FLOOR,)
    assert q.applied[0].shares == ((0, D("20.00")), (1, D("50.00")))


def test_budget_and_cap_clipping_are_reported_on_the_rule():
    q = quote([line(0, "100.00")], [pct("p", "10", budget_left=D("4.00"))], at=AT)
    assert q.applied[0].clipped == (e.CLIP_BUDGET,) and q.applied[0].amount == D("4.00")
    q = quote([line(0, "100.00")], [pct("p", "10")], at=AT, max_discount_percent=D("7.5"))
    assert q.applied[0].clipped == (e.CLIP_CAP,) and q.applied[0].amount == D("7.50")


def test_cap_is_rounded_down_to_the_cent():
    # 33.333…% of 1.00 = 0.3333… → at most 0.33 off, never 0.34.
    q = quote([line(0, "1.00")], [pct("p", "50")], at=AT, max_discount_percent=D("33.3333"))
    assert q.discount == D("0.33")


def test_exclusive_rule_blocks_a_combinable_on_its_lines_even_when_only_partly_overlapping():
    # The combinable 满减 would reach 300 on both lines, but the exclusive one takes line 1: blocked, not "min spend".
    lines = [line(0, "200.00", category=1), line(1, "200.00", category=2)]
    q = quote(lines, [tiers("t", ("300", "30")), pct("x", "50", exclusive=True, scope=CAT2)], at=AT)
    assert {a.key: a.amount for a in q.applied} == {"x": D("100.00")}
    assert [(n.key, n.reason, dict(n.params)) for n in q.not_applied] == [
        ("t", "blocked_by_exclusive", {"promotion": "x"})
    ]


def test_tie_between_exclusives_goes_to_priority_not_to_key_or_order():
    lines = [line(0, "100.00")]
    for keys in (("a", "b"), ("b", "a")):
        rules = [pct(keys[0], "20", exclusive=True, priority=1), pct(keys[1], "20", exclusive=True, priority=5)]
        for given in (rules, rules[::-1]):
            q = quote(lines, given, at=AT)
            assert [a.key for a in q.applied] == [keys[1]]


def test_no_rules_is_the_list_price():
    lines = [line(0, "19.99", 3), line(1, "0.01"), line(2, "0.00", 2)]
    q = quote(lines, [], at=AT)
    assert q.subtotal == q.total == D("59.98") and q.discount == D("0.00")
    assert [(ql.subtotal, ql.total, ql.discount) for ql in q.lines] == [
        (D("59.97"), D("59.97"), D("0.00")),
        (D("0.01"), D("0.01"), D("0.00")),
        (D("0.00"), D("0.00"), D("0.00")),
    ]
    assert q.applied == () and q.not_applied == () and q.gifts == ()


def test_empty_cart():
    q = quote([], [pct("p", "10")], at=AT, max_discount_percent=D("10"))
    assert (q.subtotal, q.discount, q.total, q.lines) == (D("0.00"), D("0.00"), D("0.00"), ())
    assert [(n.key, n.reason) for n in q.not_applied] == [("p", "no_eligible_lines")]


def test_not_applied_params_say_what_was_missing():
    q = quote([line(0, "80.00")], [tiers("t", ("300", "30"), ("100", "5"))], at=AT)
    assert dict(q.not_applied[0].params) == {"min_spend": "100.00", "spend": "80.00"}
    q = quote([line(0, "10.00")], [pct("c", "10", code="X")], codes=["Y "], at=AT)
    assert [(n.key, n.reason, dict(n.params)) for n in q.not_applied] == [
        ("c", "code_required", {}),
        (None, "unknown_code", {"code": "Y "}),
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: pct("p", "0"), "value"),
        (lambda: pct("p", "100.5"), "value"),
        (lambda: off("a", "-1.00"), "value"),
        (lambda: off("a", "1.005"), "value"),
        (lambda: Rule(key="t", kind=e.SPEND_THRESHOLD), "tiers"),
        (lambda: Rule(key="g", kind=e.GIFT_WITH_PURCHASE), "gift_sku"),
        (lambda: bxgy("b", 0, 1), "buy_quantity"),
        (lambda: Rule(key="k", kind="bogus"), "kind"),
        (lambda: line(0, "1.00", 0), "quantity"),
        (lambda: line(0, "-1.00"), "unit_price"),
    ],
)
def test_malformed_input_is_refused_naming_the_field(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_duplicate_keys_and_indexes_are_refused():
    with pytest.raises(ValueError, match="keys"):
        quote([line(0, "1.00")], [pct("a", "10"), pct("a", "20")], at=AT)
    with pytest.raises(ValueError, match="indexes"):
        quote([line(0, "1.00"), line(0, "2.00")], [], at=AT)


def test_public_allocate():
    assert e.allocate(D("0.10"), [D("1.00"), D("1.00"), D("1.00")]) == [D("0.04"), D("0.03"), D("0.03")]
    # Caps hold back; the rest goes to the others; what nobody can hold is not given.
    assert e.allocate(D("10.00"), [D("5.00"), D("5.00")], [D("1.00"), D("100.00")]) == [D("1.00"), D("9.00")]
    assert e.allocate(D("10.00"), [D("5.00"), D("5.00")], [D("1.00"), D("2.00")]) == [D("1.00"), D("2.00")]
