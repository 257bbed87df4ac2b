"""Simulation (a read): what a promotion would have cost had it run over the shop's orders of the last N days.

Each past order that was not cancelled is priced again by the pure engine (``engine.quote``) with only this
promotion's rule, at the order's time and at the list prices the order carried (``OrderLine.unit_price``;
gift lines left out). The rule is the one a quote builds (``selectors.rules_for_quote``), with these changes,
because the simulation asks "what if it had run then":

- its time window and its state are ignored (a draft, paused or scheduled promotion is simulated as running);
- a code is taken as entered by every buyer (``code_assumed`` says so: the figures are then an upper bound);
- a gift is taken as in stock (the stock of a past day is not known);
- the usage limit, the per-buyer limit and the budget start full at the beginning of the period and are
  consumed in order time, as intake consumes them; the orders it would have reached after they ran out are
  counted apart (``missed``).

Minimum spend, scope, tiers, price floors and the shop's per-order cap apply as at intake (the floors and the
cap as they are now). Queries per simulation: orders, lines with their SKUs, floors, the cap — whatever the
number of orders (at most ``MAX_ORDERS``, the newest; ``capped`` says when there were more).

There is no permission check in ``simulate`` (it also prices an unsaved draft, which no check could find):
``promotion_simulation`` is the checked entry for a saved promotion.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, require
from backoffice.errors import Forbidden, ValidationFailed
from promotions import engine, selectors
from promotions.models import Promotion, PromotionUse

if TYPE_CHECKING:
    from accounts.models import Shop

# The orders app's models, reached through this app's own foreign key (promotions imports orders only through
# its services and selectors).
Order = PromotionUse._meta.get_field("order").related_model
OrderLine = Order._meta.get_field("lines").related_model

MANAGE = "promotions.manage"
DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_ORDERS = 5000
ZERO = Decimal("0.00")
LIMIT_REACHED = engine.LIMIT_REACHED
BUDGET_SPENT = engine.BUDGET_SPENT


@dataclass(frozen=True)
class Simulation:
    days: int
    since: datetime  # the period asked for: [since, until]
    until: datetime
    orders: int  # orders simulated (not cancelled, in the period; at most MAX_ORDERS)
    touched: int  # orders it would have given something to, before any limit or budget ran out
    discount: Decimal  # price discounts given
    gift_value: Decimal  # gifts given, at their list price
    gift_units: int
    touched_subtotal: Decimal  # list subtotal of the touched orders (what the cost compares with)
    capped: bool  # more orders than MAX_ORDERS in the period: only the newest were simulated
    first_order_at: datetime | None  # the oldest order simulated (when capped, the period it covers begins here)
    stopped_by: str | None  # LIMIT_REACHED / BUDGET_SPENT: the usage limit or the budget ran out in the period
    stopped_at: datetime | None  # the time of the order that used it up
    missed: int  # orders it would have given something to, had the limit or budget not run out
    buyer_limited: int  # orders held back by the per-buyer limit
    code_assumed: bool  # it needs a code: every buyer is taken to have entered it

    @property
    def cost(self) -> Decimal:
        return self.discount + self.gift_value

    @property
    def touched_percent(self) -> Decimal | None:
        """Share of the simulated orders touched, in percent (None with no orders)."""
        if not self.orders:
            return None
        return (Decimal(self.touched) * 100 / self.orders).quantize(Decimal("0.1"))

    @property
    def cost_percent(self) -> Decimal | None:
        """Cost as a percentage of the touched orders' list subtotal (None when none was touched)."""
        if not self.touched_subtotal:
            return None
        return (self.cost * 100 / self.touched_subtotal).quantize(Decimal("0.1"))


def parse_days(value: Any) -> int:
    """``days`` from a body or a query string: 7, 30 or 90 (default 30); anything else is a 400 naming it."""
    if value is None or value == "":
        return DEFAULT_DAYS
    n = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():  # not "²" or "٣"
        n = int(value.strip())
    if n not in DAYS:
        message = _("Choose one of: %(v)s") % {"v": ", ".join(map(str, DAYS))}
        raise ValidationFailed(message, fields={"days": [message]})
    return n


def _orders(shop: Shop, since: datetime, until: datetime) -> tuple[list[Any], bool]:
    """The period's orders that were not cancelled, oldest first: the newest ``MAX_ORDERS`` of them."""
    rows = list(
        Order.objects.for_shop(shop)
        .filter(created_at__gte=since, created_at__lte=until)
        .exclude(state=Order.State.CANCELLED)
        .order_by("-created_at", "-id")
        .values_list("id", "created_at", "buyer_ref")[: MAX_ORDERS + 1]
    )
    capped = len(rows) > MAX_ORDERS
    return rows[:MAX_ORDERS][::-1], capped


def _carts(shop: Shop, order_ids: list[int]) -> dict[int, tuple[engine.CartLine, ...]]:
    """Every order's lines (not its gifts) as engine lines at the prices it carried: one query for the lines
    with their SKUs and one for the floors, through the same ``cart_lines`` a quote uses."""
    lines = list(
        OrderLine.objects.for_shop(shop)
        .filter(order_id__in=order_ids, is_gift=False)
        .select_related("sku__product")
        .only("order_id", "quantity", "unit_price", "sku__cost", "sku__price", "sku__product__category_id")
        .order_by("order_id", "id")
    )
    if not lines:
        return {}
    cart = selectors.cart_lines(shop=shop, lines=[{"sku": ln.sku, "quantity": ln.quantity} for ln in lines],
                                prices=[ln.unit_price for ln in lines])  # fmt: skip
    out: dict[int, list[engine.CartLine]] = {}
    for ln, cl in zip(lines, cart.lines, strict=True):
        mine = out.setdefault(ln.order_id, [])
        # One cart per order: the engine wants each cart's lines numbered from 0.
        mine.append(dataclasses.replace(cl, index=len(mine)))
    return {k: tuple(v) for k, v in out.items()}


