"""Reads of the promotions app: lists for pages and the API, and the engine's input for a quote.

``quote_inputs``, ``rules_for_quote`` and ``cart_lines`` load everything a quote needs in a constant number of
queries, whatever the number of promotions or lines: one for the promotions' versions and counters with the
buyer's uses, the gift stock and the shop's cap; one for the cart's SKUs with their floors; one for the category
tree when a promotion is scoped to categories; one for single-use codes when one is entered. The parsed
promotions and their engine rules are kept per process by version (``updated_at``), so a warm quote reads no
promotion in full; one edited since is read again (one more query, however many were edited).

Inside the engine a SKU is named by its id as a string (codes can be renamed; ids cannot): the scope's SKU ids,
the gift and trigger SKUs and the cart lines all use it. Display code maps back to codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, restrict
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.parsing import parse_id
from catalog import selectors as catalog_selectors
from promotions import engine
from promotions.models import PriceFloor, Promotion, PromotionCode, PromotionSettings, PromotionUse

if TYPE_CHECKING:
    from accounts.models import Shop

# The catalog's models, reached through this app's own foreign keys (promotions imports the catalog only
# through its services and selectors).
SKU = Promotion._meta.get_field("gift_sku").related_model
Stock = SKU._meta.get_field("stock").related_model
Category = SKU._meta.get_field("product").related_model._meta.get_field("category").related_model

STATUSES = tuple(Promotion.Status.values)


def status_q(status: str, at: datetime) -> Q:
    """Rows whose derived status (``Promotion.status_at``) is ``status`` at ``at``."""
    S = Promotion.State
    active = Q(state=S.ACTIVE)
    if status == Promotion.Status.SCHEDULED:
        return active & Q(starts_at__gt=at)
    if status == Promotion.Status.ACTIVE:
        return active & Q(starts_at__lte=at) & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))
    if status == Promotion.Status.ENDED:
        return Q(state=S.ENDED) | (active & Q(ends_at__lte=at))
    return Q(state=status)


def promotion_list(*, shop: Shop, actor: Actor, filters: dict | None = None,
                   action: str = "promotions.view") -> QuerySet[Promotion]:  # fmt: skip
    """Promotions the actor may see, newest first. Filters: ``status`` (derived), ``kind``, ``search`` (name or
    code); a bad value is a 400 naming the filter."""
    filters = filters or {}
    qs = restrict(Promotion.objects.for_shop(shop), actor, action).select_related("gift_sku", "trigger_sku")
    if status := filters.get("status"):
        if status not in STATUSES:
            raise ValidationFailed(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        qs = qs.filter(status_q(status, timezone.now()))
    if kind := filters.get("kind"):
        if kind not in Promotion.Kind.values:
            raise ValidationFailed(_("Unknown kind."), fields={"kind": [_("Unknown kind.")]})
        qs = qs.filter(kind=kind)
    if search := str(filters.get("search") or "").strip():
        qs = qs.filter(Q(name__icontains=search) | Q(code__iexact=search))
    return qs.order_by("-id")


def promotion_status_counts(*, shop: Shop, actor: Actor, at: datetime | None = None) -> dict[str, int]:
    """{status: number of promotions} for the list's tabs (one query)."""
    at = at or timezone.now()
    qs = restrict(Promotion.objects.for_shop(shop), actor, "promotions.view")
    found = qs.aggregate(**{s: Count("pk", filter=status_q(s, at)) for s in STATUSES})
    return {s: found[s] or 0 for s in STATUSES}


def promotion_get(*, actor: Actor, pk: Any, action: str = "promotions.view") -> Promotion | None:
    """One promotion of the actor's shop that ``action`` lets them reach, or None."""
    try:
        pk = parse_id(pk, "id")
    except ValidationFailed:
        return None
    qs = restrict(Promotion.objects.for_shop(actor.shop), actor, action)
    return qs.select_related("gift_sku", "trigger_sku").filter(pk=pk).first()


