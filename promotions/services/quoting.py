"""Quotes: the preview a member asks for, and the pricing of an arriving order (the kernel's pricing hook).

Both load the same rules the same way (``selectors.quotable_promotions`` → ``rules_for_quote``) and call the
same pure ``engine.quote``, so for the same cart, buyer, codes and moment the preview and the order agree.
Intake differs only in that it locks the promotions first (``SELECT … FOR UPDATE`` in id order) and then
records what the order consumed: under the lock the usage, per-buyer count and budget it read are exact, so
a usage limit, a per-buyer limit or a budget cannot be overrun by concurrent orders (the conditional update
and the check constraints are the second line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Case, DecimalField, F, Max, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, require
from backoffice.errors import ValidationFailed
from backoffice.pricing import ListPrices, PricedLine, Pricing
from promotions import engine, selectors
from promotions.models import Promotion, PromotionCode, PromotionUse
from promotions.services.guardrails import pause_exhausted, resume_replenished

if TYPE_CHECKING:
    from accounts.models import Shop

ZERO = Decimal("0.00")
MAX_LINES = 500
MAX_CODES = 20


@dataclass(frozen=True)
class Priced:
    """An engine quote with what is needed to show or store it."""

    quote: engine.Quote
    cart: selectors.CartInput
    promotions: dict[str, Promotion]  # by rule key
    rules: dict[str, engine.Rule]


def _clean_codes(codes: Any) -> list[str]:
    if codes in (None, ""):
        return []
    if not isinstance(codes, (list, tuple)) or len(codes) > MAX_CODES or not all(isinstance(c, str) for c in codes):
        message = _("Give a list of at most %(n)s codes.") % {"n": MAX_CODES}
        raise ValidationFailed(message, fields={"codes": [message]})
    return [c.strip()[:64] for c in codes if c.strip()]


def _clean_buyer(buyer: Any) -> str:
    if buyer in (None, ""):
        return ""
    if not isinstance(buyer, (str, int)) or isinstance(buyer, bool) or len(str(buyer)) > 64:
        message = _("At most %(n)s characters.") % {"n": 64}
        raise ValidationFailed(message, fields={"buyer": [message]})
    return str(buyer).strip()


def _clean_lines(lines: Any) -> list[dict]:
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationFailed(_("Give at least one line."), fields={"lines": [_("Give at least one line.")]})
    if len(lines) > MAX_LINES:
        message = _("At most %(n)s lines.") % {"n": MAX_LINES}
        raise ValidationFailed(message, fields={"lines": [message]})
    errors: dict[str, list[str]] = {}
    out = []
    for i, line in enumerate(lines):
        line = line if isinstance(line, dict) else {}
        sku = str(line.get("sku") or "").strip()
        if not sku:
            errors[f"lines.{i}.sku"] = [_("This field is required.")]
        qty = line.get("quantity")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0 or qty > 100000:
            errors[f"lines.{i}.quantity"] = [_("A positive whole number.")]
        out.append({"sku": sku, "quantity": qty})
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return out


_READ = object()


def price(
    *, shop: Shop, cart: selectors.CartInput, buyer: str, codes: Sequence[str], at: datetime,
    promotions: Sequence[Promotion] | None = None, tree: dict[int, frozenset[int]] | None = None,
    cap: Decimal | None | object = _READ,
) -> Priced:  # fmt: skip
    """The engine's quote of ``cart`` (no permission check: the callers have done theirs). ``promotions`` and
    ``cap`` (the shop's ``max_discount_percent``) are read here unless given."""
    if promotions is None:
        rows, cap = selectors.quote_inputs(shop=shop, at=at, buyer=buyer or None)
    else:
        rows = list(promotions)
        if cap is _READ:
            cap = selectors.max_discount_percent(shop=shop)
    rules = selectors.rules_for_quote(shop=shop, at=at, codes=codes, buyer=buyer or None, promotions=rows, tree=tree)
    q = engine.quote(cart.lines, rules, codes=codes, at=at, max_discount_percent=cap)
    q = _name_used_codes(shop, q)
    return Priced(quote=q, cart=cart, promotions={str(p.pk): p for p in rows}, rules={r.key: r for r in rules})


def _name_used_codes(shop, q: engine.Quote) -> engine.Quote:
    """A code the engine does not know may be a single-use code an earlier order took: say so (one query, only
    when a code went unknown)."""
    unknown = [n for n in q.not_applied if n.key is None and n.reason == engine.UNKNOWN_CODE]
    if not unknown:
        return q
    used = selectors.used_codes(shop=shop, codes=[n.params.get("code", "") for n in unknown])
    if not used:
        return q
    not_applied = tuple(
        replace(n, reason=engine.CODE_USED)
        if n.key is None and n.reason == engine.UNKNOWN_CODE and n.params.get("code", "").strip().casefold() in used
        else n
        for n in q.not_applied
    )
    return replace(q, not_applied=not_applied)


def promotion_quote(
    *, actor: Actor, lines: Any, buyer: Any = None, codes: Any = None, at: datetime | None = None
) -> dict[str, Any]:
    """``POST …/promotions/quote/``: ``lines`` ``[{"sku": code, "quantity"}]`` at list prices → the quote as the
    API shows it (see ``quote_display``). Needs ``promotions.view``."""
    require(actor, "promotions.view")
    clean = _clean_lines(lines)
    codes = _clean_codes(codes)
    buyer = _clean_buyer(buyer)
    at = at or timezone.now()
    cart = selectors.cart_lines(shop=actor.shop, lines=clean)
    return quote_display(price(shop=actor.shop, cart=cart, buyer=buyer, codes=codes, at=at))


def _money(value: Decimal) -> str:
    return str(value.quantize(engine.CENT))


def quote_display(priced: Priced) -> dict[str, Any]:
    """The quote with SKU codes and promotion ids and names; money as strings with two decimals."""
    q, skus, promos = priced.quote, priced.cart.skus, priced.promotions
    gift_code = {str(p.gift_sku_id): p.gift_sku.code for p in promos.values() if p.gift_sku_id}

    def pid(key: str | None) -> int | None:
        return int(key) if key is not None else None

    return {
        "lines": [
            {"sku": skus[ln.index].code, "quantity": ln.quantity, "unit_price": _money(ln.unit_price),
             "subtotal": _money(ln.subtotal), "discount": _money(ln.discount), "total": _money(ln.total),
             "capped_by_floor": ln.capped_by_floor}
            for ln in q.lines
        ],
        "gifts": [
            {"sku": gift_code.get(g.sku, g.sku), "quantity": g.quantity, "unit_price": _money(g.unit_price),
             "promotion": pid(g.rule_key)}
            for g in q.gifts
        ],
        "subtotal": _money(q.subtotal),
        "discount": _money(q.discount),
        "total": _money(q.total),
        "applied": [
            {"promotion": pid(a.key), "name": promos[a.key].name, "kind": promos[a.key].kind,
             "discount": _money(a.amount), "clipped": list(a.clipped),
             "gift": ({"sku": gift_code.get(a.gift.sku, a.gift.sku), "quantity": a.gift.quantity}
                      if a.gift is not None else None)}
            for a in q.applied
        ],
        "not_applied": [
            {"promotion": pid(n.key), "name": promos[n.key].name if n.key in promos else "", "reason": n.reason,
             "params": dict(n.params)}
            for n in q.not_applied
        ],
    }  # fmt: skip


# ------------------------------------------------------------------------------------------ order intake


def _buyer_numbers(shop, promotion_ids: Sequence[int], buyer_id: str) -> dict[int, int]:
    """The buyer's next use number per promotion (after the highest: a cancelled use leaves a gap, never a
    duplicate), 0 for an unnamed buyer. One query."""
    if not buyer_id:
        return dict.fromkeys(promotion_ids, 0)
    highest = dict(
        PromotionUse.objects.for_shop(shop)
        .filter(promotion_id__in=promotion_ids, buyer_id=buyer_id)
        .order_by()
        .values("promotion_id")
        .annotate(n=Max("buyer_n"))
        .values_list("promotion_id", "n")
    )
    return {pk: (highest.get(pk) or 0) + 1 for pk in promotion_ids}


def _consume(shop, costs: dict[int, Decimal]) -> None:
    """One use and its cost (discount + gift value) for each promotion, in one conditional UPDATE: under the lock
    the engine's rules were exact, so every row must still have the use and the budget (the check constraints
    are the last line)."""
    cost = Case(*(When(pk=pk, then=Value(c)) for pk, c in costs.items()),
                output_field=DecimalField(max_digits=12, decimal_places=2))  # fmt: skip
    limits = Q(usage_limit__isnull=True) | Q(used_count__lt=F("usage_limit"))
    budget = Q(budget__isnull=True) | Q(spent__lte=F("budget") - cost)
    done = (
        Promotion.objects.for_shop(shop)
        .filter(limits & budget, pk__in=list(costs))
        .update(used_count=F("used_count") + 1, spent=F("spent") + cost)
    )
    if done != len(costs):  # cannot happen under the lock; never give what the guardrails forbid
        raise RuntimeError(f"promotions {sorted(costs)}: limits changed under their lock")


class PromotionPricing(ListPrices):
    """The provider ``backoffice.pricing`` calls at intake and on cancel (registered in ``apps.py``)."""

    def price_order(self, *, shop, order, lines, buyer_id, codes, at) -> Pricing:
        codes = [c for c in (str(c).strip()[:64] for c in codes or ()) if c]
        given = {c.casefold() for c in codes}
        # Read without a lock first, to lock only the promotions this order could use: those whose scope covers
        # one of its lines, and those that could take a code it carries. Orders of unrelated goods then never
        # wait for each other, and a shop's hundreds of promotions are not all locked by every order.
        seen = selectors.quotable_scopes(shop=shop, at=at)
        if not seen:
            plain = super().price_order(shop=shop, order=order, lines=lines, buyer_id=buyer_id, codes=codes, at=at)
            notes = tuple({"code": c, "reason": engine.UNKNOWN_CODE} for c in codes)
            return Pricing(lines=plain.lines, subtotal=plain.subtotal, discount_total=ZERO, notes=notes)
        cart = selectors.cart_lines(shop=shop, lines=lines, prices=[ln["unit_price"] for ln in lines])
        tree = selectors.category_tree(shop=shop, rows=seen)
        wanted = [
            r.pk for r in seen
            if selectors.touches_cart(r, cart, tree) or (given and (r.has_code_batch or r.code.casefold() in given))
        ]  # fmt: skip
        # Locked in id order: every intake that could use one of these promotions waits here for the one before
        # it to commit. The rules are read by the next statement, which (READ COMMITTED) sees what that one
        # committed: usage, budget, the buyer's uses and gift stock are exact. (Read in the locking statement
        # itself, the subqueries would keep the snapshot from before the wait.)
        locked = list(
            Promotion.objects.for_shop(shop).filter(pk__in=wanted).order_by("id").select_for_update()
            .values_list("id", flat=True)
        ) if wanted else []  # fmt: skip
        # Nothing locked, nothing can apply: the cap has nothing to limit.
        rows, cap = (
            selectors.quote_inputs(shop=shop, at=at, buyer=buyer_id or None, ids=locked) if locked else ([], None)
        )
        priced = price(shop=shop, cart=cart, buyer=buyer_id, codes=codes, at=at, promotions=rows, tree=tree, cap=cap)
        q = priced.quote
        applied, uses, costs = [], [], {}
        numbers = _buyer_numbers(shop, [int(a.key) for a in q.applied], buyer_id) if q.applied else {}
        for a in q.applied:
            promotion = priced.promotions[a.key]
            rule = priced.rules[a.key]
            gift_value = ZERO
            if a.gift is not None and promotion.gift_sku is not None:
                gift_value = promotion.gift_sku.price * a.gift.quantity
            costs[promotion.pk] = a.amount + gift_value
            used_code = ""
            if promotion.has_code_batch and rule.code and rule.code != promotion.code:
                used_code = rule.code
                taken = (
                    PromotionCode.objects.for_shop(shop)
                    .annotate(norm=Lower("code"))
                    .filter(promotion_id=promotion.pk, norm=used_code.casefold(), order__isnull=True)
                    .update(order=order, used_at=at)
                )
                if taken != 1:
                    raise RuntimeError(f"promotion {promotion.pk}: code taken under its lock")
            uses.append(PromotionUse(
                shop=shop, promotion_id=promotion.pk, order=order, buyer_id=buyer_id or "",
                buyer_n=numbers[promotion.pk], amount=a.amount, gift_value=gift_value,
                code=used_code or (rule.code or "")[:64], created_at=at,
            ))  # fmt: skip
            applied.append({"promotion": promotion.pk, "name": promotion.name, "kind": promotion.kind,
                            "discount": _money(a.amount), "gift": promotion.gift_sku.code if a.gift else None,
                            "code": used_code or (promotion.code if rule.code else None) or None})  # fmt: skip
        if costs:
            _consume(shop, costs)
            PromotionUse.objects.for_shop(shop).bulk_create(uses)
        priced_lines = [
            PricedLine(sku=cart.skus[ln.index], quantity=ln.quantity, unit_price=ln.unit_price, discount=ln.discount)
            for ln in q.lines
        ]
        gifts = [a for a in q.applied if a.gift is not None]
        if gifts:
            gift_skus = selectors.skus_by_id(shop=shop, ids=[priced.promotions[a.key].gift_sku.pk for a in gifts])
            for a in gifts:
                gift_sku = gift_skus[priced.promotions[a.key].gift_sku.pk]
                priced_lines.append(PricedLine(sku=gift_sku, quantity=a.gift.quantity, unit_price=ZERO, gift=True))
        notes = tuple({"code": n.params.get("code", ""), "reason": n.reason} for n in q.not_applied if n.key is None)
        pause_exhausted(shop=shop, promotion_ids=[a["promotion"] for a in applied], at=at)  # used up: pause
        return Pricing(lines=tuple(priced_lines), subtotal=q.subtotal, discount_total=q.discount,
                       applied=tuple(applied), notes=notes)  # fmt: skip

    def order_cancelled(self, *, shop, order) -> None:
        """Give back the usage, budget and single-use codes ``order`` consumed (cancel before delivery)."""
        uses = list(PromotionUse.objects.for_shop(shop).filter(order=order).order_by("promotion_id"))
        if not uses:
            return
        ids = [u.promotion_id for u in uses]
        list(Promotion.objects.for_shop(shop).filter(pk__in=ids).order_by("id").select_for_update())
        for use in uses:
            Promotion.objects.for_shop(shop).filter(pk=use.promotion_id).update(
                used_count=F("used_count") - 1, spent=F("spent") - (use.amount + use.gift_value)
            )
        PromotionCode.objects.for_shop(shop).filter(order=order).update(order=None, used_at=None)
        PromotionUse.objects.for_shop(shop).filter(order=order).delete()
        resume_replenished(shop=shop, promotion_ids=ids)  # a guardrail's pause ends with what it waited for
