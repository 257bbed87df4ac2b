"""Products and their SKUs (variants): creation, edits, removal, and moderation.

An approved product whose content changes goes back to review; price, cost and threshold edits do
not. Moderation (approve, reject) is platform work: it takes a system actor (the platform staff
user it acts for is named in the audit entry)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, as_actor, can, in_shop, require
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backoffice.money import parse_money
from catalog import selectors
from catalog.models import SKU, Category, Product, Stock, StockMovement
from catalog.services._common import snapshot
from catalog.services.stock import ADJUSTMENT_REASONS, STOCK_LEVEL_MAX, _locked_stock, _movement, _write, save_movements
from catalog.services.taxonomy import check_category_offered

Status = Product.Status

# The largest low-stock threshold (the column is 32-bit; no shop holds more of one SKU).
THRESHOLD_MAX = 1_000_000_000
SKU_FIELDS = ("code", "barcode", "attributes", "price", "old_price", "cost", "weight", "length", "width", "height",
              "low_stock_threshold")  # fmt: skip

# The characters a SKU code may hold: Latin letters, digits, "-", "_" and ".", starting with a letter or a digit.
# Codes travel through integrations, barcode labels, CSV files and URLs (``?sku=``): a space, a "/" or an emoji
# breaks one of them, a Cyrillic letter that looks Latin makes two codes that read the same, and a code starting
# with "-" or "." reads as a number or a hidden name in a spreadsheet.
SKU_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _too_long(model, name: str, field: str) -> ValidationFailed:
    """Text longer than the column: refused (naming the field), never silently cut."""
    model_field = model._meta.get_field(name)
    message = _("%(field)s: at most %(n)s characters.") % {
        "field": capfirst(model_field.verbose_name),
        "n": model_field.max_length,
    }
    return ValidationFailed(message, fields={field: [message]})


def _text(model, name: str, value: Any, field: str) -> str:
    """``value`` as stripped text that fits ``model.name``, or a ValidationFailed naming ``field``."""
    text = str(value or "").strip()
    if len(text) > model._meta.get_field(name).max_length:
        raise _too_long(model, name, field)
    return text


def _price(value: Any, field: str) -> Decimal:
    """A selling price: an amount of money above zero (a free or negative price is a typo, never a sale)."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        number = None
    if number is not None and number.is_finite() and number <= 0:
        message = _("The price must be more than zero.")
        raise ValidationFailed(message, fields={field: [message]})
    return parse_money(value, field)


def check_old_price(price: Decimal | None, old_price: Decimal | None, field: str) -> None:
    """The old (crossed-out) price is what the buyer is told the item cost before: never below the price."""
    if price is not None and old_price is not None and old_price < price:
        message = _("The old price must not be lower than the price.")
        raise ValidationFailed(message, fields={field: [message]})


def _ensure_cost_allowed(actor: Actor, data: dict[str, Any]) -> None:
    """Only members who may see cost prices may set them."""
    if "cost" in data and data["cost"] is not None and not can(actor, "catalog.view_cost"):
        raise Forbidden(
            _("You may not see or set cost prices."), code="forbidden", fields={"cost": [_("Not allowed.")]}
        )