# What each state allows (the services enforce the same table).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "activate": (Promotion.State.DRAFT, Promotion.State.PAUSED),
    "pause": (Promotion.State.ACTIVE,),
    "end": (Promotion.State.DRAFT, Promotion.State.ACTIVE, Promotion.State.PAUSED),
}


def scope_within_actor(*, actor: Actor, scope: dict | None) -> bool:
    """May a member limited to categories manage a promotion with this ``scope``? Only when everything it
    covers lies in their categories (a whole-shop promotion does not); members not limited always may. A
    promotion outside is read-only to them. At most two queries (the scope's products' and SKUs' categories)."""
    allowed = actor.scopes.get("category")
    if allowed is None:
        return True
    scope = scope or {}
    categories = set(scope.get("categories") or ())
    Product = SKU._meta.get_field("product").related_model
    if products := scope.get("products"):
        categories |= set(
            Product.objects.for_shop(actor.shop).filter(pk__in=products).values_list("category_id", flat=True)
        )
    if skus := scope.get("skus"):
        categories |= set(
            SKU.objects.for_shop(actor.shop).filter(pk__in=skus).values_list("product__category_id", flat=True)
        )
    return bool(categories) and categories <= set(allowed)


def promotion_actions(*, actor: Actor, promotion: Promotion) -> list[str]:
    """The transitions (``activate``, ``pause``, ``end``) the actor may offer on ``promotion`` now."""
    if not can(actor, "promotions.manage", promotion) or not scope_within_actor(actor=actor, scope=promotion.scope):
        return []
    return [name for name, states in TRANSITIONS.items() if promotion.state in states]


def promotion_editable(*, actor: Actor, promotion: Promotion) -> bool:
    """Whether the edit form is offered: the same rule the services apply (promotions.manage on it, its scope
    within the member's, and not ended: an ended promotion is history)."""
    return (
        promotion.state != Promotion.State.ENDED
        and can(actor, "promotions.manage", promotion)
        and scope_within_actor(actor=actor, scope=promotion.scope)
    )


def promotion_uses(*, promotion: Promotion) -> QuerySet[PromotionUse]:
    return PromotionUse.objects.for_shop(promotion.shop_id).filter(promotion=promotion).order_by("-id")


CODE_STATUSES = ("unused", "used")


def promotion_codes_visible(*, actor: Actor, promotion: Promotion) -> bool:
    """Single-use codes are secrets (each is a discount): only who manages the promotion sees, lists and exports
    them — ``promotions.manage`` on it and its scope within theirs (the same rule as editing; a promotion that is
    read-only to a member keeps its codes from them). An ended promotion's codes stay readable (history)."""
    return can(actor, "promotions.manage", promotion) and scope_within_actor(actor=actor, scope=promotion.scope)


def promotion_codes(*, actor: Actor, promotion: Promotion, filters: Any = None) -> QuerySet[PromotionCode]:
    """The promotion's single-use codes in the order they were made, with the order that used each (number, when).
    Filter ``status``: ``unused`` / ``used`` (anything else is a 400 naming it). Refused (403) to a member who
    may not see them (``promotion_codes_visible``)."""
    if not promotion_codes_visible(actor=actor, promotion=promotion):
        raise Forbidden(_("Only members who manage this promotion may see its codes."), code="forbidden")
    qs = PromotionCode.objects.for_shop(actor.shop).filter(promotion=promotion)
    status = str((filters or {}).get("status") or "")
    if status and status not in CODE_STATUSES:
        message = _("Choose one of: %(v)s") % {"v": ", ".join(CODE_STATUSES)}
        raise ValidationFailed(message, fields={"status": [message]})
    if status:
        qs = qs.filter(order__isnull=status == "unused")
    return qs.select_related("order").order_by("id")


def promotion_code_counts(*, actor: Actor, promotion: Promotion) -> dict[str, int]:
    """{"all", "unused", "used"} for the codes card's filter (one query)."""
    got = (
        promotion_codes(actor=actor, promotion=promotion)
        .order_by()
        .aggregate(all=Count("pk"), used=Count("pk", filter=Q(order__isnull=False)))
    )
    return {"all": got["all"], "used": got["used"], "unused": got["all"] - got["used"]}


