"""The pricing engine: one pure function, `quote`, used by the API preview and by order intake.

No ORM, no I/O, no clock: the caller loads the shop's promotions into `Rule`s (a constant number of queries),
the cart into `CartLine`s, passes the moment `at`, and stores or shows the `Quote`. The same input always gives
the same output, whatever the order of `rules` (promotion creation order must not change prices).

Money is `Decimal` at the edges; inside, every amount is an integer number of cents, so the arithmetic is exact
and fast. Each promotion step rounds its per-line discount to the cent, half up.

Order of work (see `quote`):
1. Static checks per rule (paused, window, code, limits, budget, scope) — done once.
2. Candidates: all combinable rules together, and for each eligible exclusive rule that rule on its lines plus
   the combinable rules on the lines it does not cover (1 + E candidates, each linear in lines × rules).
3. Per candidate: item-level rules (percent_off, amount_off, buy_x_get_y) in rule order, each on the amounts
   already reduced by the earlier ones; then order-level rules (spend_threshold, gift_with_purchase) in rule
   order on the reduced amounts; floors and budgets clip each step; finally the per-order cap clips the
   last-applied steps first.
4. The candidate best for the buyer wins (largest discount + value of gifts given, then more gifts); ties: the
   all-combinable candidate first, then the exclusive rule first in rule order. A candidate is worked out in
   full only when an upper bound of its benefit could beat the best so far (exact, just cheaper).

Rule order is by content, never by input position: higher priority first, then kind, then the other fields,
and the key only as the very last resort (two rules identical in everything but their key).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

PERCENT_OFF = "percent_off"
AMOUNT_OFF = "amount_off"
BUY_X_GET_Y = "buy_x_get_y"
SPEND_THRESHOLD = "spend_threshold"
GIFT_WITH_PURCHASE = "gift_with_purchase"

ITEM_KINDS = (PERCENT_OFF, AMOUNT_OFF, BUY_X_GET_Y)
ORDER_KINDS = (SPEND_THRESHOLD, GIFT_WITH_PURCHASE)
KINDS = ITEM_KINDS + ORDER_KINDS
# Within one priority, percentages go before fixed amounts (a percentage of the larger price is the better
# order for the buyer), and the cheapest-unit-free rule after both.
_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}

# Reason codes of `NotApplied.reason` (stable strings: the API returns them, the UI translates them).
OUTSIDE_WINDOW = "outside_window"
PAUSED = "paused"
CODE_REQUIRED = "code_required"
UNKNOWN_CODE = "unknown_code"
CODE_USED = "code_used"  # a single-use code an earlier order used (the DB layer tells it from an unknown one)
MIN_SPEND_NOT_MET = "min_spend_not_met"
QUANTITY_NOT_MET = "quantity_not_met"
LIMIT_REACHED = "limit_reached"
BUYER_LIMIT_REACHED = "buyer_limit_reached"
BUDGET_SPENT = "budget_spent"
BLOCKED_BY_EXCLUSIVE = "blocked_by_exclusive"
NOT_BEST_FOR_BUYER = "not_best_for_buyer"
GIFT_OUT_OF_STOCK = "gift_out_of_stock"
NO_ELIGIBLE_LINES = "no_eligible_lines"
CAPPED_BY_FLOOR = "capped_by_floor"
NOTHING_TO_DISCOUNT = "nothing_to_discount"
CAPPED = "capped"

# Why an applied discount is smaller than the rule would give (`Applied.clipped`).
CLIP_BUDGET = "budget"
CLIP_FLOOR = "floor"
CLIP_CAP = "cap"

CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


# --------------------------------------------------------------------------------------------------- input


def _check_money(value: Decimal | None, name: str, *, positive: bool = False) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name}: a finite Decimal is required")
    if value != value.quantize(CENT):
        raise ValueError(f"{name}: at most two decimal places")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name}: must be {'positive' if positive else 'zero or more'}")


def _check_percent(value: Decimal | None, name: str) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite() or not (0 < value <= 100):
        raise ValueError(f"{name}: a percentage above 0 and at most 100 is required")


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line of the cart at list price. `index` is the line's identity and its order (ties go to the lower)."""

    index: int
    sku: str
    product_id: object
    category_id: object
    quantity: int
    unit_price: Decimal
    # The lowest net unit price allowed (cost by default, set by the DB layer); None = no floor, only zero.
    floor: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, int) or self.quantity < 1:
            raise ValueError("quantity: a whole number of at least 1 is required")
        _check_money(self.unit_price, "unit_price")
        _check_money(self.floor, "floor")