def simulate(*, shop: Shop, promotion: Promotion, days: Any = DEFAULT_DAYS, now: datetime | None = None) -> Simulation:
    """``promotion`` (saved or not: the form's draft) over ``shop``'s orders of the last ``days`` days (7, 30 or
    90; a bad value is a 400 naming ``days``). A rule the engine refuses raises ``ValueError``."""
    n_days = parse_days(days)
    until = now or timezone.now()
    since = until - timedelta(days=n_days)
    # The quote's rule, made to run whenever the order was placed (see the module docstring).
    base = selectors.rules_for_quote(shop=shop, at=until, promotions=[promotion])[0]
    base = dataclasses.replace(base, starts_at=None, ends_at=None, paused=False, code=None, gift_in_stock=True,
                               uses_left=None, buyer_uses_left=None, budget_left=None)  # fmt: skip
    code_assumed = bool(promotion.code or promotion.has_code_batch)
    orders, capped = _orders(shop, since, until)
    carts = _carts(shop, [o[0] for o in orders]) if orders else {}
    cap = selectors.max_discount_percent(shop=shop) if carts else None

    uses_left = promotion.usage_limit
    budget_left = promotion.budget
    per_buyer = promotion.per_buyer_limit
    buyer_uses: Counter[str] = Counter()
    touched = gift_units = missed = buyer_limited = 0
    discount = gift_value = touched_subtotal = ZERO
    stopped_by: str | None = None
    stopped_at: datetime | None = None
    for order_id, created_at, buyer in orders:
        lines = carts.get(order_id)
        if not lines:
            continue
        buyer_left = None if per_buyer is None else (per_buyer - buyer_uses[buyer] if buyer else per_buyer)
        rule = dataclasses.replace(base, uses_left=uses_left, budget_left=budget_left, buyer_uses_left=buyer_left)
        q = engine.quote(lines, [rule], at=created_at, max_discount_percent=cap)
        if q.applied:
            a = q.applied[0]
            given = ZERO
            if a.gift is not None:
                gift_units += a.gift.quantity
                given = (rule.gift_price or ZERO) * a.gift.quantity
            touched += 1
            discount += a.amount
            gift_value += given
            touched_subtotal += q.subtotal
            if buyer:
                buyer_uses[buyer] += 1
            if uses_left is not None:
                uses_left -= 1
            if budget_left is not None:
                budget_left = max(ZERO, budget_left - a.amount - given)
            if stopped_by is None and uses_left is not None and uses_left <= 0:
                stopped_by, stopped_at = LIMIT_REACHED, created_at
            elif stopped_by is None and budget_left is not None and budget_left <= 0:
                stopped_by, stopped_at = BUDGET_SPENT, created_at
            continue
        reason = q.not_applied[0].reason if q.not_applied else None
        if reason == engine.BUYER_LIMIT_REACHED:
            buyer_limited += 1
        elif reason in (LIMIT_REACHED, BUDGET_SPENT):
            # Would it have given something without the limit and the budget? (Then the limit cost it this order.)
            free = dataclasses.replace(rule, uses_left=None, budget_left=None)
            if engine.quote(lines, [free], at=created_at, max_discount_percent=cap).applied:
                missed += 1
                if stopped_by is None:  # what was left of the budget was too little for a gift
                    stopped_by, stopped_at = reason, created_at
    return Simulation(
        days=n_days, since=since, until=until, orders=len(orders), touched=touched, discount=discount,
        gift_value=gift_value, gift_units=gift_units, touched_subtotal=touched_subtotal, capped=capped,
        first_order_at=orders[0][1] if orders else None, stopped_by=stopped_by, stopped_at=stopped_at,
        missed=missed, buyer_limited=buyer_limited, code_assumed=code_assumed,
    )  # fmt: skip


def may_simulate(*, actor: Actor, promotion: Promotion) -> bool:
    """Who may simulate a saved promotion: who may activate it (``promotions.manage`` on it, its scope within
    theirs). The figures are the shop's order volume and what the promotion would cost."""
    return can(actor, MANAGE, promotion) and selectors.scope_within_actor(actor=actor, scope=promotion.scope)


def promotion_simulation(*, actor: Actor, promotion: Promotion, days: Any = DEFAULT_DAYS) -> Simulation:
    """``simulate`` for a saved promotion, for a member who ``may_simulate`` it (403 otherwise)."""
    require(actor, MANAGE, promotion)
    if not selectors.scope_within_actor(actor=actor, scope=promotion.scope):
        raise Forbidden(_("This is outside your scope."), code="out_of_scope")
    return simulate(shop=actor.shop, promotion=promotion, days=days)


def as_dict(sim: Simulation) -> dict[str, Any]:
    """The API's form: money as strings with two decimals, times in ISO 8601."""

    def money(value: Decimal) -> str:
        return str(value.quantize(engine.CENT))

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "days": sim.days, "since": moment(sim.since), "until": moment(sim.until),
        "orders": sim.orders, "touched": sim.touched, "discount": money(sim.discount),
        "gift_value": money(sim.gift_value), "gift_units": sim.gift_units, "cost": money(sim.cost),
        "touched_subtotal": money(sim.touched_subtotal), "capped": sim.capped, "max_orders": MAX_ORDERS,
        "first_order_at": moment(sim.first_order_at), "stopped_by": sim.stopped_by,
        "stopped_at": moment(sim.stopped_at), "missed": sim.missed, "buyer_limited": sim.buyer_limited,
        "code_assumed": sim.code_assumed,
    }  # fmt: skip