def clean_sku_data(data: dict[str, Any], prefix: str, *, partial: bool = False) -> dict[str, Any]:
    """The SKU fields in ``data`` checked and normalised (money as Decimal with two places), or a
    ValidationFailed naming each bad field as ``<prefix><field>``."""
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "code" in data or not partial:
        code = str(data.get("code") or "").strip()
        if not code:
            errors[f"{prefix}code"] = [_("This field is required.")]
        elif len(code) > SKU._meta.get_field("code").max_length:
            errors.update(_too_long(SKU, "code", f"{prefix}code").fields)
        elif not SKU_CODE_RE.fullmatch(code):
            errors[f"{prefix}code"] = [
                _("The SKU code may hold only Latin letters, digits, “-”, “_” and “.”, and must start with a "
                  "letter or a digit.")]  # fmt: skip
        out["code"] = code
    if "price" in data or not partial:
        if data.get("price") in (None, ""):
            errors[f"{prefix}price"] = [_("This field is required.")]
        else:
            try:
                out["price"] = _price(data["price"], f"{prefix}price")
            except ValidationFailed as exc:
                errors.update(exc.fields)
    for key in ("old_price", "cost"):
        if key in data:
            try:
                out[key] = parse_money(data[key], f"{prefix}{key}", optional=True)
            except ValidationFailed as exc:
                errors.update(exc.fields)
    if "price" in out and "old_price" in out:
        try:
            check_old_price(out["price"], out["old_price"], f"{prefix}old_price")
        except ValidationFailed as exc:
            errors.update(exc.fields)
    for key in ("weight", "length", "width", "height"):
        if key in data:
            value = data[key]
            if value in (None, ""):
                out[key] = None
                continue
            try:
                number = Decimal(str(value))
                if not number.is_finite() or number < 0 or number >= Decimal("1000000"):
                    raise ValueError
            except Exception:
                errors[f"{prefix}{key}"] = [_("Enter a positive number.")]
                continue
            out[key] = number.quantize(Decimal("0.001") if key == "weight" else Decimal("0.1"))
    if "barcode" in data:
        try:
            out["barcode"] = _text(SKU, "barcode", data["barcode"], f"{prefix}barcode")
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if "attributes" in data:
        try:
            out["attributes"] = clean_attributes(data["attributes"], f"{prefix}attributes")
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if "low_stock_threshold" in data:
        value = data["low_stock_threshold"]
        if value in (None, ""):
            out["low_stock_threshold"] = None
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= THRESHOLD_MAX:
            errors[f"{prefix}low_stock_threshold"] = [_("Enter a whole number from 0 to %(n)s.") % {"n": THRESHOLD_MAX}]
        else:
            out["low_stock_threshold"] = value
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return out


ATTRIBUTES_MAX = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# JSON numbers every client reads exactly (and our JSON renderer writes): past 2**53 they lose digits.
ATTRIBUTE_INT_MAX = 2**53


def clean_attributes(value, field: str) -> dict:
    """Attributes are a flat object: names (text) to text, numbers, yes/no, or lists of those. A NUL or other
    control character, a number no JSON reader keeps exactly, or nesting is refused with the field named."""
    value = value or {}
    message = _("Attributes are names with text, number or yes/no values.")
    if not isinstance(value, dict) or len(value) > ATTRIBUTES_MAX:
        raise ValidationFailed(message, fields={field: [message]})

    def scalar_ok(v) -> bool:
        if v is None or isinstance(v, bool):
            return True
        if isinstance(v, int):
            return -ATTRIBUTE_INT_MAX <= v <= ATTRIBUTE_INT_MAX
        if isinstance(v, float):
            return math.isfinite(v) and abs(v) <= ATTRIBUTE_INT_MAX
        return isinstance(v, str) and len(v) <= 255 and not _CONTROL.search(v)

    for key, v in value.items():
        items = v if isinstance(v, list) else [v]
        if (not isinstance(key, str) or not key.strip() or len(key) > 64 or _CONTROL.search(key)
                or len(items) > ATTRIBUTES_MAX or not all(scalar_ok(i) for i in items)):  # fmt: skip
            raise ValidationFailed(message, fields={field: [f"{str(key)[:64]!r}: {message}"]})
    return value