CODE_EXPORT_HEADER = ("code", "status", "order", "used_at")


def promotion_code_rows(*, actor: Actor, promotion: Promotion, filters: Any = None) -> Iterable[tuple]:
    """The export's rows (``CODE_EXPORT_HEADER``): code, ``unused``/``used``, the order's number, when it was used.
    Read in chunks (a batch holds up to 10,000 codes), for ``backoffice.tabular``."""
    # Checked now, not at the first row: a refusal must come before a streamed answer starts.
    qs = promotion_codes(actor=actor, promotion=promotion, filters=filters)
    rows = qs.values_list("code", "order_id", "order__number", "used_at").iterator(chunk_size=2000)
    return ((code, "unused" if order is None else "used", number or "", used_at)
            for code, order, number, used_at in rows)  # fmt: skip


def max_discount_percent(*, shop: Shop) -> Decimal | None:
    """The shop's per-order cap on the total discount (percent of the list subtotal), None = no cap."""
    row = PromotionSettings.objects.for_shop(shop).only("max_discount_percent").first()
    return None if row is None else row.max_discount_percent


# ------------------------------------------------------------------------------------------------ quoting


@dataclass(frozen=True)
class CartInput:
    """A cart ready for the engine: ``lines`` in input order, ``skus`` the SKU object per line."""

    lines: tuple[engine.CartLine, ...]
    skus: tuple[Any, ...]


def cart_lines(*, shop: Shop, lines: Sequence[dict], prices: Sequence[Decimal] | None = None) -> CartInput:
    """``lines`` as ``{"sku": SKU object or code, "quantity"}`` → engine lines. Unit prices are the catalog's
    list prices, or ``prices`` (intake: what the storefront charged). The floor of a line is the SKU's
    ``PriceFloor`` when set, else its cost when known. Unknown SKU codes raise ValidationFailed on
    ``lines.<i>.sku``. One query (the SKUs with their floors; for SKU objects given, their floors)."""
    codes = [ln["sku"] for ln in lines if not hasattr(ln["sku"], "pk")]
    floor = PriceFloor.objects.for_shop(shop).filter(sku_id=OuterRef("pk")).values("min_price")[:1]
    found = catalog_selectors.skus_for_pricing(
        shop=shop, codes=codes, price_floor=Subquery(floor, output_field=DecimalField(max_digits=12, decimal_places=2))
    ) if codes else {}  # fmt: skip
    skus: list[Any] = []
    errors: dict[str, list[str]] = {}
    for i, ln in enumerate(lines):
        sku = ln["sku"] if hasattr(ln["sku"], "pk") else found.get(ln["sku"])
        if sku is None:
            errors[f"lines.{i}.sku"] = [_("Unknown SKU: %(code)s") % {"code": ln["sku"]}]
        skus.append(sku)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    given = [s for s in skus if not hasattr(s, "price_floor")]  # SKU objects the caller passed (intake)
    floors = dict(
        PriceFloor.objects.for_shop(shop).filter(sku_id__in={s.pk for s in given}).values_list("sku_id", "min_price")
    ) if given else {}  # fmt: skip
    out = []
    for i, (ln, sku) in enumerate(zip(lines, skus, strict=True)):
        floor = sku.price_floor if hasattr(sku, "price_floor") else floors.get(sku.pk)
        if floor is None:
            floor = sku.cost
        out.append(
            engine.CartLine(
                index=i, sku=str(sku.pk), product_id=sku.product_id, category_id=sku.product.category_id,
                quantity=ln["quantity"], unit_price=(prices[i] if prices is not None else sku.price),
                floor=floor,
            )
        )  # fmt: skip
    return CartInput(lines=tuple(out), skus=tuple(skus))


def _norm(code: str) -> str:
    return code.strip().casefold()


def quotable_q(at: datetime) -> Q:
    return Q(state__in=(Promotion.State.ACTIVE, Promotion.State.PAUSED)) & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))


@dataclass(frozen=True, slots=True)
class GiftRef:
    """The gift SKU as a quote needs it (intake loads the SKU itself for the order's gift line)."""

    pk: int
    code: str
    price: Decimal


