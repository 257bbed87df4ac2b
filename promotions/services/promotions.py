"""Promotions: create, edit, activate, pause, end; the shop's cap and per-SKU price floors.

Serializers and forms check shape; the meaning is checked here, each problem named by its field (400):
tiers that do not go up, a percentage outside (0, 100], a window that ends before it starts, a gift SKU that
is not the shop's, a code another promotion uses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from backoffice.money import parse_money
from backoffice.parsing import parse_day_or_moment, parse_ids, parse_int
from catalog import selectors as catalog_selectors
from promotions.models import PriceFloor, Promotion, PromotionCode, PromotionSettings
from promotions.selectors import TRANSITIONS, scope_within_actor

MANAGE = "promotions.manage"
Kind = Promotion.Kind
# The fields an edit may change and the audit trail compares.
FIELDS = (
    "name", "kind", "value", "tiers", "gift_sku_id", "gift_quantity", "trigger_sku_id", "buy_quantity",
    "get_quantity", "scope", "min_spend", "priority", "exclusive", "starts_at", "ends_at", "usage_limit",
    "per_buyer_limit", "budget", "code",
)  # fmt: skip
MAX_CODE = 64
_Category = None


def _fields_of(p: Promotion) -> dict[str, Any]:
    return {f: getattr(p, f) for f in FIELDS}


def _fail(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)


def _catch(errors: dict, field: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationFailed as exc:
        errors.update(exc.fields or {field: [exc.message]})
        return None


def _sku(actor: Actor, value: Any, field: str, errors: dict):
    """A SKU of the actor's shop by code or id; another shop's reads as unknown (400 on ``field``)."""
    if value in (None, ""):
        return None
    sku = catalog_selectors.sku_get_by_code_or_id(shop=actor.shop, actor=actor, value=value, action=MANAGE)
    if sku is None:
        errors[field] = [_("Unknown SKU.")]
    return sku


def _scope(actor: Actor, value: Any, errors: dict) -> dict[str, list[int]]:
    """``{"categories", "products", "skus"}`` ids (SKUs also by code), each checked against the shop."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or set(value) - {"categories", "products", "skus"}:
        errors["scope"] = [_("Give categories, products and/or skus.")]
        return {}
    out: dict[str, list[int]] = {}
    SKU = Promotion._meta.get_field("gift_sku").related_model
    Product = SKU._meta.get_field("product").related_model
    Category = Product._meta.get_field("category").related_model
    for key, model in (("categories", Category), ("products", Product)):
        ids = _catch(errors, f"scope.{key}", parse_ids, value.get(key), f"scope.{key}", limit=500) or []
        if ids:
            found = set(model.objects.for_shop(actor.shop).filter(pk__in=ids).values_list("pk", flat=True))
            if missing := [i for i in ids if i not in found]:
                errors[f"scope.{key}"] = [
                    _("Unknown %(name)s.") % {"name": model._meta.verbose_name} + f" {missing[0]}"
                ]
            out[key] = ids
    skus = value.get("skus") or []
    if not isinstance(skus, (list, tuple)) or len(skus) > 500:
        errors["scope.skus"] = [_("Give a list of SKU codes or ids.")]
        skus = []
    sku_ids = []
    for i, item in enumerate(skus):
        sku = _sku(actor, item, f"scope.skus.{i}", errors)
        if sku is not None:
            sku_ids.append(sku.pk)
    if sku_ids:
        out["skus"] = list(dict.fromkeys(sku_ids))
    return {k: v for k, v in out.items() if v}