def _check_codes_free(shop, codes: Sequence[str], *, field_for, exclude_ids: Iterable[int] = ()) -> None:
    seen: set[str] = set()
    errors = {}
    for i, code in enumerate(codes):
        if code in seen:
            errors[field_for(i)] = [_("Repeated SKU code.")]
        seen.add(code)
    taken = set(
        SKU.objects.for_shop(shop).filter(code__in=list(seen)).exclude(pk__in=list(exclude_ids))
        .values_list("code", flat=True)
    )  # fmt: skip
    for i, code in enumerate(codes):
        if code in taken:
            errors[field_for(i)] = [_("A SKU with this code exists in this shop.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)


def _clean_product_data(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    out = {}
    if "title" in data or creating:
        title = str(data.get("title") or "").strip()
        if not title:
            raise ValidationFailed(_("Give the product a title."), fields={"title": [_("This field is required.")]})
        out["title"] = _text(Product, "title", title, "title")
    if "description" in data:
        out["description"] = str(data["description"] or "")
    if "brand" in data:
        out["brand"] = _text(Product, "brand", data["brand"], "brand")
    if "attributes" in data:
        out["attributes"] = clean_attributes(data["attributes"], "attributes")
    if "category" in data:
        out["category"] = data["category"]
    if "ref" in data:
        out["ref"] = _text(Product, "ref", data["ref"], "ref")
    return out


def product_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    brand: str = "",
    category: Category | None = None,
    attributes: dict | None = None,
    skus: Sequence[dict[str, Any]] = (),
    ref: str = "",
) -> Product:
    """A new draft product with its SKUs (variants), in one go: at least one, since a product is sold
    (stocked, ordered, submitted for review) only through its variants."""
    require(actor, "catalog.edit")
    shop = actor.shop
    in_shop(actor, category)
    # Its category must lie in the actor's scope: checked before the input, so a member learns nothing
    # about a place they may not write to from its validation messages.
    require(actor, "catalog.edit", Product(shop=shop, category=category))
    data = _clean_product_data(
        {"title": title, "description": description, "brand": brand, "category": category,
         "attributes": attributes or {}, "ref": ref}, creating=True,
    )  # fmt: skip
    check_category_offered(category)
    if not skus:
        message = _("At least one SKU is required.")
        raise ValidationFailed(message, code="no_skus", fields={"skus": [message]})
    cleaned = [clean_sku_data(s, f"skus.{i}.") for i, s in enumerate(skus)]
    for c in cleaned:
        _ensure_cost_allowed(actor, c)
    product = Product(shop=shop, **data)
    require(actor, "catalog.edit", product)
    try:
        with transaction.atomic():
            _check_codes_free(shop, [c["code"] for c in cleaned], field_for=lambda i: f"skus.{i}.code")
            product.save()
            SKU.objects.for_shop(shop).bulk_create([SKU(shop=shop, product=product, **c) for c in cleaned])
            audit_record(
                shop=shop, actor=actor, action="product.created", target=product,
                changes={**diff({}, snapshot(product, Product.CONTENT_FIELDS)),
                         "skus": [None, [c["code"] for c in cleaned]]},
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(_("A SKU code was taken at the same moment; try again."), code="sku_code_taken")
    return product


def content_changed_back_to_review(product: Product) -> bool:
    """An approved product whose content changed goes back to review (in memory; the caller saves)."""
    if product.status == Status.APPROVED:
        product.status = Status.PENDING_REVIEW
        product.submitted_at = timezone.now()
        return True
    return False


def product_update(*, actor: Actor, product: Product, **fields) -> Product:
    """Edit a product's content. On an approved product this sends it back to review."""
    require(actor, "catalog.edit", product)
    shop = actor.shop
    data = _clean_product_data(fields, creating=False)
    in_shop(actor, data.get("category"))
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
        require(actor, "catalog.edit", product)
        if "category" in data:  # a product keeps a category that was deactivated later, but gets no new inactive one
            check_category_offered(data["category"], current_id=product.category_id)
        before = {**snapshot(product, Product.CONTENT_FIELDS), "status": product.status}
        for key, value in data.items():
            setattr(product, key, value)
        require(actor, "catalog.edit", product)  # a new category must lie in the actor's scope too
        if diff(before, {**snapshot(product, Product.CONTENT_FIELDS), "status": product.status}):
            content_changed_back_to_review(product)
            product.save()
            changed = diff(before, {**snapshot(product, Product.CONTENT_FIELDS), "status": product.status})
            audit_record(shop=shop, actor=actor, action="product.updated", target=product, changes=changed)
    return product


def sku_create(*, actor: Actor, product: Product, **fields) -> SKU:
    require(actor, "catalog.edit", product)
    shop = actor.shop
    data = clean_sku_data(fields, "")
    _ensure_cost_allowed(actor, data)
    try:
        with transaction.atomic():
            product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
            require(actor, "catalog.edit", product)
            if product.status == Status.ARCHIVED:
                raise Conflict(_("Restore the product before adding variants."), code="invalid_transition")
            _check_codes_free(shop, [data["code"]], field_for=lambda i: "code")
            sku = SKU.objects.for_shop(shop).create(shop=shop, product=product, **data)
            changes = diff({}, {k: getattr(sku, k) for k in data})
            if content_changed_back_to_review(product):
                product.save(update_fields=["status", "submitted_at", "updated_at"])
                changes["product_status"] = [Status.APPROVED, Status.PENDING_REVIEW]
            audit_record(shop=shop, actor=actor, action="sku.created", target=sku, changes=changes)
    except IntegrityError:
        raise Conflict(_("A SKU code was taken at the same moment; try again."), code="sku_code_taken")
    return sku


def sku_delete(*, actor: Actor, sku: SKU) -> None:
    """Remove a variant added by mistake. Refused for a product's last variant (archive the product
    instead), while the variant holds stock, and once it has a stock history or orders, which must stay
    readable (then archive the product)."""
    require(actor, "catalog.edit", sku)
    shop = actor.shop
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=sku.product_id)
        sku = SKU.objects.for_shop(shop).select_for_update().get(pk=sku.pk)
        require(actor, "catalog.edit", sku)
        if SKU.objects.for_shop(shop).filter(product_id=product.pk).count() == 1:
            raise Conflict(_("A product keeps at least one variant: archive the product instead."),
                           code="last_variant")  # fmt: skip
        if Stock.objects.for_shop(shop).filter(sku_id=sku.pk).exclude(on_hand=0, reserved=0).exists():
            raise Conflict(_("This variant still has stock: write it off first."), code="sku_has_stock")
        try:
            with transaction.atomic():
                audit_record(shop=shop, actor=actor, action="sku.deleted", target=sku,
                             changes=diff({k: getattr(sku, k) for k in SKU_FIELDS}, {}))  # fmt: skip
                Stock.objects.for_shop(shop).filter(sku_id=sku.pk).delete()
                sku.delete()
        except ProtectedError:
            raise Conflict(
                _("This variant has a stock history or orders, which must stay readable: archive the product instead."),
                code="sku_in_use",
            ) from None


def sku_update(*, actor: Actor, sku: SKU, **fields) -> SKU:
    """Edit a SKU. Price, cost and threshold edits keep the product's status; content edits send an
    approved product back to review."""
    require(actor, "catalog.edit", sku)
    shop = actor.shop
    data = clean_sku_data(fields, "", partial=True)
    if "cost" in data and not can(actor, "catalog.view_cost"):
        raise Forbidden(
            _("You may not see or set cost prices."), code="forbidden", fields={"cost": [_("Not allowed.")]}
        )
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=sku.product_id)
        sku = SKU.objects.for_shop(shop).select_for_update().get(pk=sku.pk)
        require(actor, "catalog.edit", sku)
        if "code" in data and data["code"] != sku.code:
            _check_codes_free(shop, [data["code"]], field_for=lambda i: "code", exclude_ids=[sku.pk])
        if "price" in data or "old_price" in data:
            # The rule holds for the SKU as it will be: a new price checked against the old price it keeps.
            check_old_price(data.get("price", sku.price), data.get("old_price", sku.old_price),
                            "old_price" if "old_price" in data else "price")  # fmt: skip
        before = {k: getattr(sku, k) for k in SKU_FIELDS}
        for key, value in data.items():
            setattr(sku, key, value)
        changes = diff(before, {k: getattr(sku, k) for k in SKU_FIELDS})
        if not changes:
            return sku
        if "code" in changes:
            try:
                with transaction.atomic():
                    sku.save()
            except IntegrityError:
                raise Conflict(_("A SKU code was taken at the same moment; try again."), code="sku_code_taken")
        else:
            sku.save()
        if set(changes) & set(SKU.CONTENT_FIELDS) and content_changed_back_to_review(product):
            product.save(update_fields=["status", "submitted_at", "updated_at"])
            changes["product_status"] = [Status.APPROVED, Status.PENDING_REVIEW]
        audit_record(shop=shop, actor=actor, action="sku.updated", target=sku, changes=changes)
    return sku


def product_edit(
    *, actor: Actor, product: Product, fields: dict[str, Any], variants: Sequence[dict[str, Any]]
) -> Product:
    """The product form: content fields plus its variants (``id`` set: edit that SKU; no ``id``: a new one),
    all or nothing. Field errors name the variant as ``variants.<i>.<field>``."""
    require(actor, "catalog.edit", product)
    with transaction.atomic():
        product = product_update(actor=actor, product=product, **fields)
        existing = {s.pk: s for s in SKU.objects.for_shop(actor.shop).filter(product=product)}
        for i, variant in enumerate(variants):
            data = {k: v for k, v in variant.items() if k != "id"}
            try:
                if variant.get("id"):
                    sku = existing.get(variant["id"])
                    if sku is None:
                        raise NotFound(_("Not a variant of this product."))
                    if not can(actor, "catalog.view_cost"):
                        data.pop("cost", None)
                    sku_update(actor=actor, sku=sku, **data)
                else:
                    sku_create(actor=actor, product=product, **data)
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, code=exc.code,
                                       fields={f"variants.{i}.{k}": v for k, v in exc.fields.items()}) from exc  # fmt: skip
        product.refresh_from_db()
    return product