@dataclass(slots=True)
class QuoteRow:
    """A promotion as a quote reads it: the engine's inputs, its name and kind for display, and the buyer's uses
    and the gift's stock. Read as plain values (no model instances): a shop with hundreds of running promotions
    is read for every quote and every arriving order. ``_rule`` also takes a ``Promotion`` (a draft's preview)."""

    pk: int
    name: str
    kind: str
    value: Decimal | None
    tiers: list
    gift_sku_id: int | None
    gift_quantity: int
    trigger_sku_id: int | None
    buy_quantity: int
    get_quantity: int
    scope: dict
    min_spend: Decimal | None
    priority: int
    exclusive: bool
    starts_at: datetime
    ends_at: datetime | None
    state: str
    usage_limit: int | None
    per_buyer_limit: int | None
    budget: Decimal | None
    used_count: int
    spent: Decimal
    code: str
    has_code_batch: bool
    buyer_uses: int
    gift_available: int
    gift_sku: GiftRef | None = None
    updated_at: datetime | None = None


# What only an edit of the promotion changes (an edit moves ``updated_at``), and what every order may change
# (usage and budget are counted with UPDATE, which leaves ``updated_at`` alone; state is read fresh anyway).
_STATIC_FIELDS = (
    "name", "kind", "value", "tiers", "gift_sku_id", "gift_quantity", "trigger_sku_id", "buy_quantity",
    "get_quantity", "scope", "min_spend", "priority", "exclusive", "starts_at", "ends_at", "usage_limit",
    "per_buyer_limit", "budget", "code", "has_code_batch",
)  # fmt: skip
_DYNAMIC_FIELDS = ("state", "used_count", "spent")


class _Memo:
    """A bounded per-process memo (emptied when full: simple, and a quote refills what it needs in one query)."""

    def __init__(self, size: int):
        self.size, self.data = size, {}

    def get(self, key):
        return self.data.get(key)

    def put(self, key, value) -> None:
        if len(self.data) >= self.size:
            self.data.clear()
        self.data[key] = value


# Each process keeps the parsed static part of the promotions it has quoted, keyed by (id, updated_at): the row
# read for every quote then carries only the version and the counters, and a changed promotion is read again
# in full. No process can serve a stale rule: the version is read from the database on every quote.
_statics = _Memo(20_000)
_rules = _Memo(20_000)
_trees = _Memo(1_000)


def quote_inputs(
    *, shop: Shop, at: datetime, buyer: str | None = None, ids: Iterable[int] | None = None
) -> tuple[list[QuoteRow], Decimal | None]:
    """The promotions a quote at ``at`` considers (see ``quotable_promotions``) and the shop's discount cap
    (``max_discount_percent``), in one query; a second one reads in full the promotions edited since this
    process last read them (none once warm)."""
    qs = Promotion.objects.for_shop(shop).filter(quotable_q(at))
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    buyer_uses = (
        PromotionUse.objects.for_shop(shop)
        .filter(promotion=OuterRef("pk"), buyer_id=buyer)
        .order_by()
        .values("promotion")
        .annotate(n=Count("pk"))
        .values("n")
    )
    stock = (
        Stock.objects.for_shop(shop)
        .filter(sku=OuterRef("gift_sku_id"))
        .order_by()
        .values("sku")
        .annotate(n=Sum("available"))
        .values("n")
    )
    cap = PromotionSettings.objects.for_shop(shop).values("max_discount_percent")[:1]
    qs = qs.annotate(
        buyer_uses=Coalesce(Subquery(buyer_uses, output_field=IntegerField()), Value(0)) if buyer else Value(0),
        gift_available=Coalesce(Subquery(stock, output_field=IntegerField()), Value(0)),
        cap=Subquery(cap, output_field=DecimalField(max_digits=5, decimal_places=2)),
    )
    found = list(qs.order_by("id").values_list(
        "pk", "updated_at", *_DYNAMIC_FIELDS, "buyer_uses", "gift_available", "gift_sku__code", "gift_sku__price",
        "cap",
    ))  # fmt: skip
    stale = [pk for pk, updated_at, *_rest in found if (_statics.get(pk) or (None,))[0] != updated_at]
    if stale:
        for pk, updated_at, *values in (
            Promotion.objects.for_shop(shop).filter(pk__in=stale).values_list("pk", "updated_at", *_STATIC_FIELDS)
        ):
            _statics.put(pk, (updated_at, values))
    rows = []
    for pk, updated_at, state, used_count, spent, buyer_n, gift_n, gift_code, gift_price, _cap in found:
        version, static = _statics.get(pk)
        (name, kind, value, tiers, gift_sku_id, gift_quantity, trigger_sku_id, buy_quantity, get_quantity, scope,
         min_spend, priority, exclusive, starts_at, ends_at, usage_limit, per_buyer_limit, budget, code,
         has_code_batch) = static  # fmt: skip
        rows.append(QuoteRow(
            pk, name, kind, value, tiers, gift_sku_id, gift_quantity, trigger_sku_id, buy_quantity, get_quantity,
            scope, min_spend, priority, exclusive, starts_at, ends_at, state, usage_limit, per_buyer_limit, budget,
            used_count, spent, code, has_code_batch, buyer_n, gift_n,
            GiftRef(gift_sku_id, gift_code, gift_price) if gift_sku_id is not None else None,
            # Edited between the two reads: the row is the newer edit; the next quote reads it again.
            version if version == updated_at else None,
        ))  # fmt: skip
    return rows, (found[0][-1] if found else None)