@dataclass(frozen=True, slots=True)
class Tier:
    """满减 tier: spend at least `min_spend` (on the reduced subtotal of the rule's lines), get `discount` off."""

    min_spend: Decimal
    discount: Decimal

    def __post_init__(self) -> None:
        _check_money(self.min_spend, "tiers.min_spend")
        _check_money(self.discount, "tiers.discount", positive=True)


@dataclass(frozen=True, slots=True)
class Scope:
    """Lines the rule may touch: a line matches when its category, product or SKU is listed; all empty = shop."""

    categories: frozenset = frozenset()
    products: frozenset = frozenset()
    skus: frozenset = frozenset()

    def covers(self, line: CartLine) -> bool:
        if not (self.categories or self.products or self.skus):
            return True
        return line.category_id in self.categories or line.product_id in self.products or line.sku in self.skus

    def _sort_key(self) -> tuple:
        return tuple(tuple(sorted(map(repr, s))) for s in (self.categories, self.products, self.skus))


WHOLE_SHOP = Scope()


@dataclass(frozen=True, slots=True)
class Rule:
    """One promotion as the engine sees it, with the remaining usage/budget the DB layer computed for this buyer.

    - percent_off: `value` percent off each eligible line.
    - amount_off: `value` off each eligible unit (never below zero or the floor).
    - buy_x_get_y: per `buy_quantity + get_quantity` eligible units, `get_quantity` of the cheapest are free
      (`value` percent off them instead when set).
    - spend_threshold: the best `tiers` reached on the reduced subtotal of the eligible lines, spread over them.
    - gift_with_purchase: `gift_quantity` × `gift_sku` at price 0 when `min_spend` is reached (and, when
      `trigger_sku` is set, at least max(1, `buy_quantity`) units of it are in the cart); nothing when
      `gift_in_stock` is false. `gift_price` (its list price), when known, counts as the buyer's benefit and
      against the budget.
    """

    key: str
    kind: str
    name: str = ""
    value: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    gift_sku: str | None = None
    gift_quantity: int = 1
    gift_price: Decimal | None = None
    gift_in_stock: bool = True
    trigger_sku: str | None = None
    buy_quantity: int = 0
    get_quantity: int = 0
    scope: Scope = WHOLE_SHOP
    min_spend: Decimal | None = None
    priority: int = 0
    exclusive: bool = False
    code: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    paused: bool = False
    uses_left: int | None = None
    buyer_uses_left: int | None = None
    budget_left: Decimal | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: one of {', '.join(KINDS)}")
        _check_money(self.min_spend, "min_spend")
        _check_money(self.budget_left, "budget_left")
        _check_money(self.gift_price, "gift_price")
        if self.kind == PERCENT_OFF:
            _check_percent(self.value, "value")
            if self.value is None:
                raise ValueError("value: required for percent_off")
        elif self.kind == AMOUNT_OFF:
            if self.value is None:
                raise ValueError("value: required for amount_off")
            _check_money(self.value, "value", positive=True)
        elif self.kind == BUY_X_GET_Y:
            if self.buy_quantity < 1 or self.get_quantity < 1:
                raise ValueError("buy_quantity/get_quantity: at least 1 each")
            _check_percent(self.value, "value")
        elif self.kind == SPEND_THRESHOLD:
            if not self.tiers:
                raise ValueError("tiers: at least one tier")
        elif self.kind == GIFT_WITH_PURCHASE:
            if not self.gift_sku:
                raise ValueError("gift_sku: required for gift_with_purchase")
            if self.gift_quantity < 1:
                raise ValueError("gift_quantity: at least 1")

    def sort_key(self) -> tuple:
        """Content first, key last: the order rules are given or created in never matters."""
        return (
            -self.priority,
            _KIND_RANK[self.kind],
            self.exclusive,
            _opt(self.value),
            tuple((t.min_spend, t.discount) for t in self.tiers),
            self.gift_sku or "",
            self.gift_quantity,
            _opt(self.gift_price),
            self.gift_in_stock,
            self.trigger_sku or "",
            self.buy_quantity,
            self.get_quantity,
            self.scope._sort_key(),
            _opt(self.min_spend),
            self.code or "",
            _opt(self.starts_at),
            _opt(self.ends_at),
            self.paused,
            _opt(self.uses_left),
            _opt(self.buyer_uses_left),
            _opt(self.budget_left),
            self.name,
            self.key,
        )


def _opt(value: object) -> tuple:
    # None sorts before any value, and values of one field are never compared with None.
    return (0,) if value is None else (1, value)


# -------------------------------------------------------------------------------------------------- output


@dataclass(frozen=True, slots=True)
class QuoteLine:
    index: int
    sku: str
    quantity: int
    unit_price: Decimal  # list price
    subtotal: Decimal  # list price × quantity
    discount: Decimal
    total: Decimal  # subtotal − discount: what the buyer pays for the line
    capped_by_floor: bool  # some discount on this line was clipped to keep it at or above its floor


