"""What the promotion pages ask of the app's core (promotions.selectors / promotions.services) and of the
catalog, in one place: the views stay thin and never reach past this module.

The scope pickers and names read through the catalog's selectors; the quote preview of an unsaved promotion
runs the core's pricing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.authz import Actor
from backoffice.charts import chart
from backoffice.errors import ValidationFailed
from catalog import selectors as catalog_selectors
from promotions import effect as effects
from promotions import engine, selectors, services
from promotions.models import Promotion

if TYPE_CHECKING:
    from accounts.models import Shop

PRODUCT_CHOICES_MAX = 500

# The engine's reasons (stable codes the API returns) in words.
REASONS = {
    engine.OUTSIDE_WINDOW: gettext_lazy("outside its time window"),
    engine.PAUSED: gettext_lazy("paused"),
    engine.CODE_REQUIRED: gettext_lazy("needs a code"),
    engine.UNKNOWN_CODE: gettext_lazy("unknown code"),
    engine.CODE_USED: gettext_lazy("code already used"),
    engine.MIN_SPEND_NOT_MET: gettext_lazy("minimum spend not met"),
    engine.QUANTITY_NOT_MET: gettext_lazy("not enough units in the cart"),
    engine.LIMIT_REACHED: gettext_lazy("usage limit reached"),
    engine.BUYER_LIMIT_REACHED: gettext_lazy("the buyer's limit is reached"),
    engine.BUDGET_SPENT: gettext_lazy("budget spent"),
    engine.BLOCKED_BY_EXCLUSIVE: gettext_lazy("blocked by an exclusive promotion"),
    engine.NOT_BEST_FOR_BUYER: gettext_lazy("another choice is better for the buyer"),
    engine.GIFT_OUT_OF_STOCK: gettext_lazy("the gift is out of stock"),
    engine.NO_ELIGIBLE_LINES: gettext_lazy("nothing in the cart is in its scope"),
    engine.CAPPED_BY_FLOOR: gettext_lazy("held at the price floor"),
    engine.NOTHING_TO_DISCOUNT: gettext_lazy("nothing left to discount"),
    engine.CAPPED: gettext_lazy("the shop's discount cap is reached"),
}


# ----------------------------------------------------------------------------------------------- reads


def promotion_get(*, shop: Shop, actor: Actor, pk: Any, action: str) -> Promotion | None:
    return selectors.promotion_get(actor=actor, pk=pk, action=action)


def promotion_actions(*, actor: Actor, promotion: Promotion) -> dict[str, bool]:
    """The buttons of the detail page: edit (promotions.manage on this promotion; an ended one is history)
    and the transitions the core allows in its state."""
    ops = selectors.promotion_actions(actor=actor, promotion=promotion)
    return {"edit": selectors.promotion_editable(actor=actor, promotion=promotion),
            **{op: op in ops for op in selectors.TRANSITIONS}}  # fmt: skip


def scope_choices(*, shop: Shop, actor: Actor, keep: Iterable[Any] = ()) -> dict[str, Any]:
    """What the form offers as scope: categories and products the member manages promotions for."""
    categories = catalog_selectors.category_list(shop=shop, actor=actor, action="promotions.manage")
    products = catalog_selectors.product_list(shop=shop, actor=actor, action="promotions.manage")
    first = list(products.order_by("title", "id")[:PRODUCT_CHOICES_MAX])
    kept = {int(k) for k in keep if str(k).isascii() and str(k).isdigit()} - {p.pk for p in first}
    # A large catalog offers its first products by title (SKU codes reach any product), plus those already chosen.
    extra = list(products.filter(pk__in=kept).order_by("title", "id")) if kept else []
    return {"categories": list(categories), "products": extra + first}


def sku_codes(*, shop: Shop, actor: Actor, ids: Iterable[Any]) -> list[str]:
    """The codes of the scope's SKU ids, in the order given (an id that no longer exists is left out)."""
    ids = [int(i) for i in ids if str(i).isdigit()]
    if not ids:
        return []
    found = dict(catalog_selectors.sku_list(shop=shop, actor=actor, action="promotions.manage")
                 .filter(pk__in=ids).values_list("pk", "code"))  # fmt: skip
    return [found[i] for i in ids if i in found]