def quotable_promotions(
    *, shop: Shop, at: datetime, buyer: str | None = None, ids: Iterable[int] | None = None
) -> list[QuoteRow]:
    """Promotions a quote at ``at`` considers: active or paused ones whose window has not ended (the scheduled
    and paused ones are reported as not applied, with the reason), with the buyer's uses and the gift SKU's
    available stock, in id order. ``ids``: only these (intake reads again what it locked)."""
    return quote_inputs(shop=shop, at=at, buyer=buyer, ids=ids)[0]


class ScopeRow(NamedTuple):
    pk: int
    scope: dict
    code: str
    has_code_batch: bool


def quotable_scopes(*, shop: Shop, at: datetime) -> list[ScopeRow]:
    """Of the promotions a quote at ``at`` considers, only what says which carts they could touch (intake reads
    this first, to lock just those). One query."""
    qs = Promotion.objects.for_shop(shop).filter(quotable_q(at)).order_by("id")
    return [ScopeRow(*values) for values in qs.values_list("pk", "scope", "code", "has_code_batch")]


def touches_cart(
    row: QuoteRow | ScopeRow, cart: CartInput, categories: dict[int, frozenset[int]] | None = None
) -> bool:
    """Whether ``row`` could apply to ``cart`` at all: its scope covers a line (the whole shop covers all).
    Intake locks only these promotions: two orders of unrelated goods never wait for each other."""
    scope = row.scope or {}
    cats, prods, skus = scope.get("categories") or (), scope.get("products") or (), scope.get("skus") or ()
    if not (cats or prods or skus):
        return True
    wanted_cats = with_descendants(cats, categories or {})
    prods, skus = set(prods), {int(s) for s in skus}
    return any(int(ln.sku) in skus or ln.product_id in prods or ln.category_id in wanted_cats for ln in cart.lines)


def category_tree(*, shop: Shop, rows: Iterable[Any]) -> dict[int, frozenset[int]]:
    """{category id: its subcategories' ids, all levels} when a row is scoped to categories (a promotion on a
    category covers its subcategories); empty otherwise (no query)."""
    if not any((r.scope or {}).get("categories") for r in rows):
        return {}
    pairs = tuple(Category.objects.for_shop(shop).order_by("pk").values_list("pk", "parent_id"))
    key = (getattr(shop, "pk", shop), pairs)
    known = _trees.get(key)
    if known is not None:
        return known
    children: dict[int | None, list[int]] = {}
    for pk, parent in pairs:
        children.setdefault(parent, []).append(pk)
    tree: dict[int, frozenset[int]] = {}

    def below(pk: int, seen: frozenset[int]) -> frozenset[int]:
        if pk not in tree:
            found: set[int] = set()
            for child in children.get(pk, ()):
                if child not in seen:  # a cycle cannot be saved, but never loop on one
                    found |= {child} | below(child, seen | {child})
            tree[pk] = frozenset(found)
        return tree[pk]

    for pk in [pk for pks in children.values() for pk in pks]:
        below(pk, frozenset({pk}))
    _trees.put(key, tree)
    return tree