# ---------------------------------------------------------------------------------------------
# moderation


def _transition(*, actor: Actor, product: Product, allowed_from: set[str], to: str, action: str, **extra) -> Product:
    with transaction.atomic():
        product = Product.objects.for_shop(actor.shop).select_for_update().get(pk=product.pk)
        require(actor, "catalog.publish", product)
        if product.status not in allowed_from:
            raise Conflict(
                _("A product in status “%(status)s” cannot go to “%(to)s”.") % {"status": product.status, "to": to},
                code="invalid_transition",
            )
        before = {"status": product.status, **{k: getattr(product, k) for k in extra}}
        product.status = to
        for key, value in extra.items():
            setattr(product, key, value)
        product.save()
        audit_record(shop=actor.shop, actor=actor, action=action, target=product,
                     changes=diff(before, {"status": to, **extra}))  # fmt: skip
    return product


def product_submit(*, actor: Actor, product: Product) -> Product:
    """draft | rejected → pending_review. The product needs at least one SKU."""
    require(actor, "catalog.publish", product)
    if not SKU.objects.for_shop(actor.shop).filter(product_id=product.pk).exists():
        raise ValidationFailed(_("Add at least one variant (SKU) before submitting."), code="no_skus",
                               fields={"skus": [_("At least one SKU is required.")]})  # fmt: skip
    return _transition(
        actor=actor, product=product, allowed_from={Status.DRAFT, Status.REJECTED}, to=Status.PENDING_REVIEW,
        action="product.submitted", submitted_at=timezone.now(), rejection_reason="",
    )  # fmt: skip