@dataclass(frozen=True, slots=True)
class GiftLine:
    """A free line the order must carry (and reserve stock for) because of `rule_key`."""

    rule_key: str
    sku: str
    quantity: int
    unit_price: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class Applied:
    key: str
    amount: Decimal  # discount given by this rule (0.00 for a gift)
    shares: tuple[tuple[int, Decimal], ...] = ()  # (line index, part of `amount`), non-zero parts only
    clipped: tuple[str, ...] = ()  # CLIP_BUDGET / CLIP_FLOOR / CLIP_CAP when `amount` is less than the rule gives
    gift: GiftLine | None = None


@dataclass(frozen=True, slots=True)
class NotApplied:
    key: str | None  # None for UNKNOWN_CODE (a code no rule has)
    reason: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    gifts: tuple[GiftLine, ...]
    applied: tuple[Applied, ...]
    not_applied: tuple[NotApplied, ...]
    subtotal: Decimal
    discount: Decimal
    total: Decimal


# ------------------------------------------------------------------------------------------------- helpers


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _fmt(amount: Decimal) -> str:
    """Money in reason parameters: always two decimals ("300.00", never "300" or "3E+2")."""
    return str(amount.quantize(CENT))


def _allocate(total: int, weights: Sequence[int], caps: Sequence[int]) -> tuple[list[int], set[int]]:
    """Spread `total` cents over positions in proportion to `weights`, none above its cap (largest remainder).

    Positions whose proportional share exceeds their cap get the cap and leave the rest to the others
    (repeated until every share fits); the last round gives each position the floor of its exact share and
    the leftover cents one by one by largest remainder, ties to the lower position. The shares sum to `total`
    unless the caps (or zero weights) cannot hold it; then the rest is not given. Returns (shares, positions
    held back by their cap).
    """
    n = len(weights)
    shares = [0] * n
    held: set[int] = set()
    remaining = total
    active = [i for i in range(n) if weights[i] > 0]
    while remaining > 0 and active:
        weight_sum = sum(weights[i] for i in active)
        over = [i for i in active if remaining * weights[i] > caps[i] * weight_sum]
        if over:
            for i in over:
                shares[i] = caps[i]
                held.add(i)
                remaining -= caps[i]
            active = [i for i in active if i not in held]
            continue
        rests = []
        given = 0
        for i in active:
            q, r = divmod(remaining * weights[i], weight_sum)
            shares[i] = q
            given += q
            rests.append((-r, i))
        leftover = remaining - given
        rests.sort()
        for _, i in rests[:leftover]:
            shares[i] += 1
        remaining = 0
    return shares, held


def allocate(amount: Decimal, weights: Sequence[Decimal], caps: Sequence[Decimal] | None = None) -> list[Decimal]:
    """Public form of the engine's largest-remainder split (for the DB layer: refunds, re-allocation).

    `amount`, `weights` and `caps` are money (two decimal places); the result sums to `amount` unless the
    caps cannot hold it, and no share is negative or above its cap.
    """
    caps = weights if caps is None else caps
    if len(caps) != len(weights):
        raise ValueError("caps: one per weight")
    shares, _ = _allocate(_cents(amount), [_cents(w) for w in weights], [max(0, _cents(c)) for c in caps])
    return [_money(s) for s in shares]


def _norm_code(code: str) -> str:
    return code.strip().casefold()


# ------------------------------------------------------------------------------------------------ the work


class _Prepared:
    """A statically eligible rule with everything a candidate needs precomputed in integer cents."""

    __slots__ = (
        "rule", "key", "kind", "order", "positions", "min_spend", "budget", "num", "den", "per_unit", "tiers",
        "group", "get", "gift_value",
    )  # fmt: skip

    def __init__(self, rule: Rule, positions: tuple[int, ...], order: int):
        self.rule = rule
        self.key = rule.key
        self.kind = rule.kind
        self.order = order  # position in rule order: the deterministic tie-break
        self.positions = positions  # eligible line positions, ascending
        self.min_spend = None if rule.min_spend is None else _cents(rule.min_spend)
        self.budget = None if rule.budget_left is None else _cents(rule.budget_left)
        # Percentages as an exact fraction num/den of the amount (den includes the /100).
        value = rule.value if rule.kind in (PERCENT_OFF, BUY_X_GET_Y) and rule.value is not None else Decimal(100)
        frac = Fraction(value)
        self.num, self.den = frac.numerator, frac.denominator * 100
        self.per_unit = _cents(rule.value) if rule.kind == AMOUNT_OFF else 0
        self.tiers = [(_cents(t.min_spend), _cents(t.discount)) for t in rule.tiers]
        self.group = rule.buy_quantity + rule.get_quantity
        self.get = rule.get_quantity
        self.gift_value = 0 if rule.gift_price is None else _cents(rule.gift_price) * rule.gift_quantity