def _tiers(value: Any, errors: dict) -> list[dict[str, str]]:
    if not isinstance(value, (list, tuple)) or not value:
        errors["tiers"] = [_("Give at least one tier.")]
        return []
    tiers = []
    for i, tier in enumerate(value):
        tier = tier if isinstance(tier, dict) else {}
        least = _catch(errors, f"tiers.{i}.min_spend", parse_money, tier.get("min_spend"), f"tiers.{i}.min_spend")
        off = _catch(errors, f"tiers.{i}.discount", parse_money, tier.get("discount"), f"tiers.{i}.discount",
                     positive=True)  # fmt: skip
        if least is None or off is None:
            continue
        if tiers and (least <= Decimal(tiers[-1]["min_spend"]) or off <= Decimal(tiers[-1]["discount"])):
            errors[f"tiers.{i}"] = [_("Tiers must go up: each a higher minimum spend and a larger discount.")]
        tiers.append({"min_spend": str(least), "discount": str(off)})
    return tiers


def _percent(value: Any, field: str, errors: dict, *, optional: bool = False) -> Decimal | None:
    message = _("A percentage above 0 and at most 100.")
    if optional and value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except Exception:  # noqa: BLE001 - any unreadable value is the same 400
        number = None
    if (
        number is None
        or not number.is_finite()
        or not (0 < number <= 100)
        or number != number.quantize(Decimal("0.01"))
    ):
        errors[field] = [message]
        return None
    return number.quantize(Decimal("0.01"))