def product_archive(*, actor: Actor, product: Product) -> Product:
    """Delist: any status but archived → archived."""
    require(actor, "catalog.publish", product)
    return _transition(
        actor=actor, product=product, to=Status.ARCHIVED, action="product.archived",
        allowed_from={Status.DRAFT, Status.PENDING_REVIEW, Status.APPROVED, Status.REJECTED},
    )  # fmt: skip


def product_unarchive(*, actor: Actor, product: Product) -> Product:
    """archived → draft."""
    require(actor, "catalog.publish", product)
    return _transition(
        actor=actor, product=product, allowed_from={Status.ARCHIVED}, to=Status.DRAFT, action="product.unarchived",
    )  # fmt: skip


def _require_platform(actor: Actor, product: Product) -> None:
    """Moderation is the marketplace's decision: only platform code (a system actor acting for a
    platform staff user, checked at the edge: the admin, ``IsPlatformStaff``) may make it."""
    require(actor, "catalog.publish", product)
    if not actor.is_system:
        raise Forbidden(_("Only platform staff moderate products."))


def product_approve(*, actor: Actor, product: Product) -> Product:
    """Platform staff: pending_review → approved (``actor=system_actor(shop, user=staff_user)``)."""
    _require_platform(actor, product)
    return _transition(
        actor=actor, product=product, allowed_from={Status.PENDING_REVIEW}, to=Status.APPROVED,
        action="product.approved", reviewed_at=timezone.now(), reviewed_by=actor.audit_user, rejection_reason="",
    )  # fmt: skip