def scope_names(*, shop: Shop, actor: Actor, scope: dict) -> dict[str, Any]:
    """The scope in words for the detail page (names of what the member may see, else the id)."""
    cats = [int(i) for i in scope.get("categories") or []]
    prods = [int(i) for i in scope.get("products") or []]
    skus = [int(i) for i in scope.get("skus") or [] if str(i).isdigit()]
    cat_names = dict(catalog_selectors.category_list(shop=shop, actor=actor).filter(pk__in=cats)
                     .values_list("pk", "name")) if cats else {}  # fmt: skip
    prod_names = dict(catalog_selectors.product_list(shop=shop, actor=actor).filter(pk__in=prods)
                      .values_list("pk", "title")) if prods else {}  # fmt: skip
    sku_names = dict(catalog_selectors.sku_list(shop=shop, actor=actor).filter(pk__in=skus)
                     .values_list("pk", "code")) if skus else {}  # fmt: skip
    return {
        "whole_shop": not (cats or prods or skus),
        "categories": [cat_names.get(i, f"#{i}") for i in cats],
        "products": [prod_names.get(i, f"#{i}") for i in prods],
        "skus": [sku_names.get(i, f"#{i}") for i in skus],
    }


def promotion_effect(*, actor: Actor, promotion: Promotion) -> dict:
    """The effect card: the snapshot's figures during the promotion and in the same-length period before it,
    the uplift, the daily chart (orders and revenue during, discount given), both periods and when the figures
    were computed. ``rows`` is empty while no order in its scope was placed in either period (the empty state)."""
    got = effects.effect_payload(snapshot=effects.promotion_effect_current(actor=actor, promotion=promotion))
    during, before, up = got["during"], got["before"], got["uplift"]
    out: dict[str, Any] = {"computed_at": got["computed_at"], "rows": [], "before": True, "chart": None,
                           "during_period": during, "before_period": before}  # fmt: skip
    if during is None or not (during["orders"] or before["orders"]):
        return out
    labels = {"orders": _("Orders"), "units": _("Units"), "revenue": _("Revenue"), "discount": _("Discount given"),
              "buyers": _("Buyers"), "average_order_value": _("Average order value")}  # fmt: skip
    keys = {"average_order_value": "aov"}  # the figure's name on the page (tests and styles use it)
    out["rows"] = [(keys.get(k, k), labels[k], _shown(during[k]), _shown(before[k]), up[k]) for k in effects.FIGURES]
    days = got["daily"]
    out["chart"] = chart(
        id="chart-effect", title=_("Orders, revenue and discount per day"), kind="bar", label_heading=_("Day"),
        labels=[d["day"].isoformat() for d in days],
        series=[{"label": _("Orders"), "values": [d["orders"] for d in days]},
                {"label": _("Revenue"), "values": [d["revenue"] for d in days], "axis": "y1"},
                {"label": _("Discount given"), "values": [d["discount"] for d in days], "axis": "y1"}],
    )  # fmt: skip
    return out


def _shown(value: Any) -> Any:
    return "—" if value is None else value


# ----------------------------------------------------------------------------------------------- writes


def promotion_save(*, actor: Actor, promotion: Promotion | None, kind: str, fields: dict) -> Promotion:
    """Create (in draft) or edit through the core's services; SKUs go as the codes typed (the service
    finds them in the shop and names an unknown one by its field)."""
    if promotion is None:
        return services.promotion_create(actor=actor, data={"kind": kind, **fields})
    return services.promotion_update(actor=actor, promotion=promotion, data=fields)


def promotion_transition(*, actor: Actor, promotion: Promotion, op: str) -> Promotion:
    run = {"activate": services.promotion_activate, "pause": services.promotion_pause,
           "end": services.promotion_end}[op]  # fmt: skip
    return run(actor=actor, promotion=promotion)


# --------------------------------------------------------------------------------------------- preview