@dataclass(slots=True)
class _Step:
    prep: _Prepared
    shares: dict[int, int]  # line position → cents, non-zero only
    clipped: set[str]
    gift: GiftLine | None = None
    gift_value: int = 0


@dataclass(slots=True)
class _Outcome:
    amounts: list[int]
    floor_capped: list[bool]
    steps: list[_Step]
    failures: dict[str, tuple[str, dict[str, str]]]
    money: int = 0  # price discount given
    # What the buyer gets: (money + value of the gifts given, number of gifts) — a gift of unknown value still
    # beats nothing.
    benefit: tuple[int, int] = (0, 0)

    def applied(self, key: str) -> bool:
        return any(s.prep.key == key for s in self.steps)


class _Cart:
    __slots__ = ("lines", "qty", "unit", "list_amounts", "floors", "subtotal", "scale")

    def __init__(self, lines: Sequence[CartLine]):
        self.lines = lines
        self.qty = [ln.quantity for ln in lines]
        self.unit = [_cents(ln.unit_price) for ln in lines]
        self.list_amounts = [u * q for u, q in zip(self.unit, self.qty, strict=True)]
        # No floor is a floor of zero: a line never goes below either.
        self.floors = [0 if ln.floor is None else _cents(ln.floor) * ln.quantity for ln in lines]
        self.subtotal = sum(self.list_amounts)
        common = math.lcm(*self.qty) if self.qty else 1
        self.scale = [common // q for q in self.qty]


def _fail(out: _Outcome, prep: _Prepared, reduced: bool, blocker: str | None, reason: str, params: dict) -> None:
    # A rule that would have its full lines but fails on what an exclusive rule left it is blocked by that rule.
    if reduced or reason == BLOCKED_BY_EXCLUSIVE:
        out.failures[prep.key] = (BLOCKED_BY_EXCLUSIVE, {"promotion": blocker or ""})
    else:
        out.failures[prep.key] = (reason, params)


def _apply_rule(out: _Outcome, cart: _Cart, prep: _Prepared, mask: tuple[int, ...], blocker: str | None) -> None:
    """Apply one rule to `out` on the lines `mask`: a step, or a failure with its reason."""
    amounts, floor_capped = out.amounts, out.floor_capped
    floors, qty = cart.floors, cart.qty
    reduced = blocker is not None and len(mask) < len(prep.positions)
    if not mask:
        _fail(out, prep, reduced, blocker, BLOCKED_BY_EXCLUSIVE, {})
        return
    kind = prep.kind
    spend = 0
    if prep.min_spend is not None or kind == SPEND_THRESHOLD:
        for p in mask:
            spend += amounts[p]
        if prep.min_spend is not None and spend < prep.min_spend:
            params = {"min_spend": _fmt(prep.rule.min_spend), "spend": _fmt(_money(spend))}
            _fail(out, prep, reduced, blocker, MIN_SPEND_NOT_MET, params)
            return
    budget = prep.budget
    clipped: set[str] = set()
    shares: dict[int, int] = {}

    if kind == GIFT_WITH_PURCHASE:
        rule = prep.rule
        if not rule.gift_in_stock:
            _fail(out, prep, reduced, blocker, GIFT_OUT_OF_STOCK, {"gift_sku": rule.gift_sku})
        elif budget is not None and prep.gift_value > budget:
            _fail(out, prep, reduced, blocker, BUDGET_SPENT, {"budget_left": _fmt(rule.budget_left)})
        else:
            gift = GiftLine(rule_key=prep.key, sku=rule.gift_sku, quantity=rule.gift_quantity)
            out.steps.append(_Step(prep, shares, clipped, gift=gift, gift_value=prep.gift_value))
        return

    if kind == SPEND_THRESHOLD:
        want = -1
        for tier_min, tier_off in prep.tiers:
            if tier_min <= spend and tier_off > want:
                want = tier_off
        if want < 0:
            params = {"min_spend": _fmt(min(t.min_spend for t in prep.rule.tiers)), "spend": _fmt(_money(spend))}
            _fail(out, prep, reduced, blocker, MIN_SPEND_NOT_MET, params)
            return
        want = min(want, spend)
        if budget is not None and want > budget:
            want = budget
            clipped.add(CLIP_BUDGET)
        weights = [amounts[p] for p in mask]
        rooms = [max(0, amounts[p] - floors[p]) for p in mask]
        local, held = _allocate(want, weights, rooms)
        for i in held:
            if rooms[i] < weights[i]:  # held back by the floor, not by the line's own amount
                floor_capped[mask[i]] = True
        if sum(local) < want:
            clipped.add(CLIP_FLOOR)
        for p, s in zip(mask, local, strict=True):
            if s:
                shares[p] = s
    else:
        # wants: (line, discount asked) before floors and budget.
        if kind == PERCENT_OFF:
            num, den = prep.num, prep.den
            den2 = 2 * den
            wants = [(p, (2 * amounts[p] * num + den) // den2) for p in mask]  # half up
        elif kind == AMOUNT_OFF:
            per_unit = prep.per_unit
            wants = [(p, min(per_unit * qty[p], amounts[p])) for p in mask]
        else:  # buy_x_get_y: the cheapest units at their current (already reduced) unit price are free
            units = 0
            for p in mask:
                units += qty[p]
            free = units // prep.group * prep.get
            if free == 0:
                params = {"required": str(prep.group), "units": str(units)}
                _fail(out, prep, reduced, blocker, QUANTITY_NOT_MET, params)
                return
            num, den = prep.num, prep.den
            scale = cart.scale  # amounts[p] * scale[p] orders lines by exact unit price, in integers
            wants = []
            for p in sorted(mask, key=lambda p: (amounts[p] * scale[p], p)):
                k = min(free, qty[p])
                wants.append((p, (2 * amounts[p] * k * num + qty[p] * den) // (2 * qty[p] * den)))  # half up
                free -= k
                if free == 0:
                    break
            wants.sort()
        for p, want in wants:
            if want:
                room = amounts[p] - floors[p]
                if want > room:
                    floor_capped[p] = True
                    clipped.add(CLIP_FLOOR)
                    if room <= 0:
                        continue
                    want = room
                shares[p] = want
        if budget is not None:
            total = sum(shares.values())
            if total > budget:
                order = list(shares)
                local, _ = _allocate(budget, list(shares.values()), list(shares.values()))
                shares = {p: s for p, s in zip(order, local, strict=True) if s}
                clipped.add(CLIP_BUDGET)

    if not shares:
        _fail(out, prep, reduced, blocker, CAPPED_BY_FLOOR if CLIP_FLOOR in clipped else NOTHING_TO_DISCOUNT, {})
        return
    for p, s in shares.items():
        amounts[p] -= s
    out.steps.append(_Step(prep, shares, clipped))


def _evaluate(
    cart: _Cart,
    plan: Sequence[tuple[_Prepared, tuple[int, ...], str | None]],
    cap: int | None,
    cap_percent: Decimal | None,
) -> _Outcome:
    """Run one candidate. `plan`: (rule, lines it may touch here, exclusive rule that took its other lines), item
    rules first then order rules, each group in rule order."""
    amounts = cart.list_amounts.copy()
    out = _Outcome(amounts=amounts, floor_capped=[False] * len(amounts), steps=[], failures={})
    for prep, mask, blocker in plan:
        _apply_rule(out, cart, prep, mask, blocker)

    if cap is not None:
        _apply_cap(out, cap, cap_percent)
    out.money = sum(sum(s.shares.values()) for s in out.steps)
    gifts = [s for s in out.steps if s.gift is not None]
    out.benefit = (out.money + sum(s.gift_value for s in gifts), len(gifts))
    return out


def _apply_cap(out: _Outcome, cap: int, cap_percent: Decimal) -> None:
    """Per-order cap on the total discount: take the excess back from the last-applied steps first."""
    excess = sum(sum(s.shares.values()) for s in out.steps) - cap
    if excess <= 0:
        return
    kept: list[_Step] = []
    for step in reversed(out.steps):
        given = sum(step.shares.values())
        if excess <= 0 or given == 0:  # gifts are not price discounts: the cap leaves them alone
            kept.append(step)
            continue
        back = min(excess, given)
        excess -= back
        order = sorted(step.shares)
        old = [step.shares[p] for p in order]
        new, _ = _allocate(given - back, old, old)
        for p, o, n in zip(order, old, new, strict=True):
            out.amounts[p] += o - n
        step.shares = {p: n for p, n in zip(order, new, strict=True) if n}
        if step.shares:
            step.clipped.add(CLIP_CAP)
            kept.append(step)
        else:
            out.failures[step.prep.key] = (CAPPED, {"max_discount_percent": str(cap_percent)})
    kept.reverse()
    out.steps = kept


def _static_reason(rule: Rule, at: datetime, codes: frozenset[str], cart: _Cart, positions: tuple[int, ...]):
    """Why the rule cannot apply to this cart at all, whatever the other rules do (None = it may)."""
    if rule.paused:
        return PAUSED, {}
    if (rule.starts_at is not None and at < rule.starts_at) or (rule.ends_at is not None and at >= rule.ends_at):
        return OUTSIDE_WINDOW, {}
    if rule.code is not None and _norm_code(rule.code) not in codes:
        return CODE_REQUIRED, {}
    if rule.uses_left is not None and rule.uses_left <= 0:
        return LIMIT_REACHED, {}
    if rule.buyer_uses_left is not None and rule.buyer_uses_left <= 0:
        return BUYER_LIMIT_REACHED, {}
    if rule.budget_left is not None and rule.budget_left <= 0:
        return BUDGET_SPENT, {}
    if not positions:
        return NO_ELIGIBLE_LINES, {}
    if rule.kind == GIFT_WITH_PURCHASE and rule.trigger_sku is not None:
        need = max(1, rule.buy_quantity)
        have = sum(ln.quantity for ln in cart.lines if ln.sku == rule.trigger_sku)
        if have < need:
            return NO_ELIGIBLE_LINES, {"trigger_sku": rule.trigger_sku, "required": str(need)}
    return None


def _rule_order(rules: Iterable[Rule]) -> list[Rule]:
    """Sort by `Rule.sort_key`, building the full key only for rules equal on its cheap prefix."""
    decorated = [((-r.priority, _KIND_RANK[r.kind], r.exclusive, _opt(r.value)), r) for r in rules]
    decorated.sort(key=lambda d: d[0])
    ordered: list[Rule] = []
    i = 0
    while i < len(decorated):
        j = i + 1
        while j < len(decorated) and decorated[j][0] == decorated[i][0]:
            j += 1
        run = [r for _, r in decorated[i:j]]
        if len(run) > 1:
            run.sort(key=Rule.sort_key)
        ordered.extend(run)
        i = j
    return ordered


class _ScopeIndex:
    """Line positions by category, product and SKU, so a rule's lines cost its scope's size, not the cart's."""

    def __init__(self, lines: Sequence[CartLine]):
        self.all = tuple(range(len(lines)))
        self.maps: tuple[dict, dict, dict] = ({}, {}, {})
        for p, ln in enumerate(lines):
            for index, value in zip(self.maps, (ln.category_id, ln.product_id, ln.sku), strict=True):
                index.setdefault(value, []).append(p)

    def positions(self, scope: Scope) -> tuple[int, ...]:
        if not (scope.categories or scope.products or scope.skus):
            return self.all
        found: set[int] = set()
        for index, values in zip(self.maps, (scope.categories, scope.products, scope.skus), strict=True):
            for value in values:
                found.update(index.get(value, ()))
        return tuple(sorted(found))


def _bound(prep: _Prepared, positions: Sequence[int], cart: _Cart) -> tuple[int, int, bool] | None:
    """The most `prep` can give on `positions` in any candidate (money, gift value, whether a gift), None for
    nothing: amounts only fall and a rule only loses lines, so what list prices allow is a bound."""
    if not positions:
        return None
    lst = cart.list_amounts
    spend = sum(map(lst.__getitem__, positions))
    if prep.min_spend is not None and spend < prep.min_spend:
        return None
    kind = prep.kind
    if kind == GIFT_WITH_PURCHASE:
        if prep.rule.gift_in_stock and (prep.budget is None or prep.gift_value <= prep.budget):
            return 0, prep.gift_value, True
        return None
    if kind == PERCENT_OFF:
        num, den = prep.num, prep.den
        bound = sum((2 * lst[p] * num + den) // (2 * den) for p in positions)
    elif kind == AMOUNT_OFF:
        bound = sum(min(prep.per_unit * cart.qty[p], lst[p]) for p in positions)
    elif kind == BUY_X_GET_Y:
        free = sum(map(cart.qty.__getitem__, positions)) // prep.group * prep.get
        bound = free * max(map(cart.unit.__getitem__, positions))
    else:
        bound = min(spend, max((off for least, off in prep.tiers if least <= spend), default=0))
    if prep.budget is not None:
        bound = min(bound, prep.budget)
    return (bound, 0, False) if bound > 0 else None


class _Bounds:
    """Bounds on what the combinable rules can give in any exclusive rule's candidate, so a candidate that cannot
    win is skipped without working it out. A candidate takes the exclusive rule's lines from the others: each
    other rule is bounded on the lines it keeps (only the rules touching those lines are recomputed)."""

    def __init__(self, cart: _Cart, combinable: Sequence[_Prepared]):
        self.cart = cart
        # Per line: the most the additive rules without a budget can take off it (a sum of per-line parts).
        self.per_line = [0] * len(cart.list_amounts)
        self.others: list[tuple[_Prepared, tuple[int, int, bool]]] = []
        self.by_line: list[list[int]] = [[] for _ in cart.list_amounts]
        lst = cart.list_amounts
        for prep in combinable:
            if prep.budget is None and prep.kind in (PERCENT_OFF, AMOUNT_OFF):
                if prep.min_spend is not None and sum(map(lst.__getitem__, prep.positions)) < prep.min_spend:
                    continue
                for p in prep.positions:
                    if prep.kind == PERCENT_OFF:
                        self.per_line[p] += (2 * lst[p] * prep.num + prep.den) // (2 * prep.den)
                    else:
                        self.per_line[p] += min(prep.per_unit * cart.qty[p], lst[p])
                continue
            full = _bound(prep, prep.positions, cart)
            if full is None:
                continue
            for p in prep.positions:
                self.by_line[p].append(len(self.others))
            self.others.append((prep, full))
        self.money = sum(b[0] for _, b in self.others) + sum(self.per_line)
        self.value = sum(b[1] for _, b in self.others)
        self.count = sum(b[2] for _, b in self.others)

    def without(self, covered: Sequence[int]) -> tuple[int, int, int]:
        """(money, gift value, gifts) the combinable rules can give on the lines outside `covered`."""
        money, value, count = self.money, self.value, self.count
        taken = set(covered)
        touched = {i for p in covered for i in self.by_line[p]}
        for i in touched:
            prep, (m, v, g) = self.others[i]
            money, value, count = money - m, value - v, count - g
            kept = _bound(prep, [p for p in prep.positions if p not in taken], self.cart)
            if kept is not None:
                money, value, count = money + kept[0], value + kept[1], count + kept[2]
        money -= sum(map(self.per_line.__getitem__, covered))
        return money, value, count


def quote(
    lines: Sequence[CartLine],
    rules: Iterable[Rule],
    *,
    codes: Iterable[str] = (),
    at: datetime,
    max_discount_percent: Decimal | None = None,
) -> Quote:
    """Price the cart: per line list price, discount and net total; what applied, what did not and why.

    `codes` are the codes the buyer entered (compared trimmed and case-insensitively); a code no rule has is
    reported as UNKNOWN_CODE with key None. `max_discount_percent` is the shop's per-order cap on the total
    discount as a percentage of the list subtotal (rounded down to the cent).
    """
    return _quote(lines, rules, codes=codes, at=at, max_discount_percent=max_discount_percent, prune=True)


def _quote(
    lines: Sequence[CartLine],
    rules: Iterable[Rule],
    *,
    codes: Iterable[str],
    at: datetime,
    max_discount_percent: Decimal | None,
    prune: bool,
) -> Quote:
    """`quote`; `prune=False` works out every exclusive candidate (the tests check skipping changes nothing)."""
    lines = sorted(lines, key=lambda ln: ln.index)
    if len({ln.index for ln in lines}) != len(lines):
        raise ValueError("lines: indexes must be unique")
    rules = _rule_order(rules)
    if len({r.key for r in rules}) != len(rules):
        raise ValueError("rules: keys must be unique")
    if max_discount_percent is not None and not (0 <= max_discount_percent <= 100):
        raise ValueError("max_discount_percent: between 0 and 100")
    given_codes = {_norm_code(c): c for c in codes if c and c.strip()}
    code_set = frozenset(given_codes)
    cart = _Cart(lines)
    scopes = _ScopeIndex(lines)

    failures: dict[str, tuple[str, dict[str, str]]] = {}
    eligible: list[_Prepared] = []
    for order, rule in enumerate(rules):
        positions = scopes.positions(rule.scope)
        reason = _static_reason(rule, at, code_set, cart, positions)
        if reason is not None:
            failures[rule.key] = reason
        else:
            eligible.append(_Prepared(rule, positions, order))
    # Item-level rules first, then order-level ones; each group stays in rule order.
    eligible.sort(key=lambda prep: (prep.kind in ORDER_KINDS, prep.order))
    combinable = [prep for prep in eligible if not prep.rule.exclusive]
    exclusive = [prep for prep in eligible if prep.rule.exclusive]

    cap = None
    if max_discount_percent is not None:
        cap = int((Decimal(cart.subtotal) * max_discount_percent / 100).to_integral_value(ROUND_FLOOR))

    best = _evaluate(cart, [(c, c.positions, None) for c in combinable], cap, max_discount_percent)
    best_ex: _Prepared | None = None
    own_failures: dict[str, tuple[str, dict[str, str]]] = {}
    if exclusive:
        # One candidate per exclusive rule: it on its lines, the combinable rules on the others. A candidate
        # is worked out in full only when an upper bound on its benefit could beat the best so far, which
        # keeps many exclusive promotions affordable without changing the result.
        bounds = _Bounds(cart, combinable)
        rooms = [max(0, a - f) for a, f in zip(cart.list_amounts, cart.floors, strict=True)]
        room_total = sum(rooms)
        candidates = []
        for ex in exclusive:
            # Nothing else touches the exclusive rule's lines in its candidate, so its effect there (before the
            # order cap) is its effect alone at list prices; the others' part is bounded without working it out.
            alone = _evaluate(cart, [(ex, ex.positions, None)], None, None)
            if not alone.steps:
                own_failures[ex.key] = alone.failures[ex.key]
                continue
            ex_money, (ex_value, ex_count) = alone.money, alone.benefit
            money, value, count = bounds.without(ex.positions)
            money = ex_money + min(money, room_total - sum(map(rooms.__getitem__, ex.positions)))
            value += (money if cap is None else min(money, cap)) + ex_value - ex_money
            candidates.append(((value, ex_count + count), ex.order, ex))
        candidates.sort(key=lambda c: (-c[0][0], -c[0][1], c[1]))
        for bound, _, ex in candidates:
            if prune and (
                bound < best.benefit or (bound == best.benefit and (best_ex is None or ex.order > best_ex.order))
            ):
                continue  # cannot win, not even on the tie-break
            covered = set(ex.positions)
            uncovered = tuple(p for p in scopes.all if p not in covered)
            plan = []
            for prep in eligible:
                if prep is ex:
                    plan.append((prep, prep.positions, None))
                elif not prep.rule.exclusive:
                    if prep.positions is scopes.all:
                        mask = uncovered
                    else:
                        mask = tuple(p for p in prep.positions if p not in covered)
                    plan.append((prep, mask, ex.key))
            outcome = _evaluate(cart, plan, cap, max_discount_percent)
            if not outcome.applied(ex.key):
                # The order cap took it all back: it must not take lines from the others for nothing. (Said as
                # "not best for the buyer", as for a candidate skipped by its bound, so skipping stays exact.)
                continue
            if outcome.benefit > best.benefit or (
                outcome.benefit == best.benefit and best_ex is not None and ex.order < best_ex.order
            ):
                best, best_ex = outcome, ex

    failures.update(best.failures)
    for ex in exclusive:
        if ex is best_ex:
            continue
        if ex.key in own_failures:
            failures[ex.key] = own_failures[ex.key]
        elif best_ex is not None:
            failures[ex.key] = (BLOCKED_BY_EXCLUSIVE, {"promotion": best_ex.key})
        else:
            failures[ex.key] = (NOT_BEST_FOR_BUYER, {})
    return _build(lines, cart, rules, best, failures, given_codes, code_set)


def _build(
    lines: Sequence[CartLine],
    cart: _Cart,
    rules: Sequence[Rule],
    outcome: _Outcome,
    failures: dict[str, tuple[str, dict[str, str]]],
    given_codes: dict[str, str],
    code_set: frozenset[str],
) -> Quote:
    quote_lines = tuple(
        QuoteLine(
            index=ln.index,
            sku=ln.sku,
            quantity=ln.quantity,
            unit_price=ln.unit_price.quantize(CENT),
            subtotal=_money(cart.list_amounts[p]),
            discount=_money(cart.list_amounts[p] - outcome.amounts[p]),
            total=_money(outcome.amounts[p]),
            capped_by_floor=outcome.floor_capped[p],
        )
        for p, ln in enumerate(lines)
    )
    applied = tuple(
        Applied(
            key=s.prep.key,
            amount=_money(sum(s.shares.values())),
            shares=tuple((lines[p].index, _money(c)) for p, c in sorted(s.shares.items())),
            clipped=tuple(sorted(s.clipped)),
            gift=s.gift,
        )
        for s in outcome.steps
    )
    not_applied = [
        NotApplied(key=r.key, reason=failures[r.key][0], params=failures[r.key][1]) for r in rules if r.key in failures
    ]
    known = {_norm_code(r.code) for r in rules if r.code is not None}
    for norm in sorted(code_set - known):
        not_applied.append(NotApplied(key=None, reason=UNKNOWN_CODE, params={"code": given_codes[norm]}))
    discount = cart.subtotal - sum(outcome.amounts)
    return Quote(
        lines=quote_lines,
        gifts=tuple(s.gift for s in outcome.steps if s.gift is not None),
        applied=applied,
        not_applied=tuple(not_applied),
        subtotal=_money(cart.subtotal),
        discount=_money(discount),
        total=_money(cart.subtotal - discount),
    )