def product_reject(*, actor: Actor, product: Product, reason: str) -> Product:
    """Platform staff: pending_review → rejected, with the reason the seller sees."""
    _require_platform(actor, product)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the product is rejected."), fields={"reason": [_("This field is required.")]})
    return _transition(
        actor=actor, product=product, allowed_from={Status.PENDING_REVIEW}, to=Status.REJECTED,
        action="product.rejected", reviewed_at=timezone.now(), reviewed_by=actor.audit_user, rejection_reason=reason,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# bulk price and stock edit


# The most SKUs one bulk edit may change: a page of a list, with room to spare; more is a file import.
BULK_MAX = 200
PRICE_OPS = ("set", "percent", "amount")
OLD_PRICE_OPS = ("set", "clear")
STOCK_OPS = ("set", "add")
# A percent change: down to just above -100 % (a price stays above zero), up to +1000 %.
PERCENT_MIN, PERCENT_MAX = Decimal("-99.99"), Decimal("1000")


@dataclass(frozen=True)
class PriceChange:
    """What a bulk edit does to prices: ``op`` "set" (``value`` is the price), "percent" (``value`` % up or
    down) or "amount" (``value`` added, negative to lower), or "" to keep them; ``old_op`` "set" (``old_value``)
    or "clear" the crossed-out price, or "" to keep it."""

    op: str = ""
    value: Any = None
    old_op: str = ""
    old_value: Any = None


@dataclass(frozen=True)
class StockChange:
    """What a bulk edit does to stock at one warehouse: ``op`` "set" the on-hand level to ``quantity`` (a
    count) or "add" ``quantity`` units (negative to take away) for ``reason``."""

    op: str
    warehouse: Any
    quantity: Any
    reason: str = "count"
    note: str = ""


def _clean_price_change(change: PriceChange) -> PriceChange:
    """The change's numbers checked (400 naming ``price_value`` / ``old_price_value``)."""
    errors: dict[str, list[str]] = {}
    value = old_value = None
    if change.op not in ("", *PRICE_OPS):
        errors["price_op"] = [_("Choose one of: %(r)s") % {"r": ", ".join(PRICE_OPS)}]
    elif change.op == "set":
        try:
            value = _price(change.value, "price_value")
        except ValidationFailed as exc:
            errors.update(exc.fields)
    elif change.op in ("percent", "amount"):
        try:
            value = Decimal(str(change.value).strip())
            if not value.is_finite() or value == 0:
                raise ValueError
        except (InvalidOperation, ValueError, TypeError):
            errors["price_value"] = [_("Enter a non-zero number.")]
        else:
            if change.op == "percent" and not PERCENT_MIN <= value <= PERCENT_MAX:
                errors["price_value"] = [_("Enter a percentage from %(lo)s to %(hi)s.") % {"lo": PERCENT_MIN,
                                                                                          "hi": PERCENT_MAX}]  # fmt: skip
            elif change.op == "amount":
                try:
                    value = (-1 if value < 0 else 1) * parse_money(abs(value), "price_value")
                except ValidationFailed as exc:
                    errors.update(exc.fields)
    if change.old_op not in ("", *OLD_PRICE_OPS):
        errors["old_price_op"] = [_("Choose one of: %(r)s") % {"r": ", ".join(OLD_PRICE_OPS)}]
    elif change.old_op == "set":
        try:
            old_value = parse_money(change.old_value, "old_price_value", positive=True)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if not errors and not change.op and not change.old_op:
        errors["price_op"] = [_("Choose what to change.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return PriceChange(op=change.op, value=value, old_op=change.old_op, old_value=old_value)


def _new_price(price: Decimal, change: PriceChange) -> Decimal:
    if change.op == "set":
        return change.value
    if change.op == "percent":
        return (price * (100 + change.value) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if change.op == "amount":
        return price + change.value
    return price


def _clean_stock_change(actor: Actor, change: StockChange) -> StockChange:
    errors: dict[str, list[str]] = {}
    if change.op not in STOCK_OPS:
        errors["stock_op"] = [_("Choose one of: %(r)s") % {"r": ", ".join(STOCK_OPS)}]
    quantity = change.quantity
    if not isinstance(quantity, int) or isinstance(quantity, bool) or abs(quantity) > STOCK_LEVEL_MAX:
        errors["quantity"] = [_("Give a whole number from %(lo)s to %(hi)s.") % {"lo": -STOCK_LEVEL_MAX,
                                                                               "hi": STOCK_LEVEL_MAX}]  # fmt: skip
    elif change.op == "set" and quantity < 0:
        errors["quantity"] = [_("Must not be negative.")]
    elif change.op == "add" and quantity == 0:
        errors["quantity"] = [_("A non-zero whole number.")]
    reason = "count" if change.op == "set" else change.reason
    if change.op == "add" and reason not in ADJUSTMENT_REASONS:
        errors["reason"] = [_("Choose one of: %(r)s") % {"r": ", ".join(ADJUSTMENT_REASONS)}]
    elif (change.op == "add" and ADJUSTMENT_REASONS[reason] in (StockMovement.Kind.RECEIPT, StockMovement.Kind.RETURN)
          and isinstance(quantity, int) and quantity < 0):  # fmt: skip
        errors["quantity"] = [_("A receipt or return adds stock.")]
    if change.warehouse is None:
        errors["warehouse"] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    in_shop(actor, change.warehouse)
    require(actor, "catalog.manage_stock", change.warehouse)
    if not change.warehouse.is_active:
        raise Conflict(_("This warehouse is closed."), code="warehouse_inactive",
                       fields={"warehouse": [_("This warehouse is closed.")]})  # fmt: skip
    return StockChange(op=change.op, warehouse=change.warehouse, quantity=quantity, reason=reason,
                       note=str(change.note or "")[:255])  # fmt: skip


def _bulk_skus(actor: Actor, sku_ids: Sequence[int], actions: Sequence[str], *, lock: bool) -> list[SKU]:
    """The selected SKUs, in id order, checked for every action (``selectors.sku_bulk_selection``: an unknown
    id is a 404, a SKU outside the member's scope a 403, never a silent skip); locked when ``lock``."""
    ids = list(dict.fromkeys(sku_ids))
    if not ids:
        message = _("Select at least one SKU.")
        raise ValidationFailed(message, fields={"skus": [message]})
    if len(ids) > BULK_MAX:
        message = _("At most %(n)s SKUs at a time.") % {"n": BULK_MAX}
        raise ValidationFailed(message, fields={"skus": [message]})
    for action in actions:
        require(actor, action)
    skus = selectors.sku_bulk_selection(shop=actor.shop, actor=actor, ids=ids, actions=actions)
    if lock:
        # Re-read under the lock (in id order, as every stock change locks): the values the plan starts from.
        skus = list(SKU.objects.for_shop(actor.shop).filter(pk__in=[s.pk for s in skus])
                    .select_related("product").select_for_update(of=("self",)).order_by("id"))  # fmt: skip
    return skus


def _bulk_plan(actor: Actor, skus: list[SKU], price: PriceChange | None, stock: StockChange | None,
               levels: dict[int, Stock]) -> list[dict[str, Any]]:  # fmt: skip
    """Each SKU's values before and after, or a ValidationFailed naming every SKU the change cannot apply to
    (all or nothing)."""
    rows: list[dict[str, Any]] = []
    problems: dict[str, list[str]] = {}
    for sku in skus:
        row: dict[str, Any] = {"sku": sku, "price": [sku.price, sku.price], "old_price": [sku.old_price, sku.old_price]}
        if price is not None:
            new_price = _new_price(sku.price, price)
            new_old = {"set": price.old_value, "clear": None}.get(price.old_op, sku.old_price)
            row["price"][1], row["old_price"][1] = new_price, new_old
            if new_price <= 0:
                problems.setdefault(sku.code, []).append(_("The price must be more than zero."))
            elif new_price >= Decimal("10000000000"):
                problems.setdefault(sku.code, []).append(_("The price is too large."))
            elif new_old is not None and new_old < new_price:
                problems.setdefault(sku.code, []).append(_("The old price must not be lower than the price."))
        if stock is not None:
            level = levels.get(sku.pk)
            on_hand, reserved = (level.on_hand, level.reserved) if level is not None else (0, 0)
            after = stock.quantity if stock.op == "set" else on_hand + stock.quantity
            row.update(warehouse=stock.warehouse, on_hand=[on_hand, after], reserved=reserved)
            if after < reserved:
                problems.setdefault(sku.code, []).append(
                    _("%(n)s units are reserved: on hand cannot go below that.") % {"n": reserved})  # fmt: skip
            elif after > STOCK_LEVEL_MAX:
                problems.setdefault(sku.code, []).append(
                    _("At most %(n)s units of a SKU per warehouse.") % {"n": STOCK_LEVEL_MAX})  # fmt: skip
        rows.append(row)
    if problems:
        lines = [f"{code}: {' '.join(msgs)}" for code, msgs in problems.items()]
        message = _("Nothing was changed. %(problems)s") % {"problems": "; ".join(lines[:10])}
        raise ValidationFailed(message, code="bulk_invalid", fields={f"skus.{code}": m for code, m in problems.items()})
    return rows


def _bulk_actions(actor: Actor, price: PriceChange | None, stock: StockChange | None) -> list[str]:
    """The actions the change needs, each checked (before the input: a member without them learns nothing)."""
    as_actor(actor)
    if price is None and stock is None:
        raise ValidationFailed(_("Choose what to change."), fields={"price_op": [_("Choose what to change.")]})
    actions = [a for a, part in (("catalog.edit", price), ("catalog.manage_stock", stock)) if part is not None]
    for action in actions:
        require(actor, action)
    return actions


def sku_bulk_plan(*, actor: Actor, sku_ids: Sequence[int], price: PriceChange | None = None,
                  stock: StockChange | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """What ``sku_bulk_edit`` would do, changing nothing (the confirmation step): one row per SKU,
    ``{"sku", "price": [before, after], "old_price": [...], "on_hand": [...], "reserved", "warehouse"}`` (the
    stock keys with a stock change only). The same checks and refusals as the edit itself."""
    actions = _bulk_actions(actor, price, stock)
    price = _clean_price_change(price) if price is not None else None
    stock = _clean_stock_change(actor, stock) if stock is not None else None
    skus = _bulk_skus(actor, sku_ids, actions, lock=False)
    levels = {}
    if stock is not None:
        levels = {s.sku_id: s for s in Stock.objects.for_shop(actor.shop).filter(
            sku_id__in=[s.pk for s in skus], warehouse_id=stock.warehouse.pk)}  # fmt: skip
    return _bulk_plan(actor, skus, price, stock, levels)


def sku_bulk_edit(*, actor: Actor, sku_ids: Sequence[int], price: PriceChange | None = None,
                  stock: StockChange | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Change the price (set, by a percentage or by an amount; the old price set, cleared or kept) and/or the
    stock at one warehouse (set or add/subtract) of the selected SKUs, in one transaction: every SKU or none.

    Prices need ``catalog.edit`` and stock ``catalog.manage_stock`` on every SKU (and the warehouse): an unknown
    id is a 404, a SKU outside the member's scope a 403, a SKU the change cannot apply to (price not above zero,
    old price below the price, stock below what is reserved) a 400 naming each such SKU. Price edits keep the
    product's status (prices are no content). Each changed SKU gets an audit entry (``sku.updated``), each
    changed stock row a movement and an audit entry, as single edits do. Returns the rows of ``sku_bulk_plan``."""
    actions = _bulk_actions(actor, price, stock)
    price = _clean_price_change(price) if price is not None else None
    stock = _clean_stock_change(actor, stock) if stock is not None else None
    shop = actor.shop
    with transaction.atomic():
        # SKUs first, then their stock rows, each in id order: the lock order every stock change keeps.
        skus = _bulk_skus(actor, sku_ids, actions, lock=True)
        levels = {}
        if stock is not None:
            levels = {s.pk: _locked_stock(shop, s.pk, stock.warehouse.pk) for s in skus}
        rows = _bulk_plan(actor, skus, price, stock, levels)
        movements = []
        for row in rows:
            sku = row["sku"]
            if price is not None and (row["price"][0] != row["price"][1] or row["old_price"][0] != row["old_price"][1]):
                before = {"price": sku.price, "old_price": sku.old_price}
                sku.price, sku.old_price = row["price"][1], row["old_price"][1]
                sku.save(update_fields=["price", "old_price", "updated_at"])
                # Recorded as a single edit records it, so the audit log reads the same sentence either way.
                audit_record(shop=shop, actor=actor, action="sku.updated", target=sku,
                             changes=diff(before, {"price": sku.price, "old_price": sku.old_price}))  # fmt: skip
            if stock is not None and row["on_hand"][0] != row["on_hand"][1]:
                level = levels[sku.pk]
                before_on_hand, after = row["on_hand"]
                _write(level, on_hand=after, reserved=level.reserved)
                kind = ADJUSTMENT_REASONS[stock.reason]
                movements.append(_movement(level, kind=kind, actor=actor, on_hand_delta=after - before_on_hand,
                                           reason=stock.reason, note=stock.note))  # fmt: skip
                audit_record(shop=shop, actor=actor, action=f"stock.{kind}", target=level,
                             changes={"on_hand": [before_on_hand, after], "reason": [None, stock.reason]})  # fmt: skip
        save_movements(shop, movements)
    return rows
