"""Properties of the pricing engine over generated carts and promotion sets (hypothesis).

- the largest-remainder split sums exactly to the amount (when the caps can hold it), no share is negative or
  above its cap, and each is within one cent of its exact proportional share when no cap binds;
- every quote: no line below its floor or below zero, line discounts sum to the order discount, which is the sum of
  the applied amounts (each the sum of its per-line shares), total discount ≤ subtotal and ≤ the order cap;
  every rule is reported exactly once (applied or not, with a reason);
- the buyer gets the best candidate (checked against one exclusive rule at a time);
- the same quote whatever the order of the rules list, and under a consistent renaming of the rule keys;
- no rules (or none that can apply) → list prices exactly.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from promotions import engine as e
from promotions.engine import CartLine, Rule, Scope, Tier, allocate, quote

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# 60 examples each keeps the file near 10 s in the suite; run with more locally when changing the engine.
PROFILE = settings(max_examples=60, deadline=None)


def money(lo=0, hi=100_000):
    return st.integers(lo, hi).map(lambda c: D(c).scaleb(-2))


@st.composite
def carts(draw):
    n = draw(st.integers(1, 8))
    lines = []
    for i in range(n):
        price = draw(money(0, 50_000))
        floor = draw(st.one_of(st.none(), st.integers(0, int(price * 120)).map(lambda c: D(c).scaleb(-2))))
        lines.append(
            CartLine(
                index=i,
                sku=draw(st.sampled_from(["A", "B", "C", "D"])) + str(i % 2),
                product_id=draw(st.integers(1, 4)),
                category_id=draw(st.integers(1, 3)),
                quantity=draw(st.integers(1, 5)),
                unit_price=price,
                floor=floor,
            )
        )
    return lines


scopes = st.one_of(
    st.just(Scope()),
    st.builds(
        Scope,
        categories=st.frozensets(st.integers(1, 3), max_size=2),
        products=st.frozensets(st.integers(1, 4), max_size=2),
        skus=st.frozensets(st.sampled_from(["A0", "A1", "B0", "C1"]), max_size=2),
    ),
)


@st.composite
def rule_sets(draw):
    n = draw(st.integers(0, 7))
    rules = []
    for i in range(n):
        kind = draw(st.sampled_from(e.KINDS))
        kw = {}
        if kind == e.PERCENT_OFF:
            kw["value"] = draw(st.integers(1, 10_000).map(lambda c: D(c).scaleb(-2)))
        elif kind == e.AMOUNT_OFF:
            kw["value"] = draw(money(1, 5_000))
        elif kind == e.BUY_X_GET_Y:
            kw["buy_quantity"] = draw(st.integers(1, 3))
            kw["get_quantity"] = draw(st.integers(1, 2))
            kw["value"] = draw(st.one_of(st.none(), st.sampled_from([D("50"), D("100"), D("33.3")])))
        elif kind == e.SPEND_THRESHOLD:
            pairs = draw(st.lists(st.tuples(money(0, 100_000), money(1, 20_000)), min_size=1, max_size=3))
            kw["tiers"] = tuple(Tier(a, b) for a, b in pairs)
        else:
            kw["gift_sku"] = "GIFT"
            kw["gift_in_stock"] = draw(st.booleans())
            kw["gift_price"] = draw(st.one_of(st.none(), money(0, 5_000)))
            kw["trigger_sku"] = draw(st.one_of(st.none(), st.just("A0")))
        rules.append(
            Rule(
                key=f"r{i}",
                kind=kind,
                scope=draw(scopes),
                min_spend=draw(st.one_of(st.none(), st.none(), money(0, 60_000))),
                priority=draw(st.integers(0, 2)),
                exclusive=draw(st.booleans()),
                code=draw(st.sampled_from([None] * 6 + ["X", "Y"])),
                starts_at=draw(st.sampled_from([None] * 4 + [AT, AT - timedelta(days=1), AT + timedelta(days=1)])),
                ends_at=draw(st.sampled_from([None] * 5 + [AT, AT + timedelta(days=1)])),
                paused=draw(st.sampled_from([False] * 9 + [True])),
                uses_left=draw(st.sampled_from([None] * 8 + [0, 1])),
                buyer_uses_left=draw(st.sampled_from([None] * 8 + [0, 1])),
                budget_left=draw(st.one_of(st.none(), st.none(), money(0, 3_000))),
                **kw,
            )
        )
    return rules


codes = st.lists(st.sampled_from(["X", "y", "Z"]), max_size=2)
caps = st.one_of(st.none(), st.integers(0, 100).map(D))


@PROFILE
@given(
    amount=st.integers(0, 1_000_000),
    rows=st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 100_000)), min_size=1, max_size=12),
)
def test_allocation_sums_exactly_and_respects_caps(amount, rows):
    weights = [D(w).scaleb(-2) for w, _ in rows]
    caps = [min(D(c).scaleb(-2), w) for (_, c), w in zip(rows, weights, strict=True)]
    total = D(amount).scaleb(-2)
    shares = allocate(total, weights, caps)
    assert all(D("0") <= s <= c for s, c in zip(shares, caps, strict=True))
    assert sum(shares, D("0")) == min(total, sum(caps, D("0")))
    uncapped = allocate(total, weights)
    weight_sum = sum(weights, D("0"))
    if weight_sum and total <= weight_sum:
        assert sum(uncapped, D("0")) == total
        for s, w in zip(uncapped, weights, strict=True):
            assert abs(s - total * w / weight_sum) < D("0.01")


def check_invariants(lines, rules, q, cap):
    assert q.subtotal == sum((ln.unit_price * ln.quantity for ln in lines), D("0"))
    for ln, ql in zip(lines, q.lines, strict=True):
        assert ql.index == ln.index and ql.subtotal == ln.unit_price * ln.quantity
        assert D("0") <= ql.discount <= ql.subtotal
        assert ql.total == ql.subtotal - ql.discount >= 0
        if ln.floor is not None:
            # Never below the floor; a line listed below its floor gets nothing off at all.
            assert ql.total >= min(ln.floor * ln.quantity, ql.subtotal)
    assert q.discount == sum((ql.discount for ql in q.lines), D("0"))
    assert q.discount == sum((a.amount for a in q.applied), D("0"))
    assert q.total == q.subtotal - q.discount and D("0") <= q.discount <= q.subtotal
    if cap is not None:
        assert q.discount <= q.subtotal * cap / 100
    per_line = {ln.index: D("0") for ln in lines}
    for a in q.applied:
        assert a.amount == sum((s for _, s in a.shares), D("0"))
        assert all(s > 0 for _, s in a.shares)
        for index, s in a.shares:
            per_line[index] += s
    assert [per_line[ql.index] for ql in q.lines] == [ql.discount for ql in q.lines]
    reported = [a.key for a in q.applied] + [n.key for n in q.not_applied if n.key is not None]
    assert sorted(reported) == sorted(r.key for r in rules)
    assert all(g.unit_price == 0 for g in q.gifts)
    stock = {r.key: r.gift_in_stock for r in rules}
    assert all(stock[g.rule_key] for g in q.gifts)
    # Exclusive promotions never share a line with another promotion.
    by_key = {r.key: r for r in rules}
    for a in q.applied:
        if by_key[a.key].exclusive:
            mine = {ln.index for ln in lines if by_key[a.key].scope.covers(ln)}
            for other in q.applied:
                if other.key != a.key:
                    assert not mine & {i for i, _ in other.shares}


@PROFILE
@given(lines=carts(), rules=rule_sets(), codes=codes, cap=caps)
def test_quote_invariants(lines, rules, codes, cap):
    q = quote(lines, rules, codes=codes, at=AT, max_discount_percent=cap)
    check_invariants(lines, rules, q, cap)


@PROFILE
@given(lines=carts(), rules=rule_sets(), codes=codes, cap=caps, data=st.data())
def test_quote_does_not_depend_on_rule_order(lines, rules, codes, cap, data):
    permuted = data.draw(st.permutations(rules))
    assert quote(lines, permuted, codes=codes, at=AT, max_discount_percent=cap) == quote(
        lines, rules, codes=codes, at=AT, max_discount_percent=cap
    )


@PROFILE
@given(lines=carts(), rules=rule_sets(), codes=codes, cap=caps, data=st.data())
def test_quote_does_not_depend_on_rule_keys(lines, rules, codes, cap, data):
    # Keys are ids, often given in creation order: renaming them consistently must change nothing but the names.
    # (Two rules identical in everything but their key may swap places; their content being equal, the lines
    # still get the same discounts, so only the per-rule figures are compared when contents differ.)
    new_keys = data.draw(st.permutations([f"k{i}" for i in range(len(rules))]))
    rename = {r.key: k for r, k in zip(rules, new_keys, strict=True)}
    renamed = [dataclasses.replace(r, key=rename[r.key]) for r in rules]
    a = quote(lines, rules, codes=codes, at=AT, max_discount_percent=cap)
    b = quote(lines, renamed, codes=codes, at=AT, max_discount_percent=cap)
    assert a.lines == b.lines and a.discount == b.discount and a.total == b.total
    contents = [dataclasses.replace(r, key="") for r in rules]
    if len(set(contents)) == len(contents):
        assert [(rename[x.key], x.amount, x.shares, x.clipped) for x in a.applied] == [
            (x.key, x.amount, x.shares, x.clipped) for x in b.applied
        ]
        assert sorted((rename[n.key] if n.key else None, n.reason) for n in a.not_applied if n.key) == sorted(
            (n.key, n.reason) for n in b.not_applied if n.key
        )


@PROFILE
@given(lines=carts(), rules=rule_sets(), codes=codes, cap=caps)
def test_no_applicable_rules_is_the_identity(lines, rules, codes, cap):
    paused = [dataclasses.replace(r, paused=True) for r in rules]
    for rs in ([], paused):
        q = quote(lines, rs, codes=codes, at=AT, max_discount_percent=cap)
        assert [ql.total for ql in q.lines] == [ln.unit_price * ln.quantity for ln in lines]
        assert q.discount == 0 and q.total == q.subtotal and q.applied == () and q.gifts == ()
        assert not any(ql.capped_by_floor for ql in q.lines)
        assert all(n.reason in (e.PAUSED, e.UNKNOWN_CODE) for n in q.not_applied)


@PROFILE
@given(lines=carts(), rules=rule_sets(), codes=codes, cap=caps)
def test_skipping_hopeless_candidates_changes_nothing(lines, rules, codes, cap):
    # quote() skips an exclusive candidate when an upper bound of its benefit cannot beat the best so far.
    kwargs = {"codes": codes, "at": AT, "max_discount_percent": cap}
    assert quote(lines, rules, **kwargs) == e._quote(lines, rules, prune=False, **kwargs)


@PROFILE
@given(lines=carts(), rules=rule_sets(), cap=caps)
def test_best_for_buyer_is_the_best_candidate(lines, rules, cap):
    # The engine skips candidates that provably cannot win; the buyer must still get the best of
    # "all combinable promotions" and "one exclusive promotion + the combinable ones on the other lines".
    def benefit(q):
        price = {r.key: (r.gift_price or 0) * r.gift_quantity for r in rules}
        return q.discount + sum((price[g.rule_key] for g in q.gifts), D("0")), len(q.gifts)

    def run(rs):
        return quote(lines, rs, codes=["X", "Y"], at=AT, max_discount_percent=cap)

    combinable = [r for r in rules if not r.exclusive]
    each = [run(combinable)] + [run([*combinable, r]) for r in rules if r.exclusive]
    assert benefit(run(rules)) == max(benefit(q) for q in each)