def with_descendants(ids: Iterable[int], tree: dict[int, frozenset[int]]) -> frozenset[int]:
    out = set(ids)
    for pk in list(out):
        out |= tree.get(pk, frozenset())
    return frozenset(out)


def rules_for_quote(
    *, shop: Shop, at: datetime, codes: Iterable[str] = (), buyer: str | None = None,
    promotions: Sequence[Promotion] | None = None, tree: dict[int, frozenset[int]] | None = None,
) -> list[engine.Rule]:  # fmt: skip
    """The engine's rules at ``at`` for ``buyer``, with what is left of each limit and budget. A promotion with
    single-use codes takes the unused code the buyer entered (or cannot apply without one). ``promotions``:
    rows already loaded (intake loads them under lock), else ``quotable_promotions``. Three queries at most (the
    promotions, the single-use codes entered, the category tree when a promotion is scoped to categories)."""
    rows = list(promotions) if promotions is not None else quotable_promotions(shop=shop, at=at, buyer=buyer)
    tree = category_tree(shop=shop, rows=rows) if tree is None else tree
    given = {_norm(c) for c in codes if c and str(c).strip()}
    batch: dict[int, str] = {}
    if given and any(p.has_code_batch for p in rows):
        for promotion_id, code in (
            PromotionCode.objects.for_shop(shop)
            .annotate(norm=Lower("code"))
            .filter(norm__in=given, order__isnull=True, promotion__in=[p.pk for p in rows if p.has_code_batch])
            .values_list("promotion_id", "code")
        ):
            batch.setdefault(promotion_id, code)
    return [_rule_memo(p, batch.get(p.pk), buyer, tree or {}) for p in rows]


def _rule_memo(p: QuoteRow | Promotion, batch_code: str | None, buyer: str | None,
               tree: dict[int, frozenset[int]]) -> engine.Rule:  # fmt: skip
    """``_rule``, built once per process for the same promotion version and the same counters it depends on:
    most promotions have no limit, so their rule is the same for every quote until they are edited."""
    if not isinstance(p, QuoteRow) or p.updated_at is None:
        return _rule(p, batch_code, buyer, tree)
    cats = (p.scope or {}).get("categories")
    key = (
        p.pk, p.updated_at, p.state, batch_code,
        None if p.usage_limit is None else p.used_count,
        None if p.budget is None else p.spent,
        None if p.per_buyer_limit is None or not buyer else p.buyer_uses,
        None if p.gift_sku is None else (p.gift_available >= p.gift_quantity, p.gift_sku.price),
        with_descendants(cats, tree) if cats else None,
    )  # fmt: skip
    rule = _rules.get(key)
    if rule is None:
        rule = _rule(p, batch_code, buyer, tree)
        _rules.put(key, rule)
    return rule