def _clean(actor: Actor, data: dict[str, Any], *, instance: Promotion | None = None) -> dict[str, Any]:
    """The promotion's fields from ``data`` (an edit: ``instance``'s values for what ``data`` leaves out)."""
    base = _fields_of(instance) if instance is not None else {}
    get = lambda key, default=None: data.get(key, base.get(key, default))  # noqa: E731
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    name = str(get("name") or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 200:
        errors["name"] = [_("At most %(n)s characters.") % {"n": 200}]
    out["name"] = name
    kind = get("kind")
    if kind not in Kind.values:
        errors["kind"] = [_("Choose one of: %(v)s") % {"v": ", ".join(Kind.values)}]
    out["kind"] = kind
    out.update(value=None, tiers=[], gift_sku=None, gift_quantity=1, trigger_sku=None, buy_quantity=0,
               get_quantity=0)  # fmt: skip
    if kind == Kind.PERCENT_OFF:
        out["value"] = _percent(get("value"), "value", errors)
    elif kind == Kind.AMOUNT_OFF:
        out["value"] = _catch(errors, "value", parse_money, get("value"), "value", positive=True)
    elif kind == Kind.BUY_X_GET_Y:
        out["buy_quantity"] = _catch(errors, "buy_quantity", parse_int, get("buy_quantity"), "buy_quantity",
                                     minimum=1, maximum=1000)  # fmt: skip
        out["get_quantity"] = _catch(errors, "get_quantity", parse_int, get("get_quantity"), "get_quantity",
                                     minimum=1, maximum=1000)  # fmt: skip
        out["value"] = _percent(get("value"), "value", errors, optional=True)
    elif kind == Kind.SPEND_THRESHOLD:
        out["tiers"] = _tiers(get("tiers"), errors)
    elif kind == Kind.GIFT_WITH_PURCHASE:
        gift = data.get("gift_sku", base.get("gift_sku_id"))
        out["gift_sku"] = _sku(actor, gift, "gift_sku", errors)
        if gift in (None, ""):
            errors["gift_sku"] = [_("This field is required.")]
        out["gift_quantity"] = _catch(errors, "gift_quantity", parse_int, get("gift_quantity", 1), "gift_quantity",
                                      minimum=1, maximum=1000)  # fmt: skip
        trigger = data.get("trigger_sku", base.get("trigger_sku_id"))
        out["trigger_sku"] = _sku(actor, trigger, "trigger_sku", errors)
        if trigger not in (None, ""):
            out["buy_quantity"] = _catch(errors, "buy_quantity", parse_int, get("buy_quantity", 1) or 1,
                                         "buy_quantity", minimum=1, maximum=1000)  # fmt: skip
    out["scope"] = _scope(actor, data["scope"], errors) if "scope" in data else base.get("scope", {})
    out["min_spend"] = _catch(errors, "min_spend", parse_money, get("min_spend"), "min_spend", optional=True)
    out["budget"] = _catch(errors, "budget", parse_money, get("budget"), "budget", optional=True)
    out["priority"] = _catch(errors, "priority", parse_int, get("priority", 0) or 0, "priority",
                             minimum=-1000, maximum=1000)  # fmt: skip
    exclusive = get("exclusive", False)
    if not isinstance(exclusive, bool):
        errors["exclusive"] = [_("Give true or false.")]
    out["exclusive"] = bool(exclusive)
    for key in ("usage_limit", "per_buyer_limit"):
        raw = get(key)
        out[key] = None if raw in (None, "") else _catch(errors, key, parse_int, raw, key, minimum=1, maximum=10**9)
    starts = get("starts_at")
    out["starts_at"] = _catch(errors, "starts_at", parse_day_or_moment, starts, "starts_at") if not hasattr(
        starts, "tzinfo") else starts  # fmt: skip
    if out["starts_at"] is None and "starts_at" not in errors:
        errors["starts_at"] = [_("This field is required.")]
    ends = get("ends_at")
    out["ends_at"] = ends if hasattr(ends, "tzinfo") else _catch(errors, "ends_at", parse_day_or_moment, ends,
                                                                  "ends_at", end_of_day=True)  # fmt: skip
    if out["starts_at"] and out["ends_at"] and out["ends_at"] <= out["starts_at"]:
        errors["ends_at"] = [_("The end must be after the start.")]
    if instance is not None:
        # Usage and budget already consumed stay consumed: a limit cannot go below them.
        if out["usage_limit"] is not None and out["usage_limit"] < instance.used_count:
            errors["usage_limit"] = [_("Must be at least %(n)s.") % {"n": instance.used_count}]
        if out["budget"] is not None and out["budget"] < instance.spent:
            errors["budget"] = [_("Must be at least %(n)s.") % {"n": instance.spent}]
    code = str(get("code") or "").strip()
    if len(code) > MAX_CODE or any(c.isspace() for c in code):
        errors["code"] = [_("Up to %(n)s characters, without spaces.") % {"n": MAX_CODE}]
    elif code and _code_taken(actor.shop, code, exclude=instance.pk if instance else None):
        errors["code"] = [_("Another promotion of the shop uses this code.")]
    out["code"] = code
    _fail(errors)
    return out


def _require_scope(actor: Actor, scope: dict | None) -> None:
    """A member limited to categories manages only promotions that lie wholly in them (the rest is read-only)."""
    if not scope_within_actor(actor=actor, scope=scope):
        raise Forbidden(_("This is outside your scope."), code="out_of_scope")


def _code_taken(shop, code: str, *, exclude: int | None = None) -> bool:
    norm = code.casefold()
    shared = Promotion.objects.for_shop(shop).annotate(c=Lower("code")).filter(c=norm)
    if exclude:
        shared = shared.exclude(pk=exclude)
    return shared.exists() or PromotionCode.objects.for_shop(shop).annotate(c=Lower("code")).filter(c=norm).exists()


def promotion_create(*, actor: Actor, data: dict[str, Any]) -> Promotion:
    """A new promotion, in ``draft`` (``promotion_activate`` puts it in force)."""
    require(actor, MANAGE)
    fields = _clean(actor, data)
    _require_scope(actor, fields["scope"])
    try:
        with transaction.atomic():
            promotion = Promotion.objects.for_shop(actor.shop).create(shop=actor.shop, **fields)
            audit_record(shop=actor.shop, actor=actor, action="promotion.created", target=promotion,
                         changes=diff({}, _fields_of(promotion)))  # fmt: skip
    except IntegrityError:
        raise ValidationFailed(_("Another promotion of the shop uses this code."),
                               fields={"code": [_("Another promotion of the shop uses this code.")]}) from None  # fmt: skip
    return promotion


def promotion_update(*, actor: Actor, promotion: Promotion, data: dict[str, Any]) -> Promotion:
    """Edit a promotion that has not ended. Orders already taken keep the promotion as it was (a snapshot)."""
    require(actor, MANAGE, promotion)
    with transaction.atomic():
        promotion = Promotion.objects.for_shop(actor.shop).select_for_update().get(pk=promotion.pk)
        if promotion.state == Promotion.State.ENDED:
            raise Conflict(_("An ended promotion cannot be changed."), code="promotion_ended")
        _require_scope(actor, promotion.scope)
        before = _fields_of(promotion)
        fields = _clean(actor, data, instance=promotion)
        _require_scope(actor, fields["scope"])
        for key, value in fields.items():
            setattr(promotion, key, value)
        try:
            with transaction.atomic():
                promotion.save()
        except IntegrityError:
            raise ValidationFailed(_("Another promotion of the shop uses this code."),
                                   fields={"code": [_("Another promotion of the shop uses this code.")]}) from None  # fmt: skip
        audit_record(shop=actor.shop, actor=actor, action="promotion.updated", target=promotion,
                     changes=diff(before, _fields_of(promotion)))  # fmt: skip
    return promotion


def _transition(actor: Actor, promotion: Promotion, name: str, to_state: str, *, reason: str = "") -> Promotion:
    require(actor, MANAGE, promotion)
    with transaction.atomic():
        promotion = Promotion.objects.for_shop(actor.shop).select_for_update().get(pk=promotion.pk)
        _require_scope(actor, promotion.scope)
        if promotion.state not in TRANSITIONS[name]:
            raise Conflict(
                _("A promotion in state “%(state)s” cannot do this.") % {"state": promotion.get_state_display()},
                code="invalid_transition",
            )
        before = promotion.state
        promotion.state = to_state
        promotion.paused_reason = reason
        if to_state == Promotion.State.ENDED and (promotion.ends_at is None or promotion.ends_at > timezone.now()):
            now = timezone.now()
            promotion.ends_at = max(now, promotion.starts_at + timezone.timedelta(microseconds=1))
        promotion.save(update_fields=["state", "paused_reason", "ends_at", "updated_at"])
        audit_record(shop=actor.shop, actor=actor, action=f"promotion.{name}d" if name != "end" else "promotion.ended",
                     target=promotion, changes={"state": [before, to_state]})  # fmt: skip
    return promotion


def promotion_activate(*, actor: Actor, promotion: Promotion) -> Promotion:
    """Draft or paused → active (``status`` reads ``scheduled`` until its start)."""
    return _transition(actor, promotion, "activate", Promotion.State.ACTIVE)


def promotion_pause(*, actor: Actor, promotion: Promotion, reason: str = "") -> Promotion:
    return _transition(actor, promotion, "pause", Promotion.State.PAUSED, reason=reason)


def promotion_end(*, actor: Actor, promotion: Promotion) -> Promotion:
    """Ends it now (final); orders keep what they got."""
    return _transition(actor, promotion, "end", Promotion.State.ENDED)


def settings_update(*, actor: Actor, max_discount_percent: Any) -> PromotionSettings:
    """The shop's per-order cap on the total discount, in percent of the list subtotal ("" or None: no cap)."""
    require(actor, MANAGE)
    if actor.scopes.get("category") is not None:  # a shop-wide setting: not for a member limited to categories
        raise Forbidden(_("This is outside your scope."), code="out_of_scope")
    errors: dict[str, list[str]] = {}
    cap = None
    if max_discount_percent not in (None, ""):
        cap = _percent(max_discount_percent, "max_discount_percent", errors)
    _fail(errors)
    with transaction.atomic():
        row, _created = (
            PromotionSettings.objects.for_shop(actor.shop).select_for_update().get_or_create(shop=actor.shop)
        )
        before = row.max_discount_percent
        row.max_discount_percent = cap
        row.save()
        audit_record(shop=actor.shop, actor=actor, action="promotion_settings.updated", target=row,
                     changes=diff({"max_discount_percent": before}, {"max_discount_percent": cap}))  # fmt: skip
    return row


def price_floor_set(*, actor: Actor, sku: Any, min_price: Any) -> PriceFloor | None:
    """A SKU's minimum net price under promotions ("" or None removes it: the cost applies again)."""
    require(actor, MANAGE)
    errors: dict[str, list[str]] = {}
    found = _sku(actor, sku, "sku", errors)
    price = _catch(errors, "min_price", parse_money, min_price, "min_price", optional=True)
    _fail(errors)
    with transaction.atomic():
        qs = PriceFloor.objects.for_shop(actor.shop).filter(sku=found)
        before = qs.values_list("min_price", flat=True).first()
        if price is None:
            qs.delete()
            row = None
        else:
            row, _created = PriceFloor.objects.for_shop(actor.shop).update_or_create(
                shop=actor.shop, sku=found, defaults={"min_price": price}
            )
        audit_record(shop=actor.shop, actor=actor, action="price_floor.updated", target=found,
                     changes=diff({"min_price": before}, {"min_price": price}))  # fmt: skip
    return row


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
MAX_BATCH = 10000


def promotion_codes_generate(*, actor: Actor, promotion: Promotion, count: Any, prefix: str = "") -> int:
    """Add ``count`` single-use codes (``PREFIX-XXXXXXXXXX``) to ``promotion``; from then on it applies only with
    one of them (or its shared code). Returns how many were made."""
    import secrets

    require(actor, MANAGE, promotion)
    errors: dict[str, list[str]] = {}
    count = _catch(errors, "count", parse_int, count, "count", minimum=1, maximum=MAX_BATCH)
    prefix = str(prefix or "").strip().upper()
    if len(prefix) > 16 or not all(c.isascii() and (c.isalnum() or c == "-") for c in prefix):
        errors["prefix"] = [_("Up to %(n)s letters, digits or dashes.") % {"n": 16}]
    _fail(errors)
    with transaction.atomic():
        promotion = Promotion.objects.for_shop(actor.shop).select_for_update().get(pk=promotion.pk)
        _require_scope(actor, promotion.scope)
        if promotion.state == Promotion.State.ENDED:
            raise Conflict(_("An ended promotion cannot be changed."), code="promotion_ended")
        head = f"{prefix}-" if prefix else ""
        made: set[str] = set()
        while len(made) < count:
            wanted = {
                head + "".join(secrets.choice(CODE_ALPHABET) for _i in range(10)) for _j in range(count - len(made))
            }
            taken = set(
                PromotionCode.objects.for_shop(actor.shop).filter(code__in=wanted).values_list("code", flat=True)
            ) | set(Promotion.objects.for_shop(actor.shop).filter(code__in=wanted).values_list("code", flat=True))
            made |= wanted - taken
        PromotionCode.objects.for_shop(actor.shop).bulk_create(
            [PromotionCode(shop=actor.shop, promotion=promotion, code=c) for c in sorted(made)]
        )
        if not promotion.has_code_batch:
            promotion.has_code_batch = True
            promotion.save(update_fields=["has_code_batch", "updated_at"])
        audit_record(shop=actor.shop, actor=actor, action="promotion.codes_generated", target=promotion,
                     changes={"codes": [None, count]})  # fmt: skip
    return count


def promotion_codes_exported(*, actor: Actor, promotion: Promotion, file_format: str, status: str | None) -> None:
    """Record that ``actor`` downloaded ``promotion``'s single-use codes (``status``: ``unused``/``used``, None for
    all): each code is money to whoever holds it, so who took a copy, and when, is in the audit log. Called once
    the download's input is valid, before its first byte."""
    require(actor, MANAGE, promotion)
    _require_scope(actor, promotion.scope)
    audit_record(shop=actor.shop, actor=actor, action="promotion.codes_exported", target=promotion,
                 changes={"format": [None, file_format], "status": [None, status or "all"]})  # fmt: skip