def preview_quote(*, actor: Actor, kind: str, form, tiers, cart, promotion: Promotion | None,
                  fields_of: Callable) -> dict:  # fmt: skip
    """The engine's quote of the cart, with the promotion as filled in (unsaved) beside the shop's other
    running ones, at the current moment (or at the promotion's start, when that is later). Returns the
    preview template's context: ``quote``, ``applied``, ``not_applied``, ``quoted_at``, ``preview_error``."""
    shop = actor.shop
    if not cart.is_valid():
        return {"preview_error": [_("Check the cart rows.")]}
    rows = [{"sku": ln["sku"].strip(), "quantity": ln.get("quantity") or 1}
            for ln in cart.cleaned_data if ln and (ln.get("sku") or "").strip()]  # fmt: skip
    if not rows:
        return {"preview_error": [_("Enter at least one SKU code.")]}
    if not form.is_valid() or (tiers is not None and not tiers.is_valid()):
        return {"preview_error": [_("Fix the promotion's fields first.")]}
    try:
        draft = _draft(actor=actor, kind=kind, fields=fields_of(form, tiers), promotion=promotion)
        at = max(timezone.now(), draft.starts_at)
        cart_in = selectors.cart_lines(shop=shop, lines=rows)
        others = [p for p in selectors.quotable_promotions(shop=shop, at=at) if p.pk != draft.pk]
        codes = [draft.code] if draft.code else []
        priced = services.price(shop=shop, cart=cart_in, buyer="", codes=codes, at=at, promotions=[*others, draft])
    except ValidationFailed as exc:
        return {"preview_error": [f"{_label(k)}: {' '.join(map(str, v))}" for k, v in exc.fields.items()]
                or [exc.message]}  # fmt: skip
    except ValueError as exc:  # the engine refuses a rule it cannot apply (the form let it through)
        return {"preview_error": [str(exc)]}
    shown = services.quote_display(priced)
    for n in shown["not_applied"]:
        n["text"] = str(REASONS.get(n["reason"], n["reason"]))
    return {"quote": shown, "applied": shown["applied"], "not_applied": shown["not_applied"], "quoted_at": at}


FIELD_LABELS = {"lines": gettext_lazy("Cart"), "scope": gettext_lazy("Applies to")}


def _label(key: str) -> str:
    return str(FIELD_LABELS.get(key.split(".")[0], key))


def _draft(*, actor: Actor, kind: str, fields: dict, promotion: Promotion | None) -> Promotion:
    """An unsaved Promotion with the form's values, SKUs looked up in the shop as the service does, the
    gift's available stock counted (the engine needs it), in force as if activated."""
    shop = actor.shop
    errors: dict[str, list[str]] = {}

    def sku(value, field):
        if not value:
            return None
        found = catalog_selectors.sku_get_by_code_or_id(shop=shop, actor=actor, value=value,
                                                        action="promotions.manage")  # fmt: skip
        if found is None:
            errors[field] = [_("Unknown SKU.")]
        return found

    scope = dict(fields.get("scope") or {})
    scope["skus"] = [s.pk for i, c in enumerate(scope.get("skus") or []) if (s := sku(c, f"skus.{i}"))]
    gift = sku(fields.get("gift_sku"), "gift_sku")
    trigger = sku(fields.get("trigger_sku"), "trigger_sku")
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    draft = Promotion(
        pk=promotion.pk if promotion is not None else 0, shop=shop, kind=kind, name=fields["name"],
        value=fields.get("value"), tiers=[{k: str(v) for k, v in t.items()} for t in fields.get("tiers") or []],
        gift_sku=gift, gift_quantity=fields.get("gift_quantity") or 1, trigger_sku=trigger,
        buy_quantity=(fields.get("buy_quantity") or (1 if trigger else 0)), get_quantity=fields.get("get_quantity") or 0,
        scope=scope, min_spend=fields.get("min_spend"), priority=fields.get("priority") or 0,
        exclusive=bool(fields.get("exclusive")), starts_at=fields["starts_at"], ends_at=fields.get("ends_at"),
        state=Promotion.State.ACTIVE, usage_limit=fields.get("usage_limit"),
        per_buyer_limit=fields.get("per_buyer_limit"), budget=fields.get("budget"),
        used_count=promotion.used_count if promotion is not None else 0,
        spent=promotion.spent if promotion is not None else Decimal("0.00"), code=fields.get("code") or "",
        has_code_batch=promotion.has_code_batch if promotion is not None else False,
    )  # fmt: skip
    if gift is not None:
        draft.gift_available = selectors.units_available(shop=shop, sku=gift)
    return draft