def _rule(p: QuoteRow | Promotion, batch_code: str | None, buyer: str | None,
          tree: dict[int, frozenset[int]] | None = None) -> engine.Rule:  # fmt: skip
    scope = p.scope or {}
    code = batch_code or p.code or None
    if code is None and p.has_code_batch:
        # Needs one of its single-use codes and none was entered (or it is used): a code nobody can type.
        code = f"\x00batch-{p.pk}"
    uses_left = None if p.usage_limit is None else max(0, p.usage_limit - p.used_count)
    budget_left = None if p.budget is None else max(Decimal("0.00"), p.budget - p.spent)
    buyer_left = None
    if p.per_buyer_limit is not None:
        # A buyer the storefront does not name counts as a new buyer (nothing to count against).
        buyer_left = max(0, p.per_buyer_limit - (getattr(p, "buyer_uses", 0) or 0)) if buyer else p.per_buyer_limit
    gift = p.gift_sku
    return engine.Rule(
        key=str(p.pk), kind=p.kind, name=p.name, value=p.value,
        tiers=tuple(engine.Tier(Decimal(str(t["min_spend"])), Decimal(str(t["discount"]))) for t in p.tiers or ()),
        gift_sku=str(gift.pk) if gift is not None else None, gift_quantity=p.gift_quantity,
        gift_price=gift.price if gift is not None else None,
        gift_in_stock=gift is None or (getattr(p, "gift_available", 0) or 0) >= p.gift_quantity,
        trigger_sku=str(p.trigger_sku_id) if p.trigger_sku_id else None,
        buy_quantity=p.buy_quantity, get_quantity=p.get_quantity,
        scope=engine.Scope(
            categories=with_descendants(scope.get("categories") or (), tree or {}),
            products=frozenset(scope.get("products") or ()),
            skus=frozenset(str(s) for s in scope.get("skus") or ()),
        ),
        min_spend=p.min_spend, priority=p.priority, exclusive=p.exclusive, code=code,
        starts_at=p.starts_at, ends_at=p.ends_at,
        # Paused with its limit or budget used up (the guardrail's pause): the quote says that, not "paused".
        paused=p.state == Promotion.State.PAUSED and uses_left != 0 and budget_left != 0,
        uses_left=uses_left, buyer_uses_left=buyer_left, budget_left=budget_left,
    )  # fmt: skip


def used_codes(*, shop: Shop, codes: Iterable[str]) -> set[str]:
    """Of ``codes``, the single-use codes (normalised) that an order has already used. One query."""
    wanted = {_norm(c) for c in codes if c and str(c).strip()}
    if not wanted:
        return set()
    found = (
        PromotionCode.objects.for_shop(shop).annotate(norm=Lower("code"))
        .filter(norm__in=wanted, order__isnull=False).values_list("norm", flat=True)
    )  # fmt: skip
    return set(found)


def skus_by_id(*, shop: Shop, ids: Iterable[int]) -> dict[int, Any]:
    """The shop's SKUs (with their products) by id: the gifts an arriving order gets. One query."""
    return SKU.objects.for_shop(shop).select_related("product").in_bulk(list(set(ids)))


def units_available(*, shop, sku) -> int:
    """Units of ``sku`` available across the shop's warehouses (what a gift can still be given from)."""
    return Stock.objects.for_shop(shop).filter(sku=sku).aggregate(n=Sum("available"))["n"] or 0


# -- the promotion list page and the dashboard card ----------------------------------------------

ENDING_DAYS = 3


def ending_q(now: datetime) -> Q:
    """Running now and ending within ``ENDING_DAYS`` days."""
    return status_q(Promotion.Status.ACTIVE, now) & Q(ends_at__lte=now + timedelta(days=ENDING_DAYS))


def promotion_page_list(*, shop: Shop, actor: Actor, filters: Any = None) -> QuerySet[Promotion]:
    """The core's list (``status``, ``kind``, ``search``) plus ``ending=soon``; a bad value names its filter."""
    filters = filters or {}
    qs = promotion_list(shop=shop, actor=actor, filters=filters)
    if ending := filters.get("ending"):
        if ending != "soon":
            raise ValidationFailed(_("Unknown filter."), fields={"ending": [_("Unknown filter.")]})
        qs = qs.filter(ending_q(timezone.now()))
    return qs


def card_counts(*, shop: Shop, actor: Actor) -> dict[str, int]:
    """The dashboard card's figures in one query: running, ending within 3 days, paused."""
    now = timezone.now()
    qs = promotion_list(shop=shop, actor=actor).order_by()
    return qs.aggregate(
        active=Count("pk", filter=status_q(Promotion.Status.ACTIVE, now)),
        ending=Count("pk", filter=ending_q(now)),
        paused=Count("pk", filter=status_q(Promotion.Status.PAUSED, now)),
    )
