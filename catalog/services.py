"""Writes for the catalog: one use case per function, one transaction each, one audit entry each.

Stock changes lock the stock rows they touch (``SELECT ... FOR UPDATE``, always in id order so
concurrent reservations cannot deadlock) and the database check constraints
(``0 ≤ reserved ≤ on_hand``) back the rule that available stock is never negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, ProtectedError, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can, restrict
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from catalog.models import (
    SKU,
    Category,
    LowStockAlert,
    Product,
    Stock,
    StockMovement,
    Warehouse,
)

Status = Product.Status
Kind = StockMovement.Kind

# reason given with a manual stock change → the movement kind it records
ADJUSTMENT_REASONS: dict[str, str] = {
    "receipt": Kind.RECEIPT,
    "return": Kind.RETURN,
    "correction": Kind.ADJUSTMENT,
    "count": Kind.ADJUSTMENT,
    "damage": Kind.ADJUSTMENT,
    "loss": Kind.ADJUSTMENT,
    "other": Kind.ADJUSTMENT,
}
ADJUSTMENT_REASON_CODES = list(ADJUSTMENT_REASONS)


# ---------------------------------------------------------------------------------------------
# helpers


def _ensure_same_shop(shop, *objs) -> None:
    for obj in objs:
        if obj is not None and obj.shop_id != shop.pk:
            raise NotFound(_("Not found."))


def _ensure_scope(actor: Actor | None, action: str, obj) -> None:
    """The object must lie inside the actor's per-object scope (warehouses, categories)."""
    if isinstance(actor, Actor) and not can(actor, action, obj):
        raise Forbidden(_("This object is outside your scope."), code="out_of_scope")


def _user(actor):
    user = getattr(actor, "user", actor)
    return user if getattr(user, "pk", None) else None


def _money(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except Exception:
        raise ValidationFailed(_("Enter a number."), fields={field: [_("Enter a number.")]})
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed(_("Must not be negative."), fields={field: [_("Must not be negative.")]})
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("10000000000"):
        raise ValidationFailed(_("Use at most 2 decimal places."), fields={field: [_("Use at most 2 decimal places.")]})
    return amount


def _ensure_cost_allowed(actor, data: dict[str, Any]) -> None:
    """Only members who may see cost prices may set them."""
    if isinstance(actor, Actor) and data.get("cost") is not None and not can(actor, "catalog.view_cost"):
        raise Forbidden(
            _("You may not see or set cost prices."), code="forbidden", fields={"cost": [_("Not allowed.")]}
        )


def _snapshot(obj, fields: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(obj, f"{name}_id") if name in ("category", "product") else getattr(obj, name)
        out[name] = value
    return out


# ---------------------------------------------------------------------------------------------
# categories and warehouses


def category_create(*, actor: Actor, name: str, parent: Category | None = None) -> Category:
    shop = actor.shop
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the category a name."), fields={"name": [_("This field is required.")]})
    with transaction.atomic():
        if parent is not None:
            _ensure_same_shop(shop, parent)
        if Category.objects.for_shop(shop).filter(parent=parent, name=name).exists():
            raise ValidationFailed(_("A category with this name exists here."), fields={"name": [_("Already exists.")]})
        category = Category.objects.for_shop(shop).create(shop=shop, name=name, parent=parent)
        audit_record(shop=shop, actor=actor, action="category.created", target=category,
                     changes=diff({}, {"name": name, "parent": parent}))  # fmt: skip
    return category


def category_update(*, actor: Actor, category: Category, name: str | None = None, parent=...) -> Category:
    shop = actor.shop
    _ensure_same_shop(shop, category)
    with transaction.atomic():
        category = Category.objects.for_shop(shop).select_for_update().get(pk=category.pk)
        before = {"name": category.name, "parent": category.parent_id}
        if name is not None:
            if not name.strip():
                raise ValidationFailed(_("Give the category a name."), fields={"name": [_("This field is required.")]})
            category.name = name.strip()
        if parent is not ...:
            if parent is not None:
                _ensure_same_shop(shop, parent)
                node = parent
                while node is not None:
                    if node.pk == category.pk:
                        raise ValidationFailed(
                            _("A category cannot sit under itself."), fields={"parent": [_("Cycle.")]}
                        )
                    node = node.parent
            category.parent = parent
        if (
            Category.objects.for_shop(shop)
            .filter(parent_id=category.parent_id, name=category.name)
            .exclude(pk=category.pk)
            .exists()
        ):
            raise ValidationFailed(_("A category with this name exists here."), fields={"name": [_("Already exists.")]})
        category.save()
        after = {"name": category.name, "parent": category.parent_id}
        audit_record(shop=shop, actor=actor, action="category.updated", target=category, changes=diff(before, after))
    return category


def warehouse_create(*, actor: Actor, name: str, code: str, address: str = "") -> Warehouse:
    shop = actor.shop
    with transaction.atomic():
        if Warehouse.objects.for_shop(shop).filter(code=code).exists():
            raise ValidationFailed(_("This code is taken."), fields={"code": [_("A warehouse with this code exists.")]})
        warehouse = Warehouse.objects.for_shop(shop).create(shop=shop, name=name, code=code, address=address)
        audit_record(shop=shop, actor=actor, action="warehouse.created", target=warehouse,
                     changes=diff({}, {"name": name, "code": code, "address": address}))  # fmt: skip
    return warehouse


def warehouse_update(*, actor: Actor, warehouse: Warehouse, **fields) -> Warehouse:
    shop = actor.shop
    _ensure_same_shop(shop, warehouse)
    allowed = {"name", "code", "address", "is_active"}
    with transaction.atomic():
        warehouse = Warehouse.objects.for_shop(shop).select_for_update().get(pk=warehouse.pk)
        before = _snapshot(warehouse, allowed)
        for key, value in fields.items():
            if key in allowed:
                setattr(warehouse, key, value)
        if Warehouse.objects.for_shop(shop).filter(code=warehouse.code).exclude(pk=warehouse.pk).exists():
            raise ValidationFailed(_("This code is taken."), fields={"code": [_("A warehouse with this code exists.")]})
        warehouse.save()
        audit_record(shop=shop, actor=actor, action="warehouse.updated", target=warehouse,
                     changes=diff(before, _snapshot(warehouse, allowed)))  # fmt: skip
    return warehouse


# ---------------------------------------------------------------------------------------------
# products and SKUs

SKU_FIELDS = ("code", "barcode", "attributes", "price", "old_price", "cost", "weight", "length", "width", "height",
              "low_stock_threshold")  # fmt: skip


def _clean_sku_data(data: dict[str, Any], prefix: str, *, partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "code" in data or not partial:
        code = str(data.get("code") or "").strip()
        if not code:
            errors[f"{prefix}code"] = [_("This field is required.")]
        elif len(code) > 64:
            errors[f"{prefix}code"] = [_("At most 64 characters.")]
        out["code"] = code
    if "price" in data or not partial:
        if data.get("price") in (None, ""):
            errors[f"{prefix}price"] = [_("This field is required.")]
        else:
            try:
                out["price"] = _money(data["price"], f"{prefix}price")
            except ValidationFailed as exc:
                errors.update(exc.fields)
    for key in ("old_price", "cost"):
        if key in data:
            try:
                out[key] = _money(data[key], f"{prefix}{key}")
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
        out["barcode"] = str(data["barcode"] or "").strip()[:64]
    if "attributes" in data:
        if not isinstance(data["attributes"] or {}, dict):
            errors[f"{prefix}attributes"] = [_("Give attributes as an object.")]
        out["attributes"] = data["attributes"] or {}
    if "low_stock_threshold" in data:
        value = data["low_stock_threshold"]
        if value in (None, ""):
            out["low_stock_threshold"] = None
        elif not isinstance(value, int) or value < 0:
            errors[f"{prefix}low_stock_threshold"] = [_("Enter a whole number, 0 or more.")]
        else:
            out["low_stock_threshold"] = value
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return out


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
        out["title"] = title[:255]
    for key in ("description", "brand"):
        if key in data:
            out[key] = str(data[key] or "")
    if "brand" in out:
        out["brand"] = out["brand"][:120]
    if "attributes" in data:
        if not isinstance(data["attributes"] or {}, dict):
            raise ValidationFailed(_("Give attributes as an object."), fields={"attributes": [_("Not an object.")]})
        out["attributes"] = data["attributes"] or {}
    if "category" in data:
        out["category"] = data["category"]
    if "ref" in data:
        out["ref"] = str(data["ref"] or "")[:64]
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
    """A new draft product with its SKUs (variants), in one go."""
    shop = actor.shop
    data = _clean_product_data(
        {"title": title, "description": description, "brand": brand, "category": category,
         "attributes": attributes or {}, "ref": ref}, creating=True,
    )  # fmt: skip
    cleaned = [_clean_sku_data(s, f"skus.{i}.") for i, s in enumerate(skus)]
    for c in cleaned:
        _ensure_cost_allowed(actor, c)
    if category is not None:
        _ensure_same_shop(shop, category)
    product = Product(shop=shop, **data)
    _ensure_scope(actor, "catalog.edit", product)
    try:
        with transaction.atomic():
            _check_codes_free(shop, [c["code"] for c in cleaned], field_for=lambda i: f"skus.{i}.code")
            product.save()
            SKU.objects.for_shop(shop).bulk_create([SKU(shop=shop, product=product, **c) for c in cleaned])
            audit_record(
                shop=shop, actor=actor, action="product.created", target=product,
                changes={**diff({}, _snapshot(product, Product.CONTENT_FIELDS)),
                         "skus": [None, [c["code"] for c in cleaned]]},
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(_("A SKU code was taken at the same moment; try again."), code="sku_code_taken")
    return product


def _content_changed_back_to_review(product: Product) -> bool:
    """An approved product whose content changed goes back to review (in memory; the caller saves)."""
    if product.status == Status.APPROVED:
        product.status = Status.PENDING_REVIEW
        product.submitted_at = timezone.now()
        return True
    return False


def product_update(*, actor: Actor, product: Product, **fields) -> Product:
    """Edit a product's content. On an approved product this sends it back to review."""
    shop = actor.shop
    _ensure_same_shop(shop, product)
    data = _clean_product_data(fields, creating=False)
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
        _ensure_scope(actor, "catalog.edit", product)
        if data.get("category") is not None:
            _ensure_same_shop(shop, data["category"])
        before = {**_snapshot(product, Product.CONTENT_FIELDS), "status": product.status}
        for key, value in data.items():
            setattr(product, key, value)
        _ensure_scope(actor, "catalog.edit", product)
        if diff(before, {**_snapshot(product, Product.CONTENT_FIELDS), "status": product.status}):
            _content_changed_back_to_review(product)
            product.save()
            changed = diff(before, {**_snapshot(product, Product.CONTENT_FIELDS), "status": product.status})
            audit_record(shop=shop, actor=actor, action="product.updated", target=product, changes=changed)
    return product


def sku_create(*, actor: Actor, product: Product, **fields) -> SKU:
    shop = actor.shop
    _ensure_same_shop(shop, product)
    data = _clean_sku_data(fields, "")
    _ensure_cost_allowed(actor, data)
    try:
        with transaction.atomic():
            product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
            _ensure_scope(actor, "catalog.edit", product)
            if product.status == Status.ARCHIVED:
                raise Conflict(_("Restore the product before adding variants."), code="invalid_transition")
            _check_codes_free(shop, [data["code"]], field_for=lambda i: "code")
            sku = SKU.objects.for_shop(shop).create(shop=shop, product=product, **data)
            changes = diff({}, {k: getattr(sku, k) for k in data})
            if _content_changed_back_to_review(product):
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
    shop = actor.shop
    _ensure_same_shop(shop, sku)
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=sku.product_id)
        sku = SKU.objects.for_shop(shop).select_for_update().get(pk=sku.pk)
        _ensure_scope(actor, "catalog.edit", sku)
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
    shop = actor.shop
    _ensure_same_shop(shop, sku)
    data = _clean_sku_data(fields, "", partial=True)
    if "cost" in data and isinstance(actor, Actor) and not can(actor, "catalog.view_cost"):
        raise Forbidden(
            _("You may not see or set cost prices."), code="forbidden", fields={"cost": [_("Not allowed.")]}
        )
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=sku.product_id)
        sku = SKU.objects.for_shop(shop).select_for_update().get(pk=sku.pk)
        _ensure_scope(actor, "catalog.edit", sku)
        if "code" in data and data["code"] != sku.code:
            _check_codes_free(shop, [data["code"]], field_for=lambda i: "code", exclude_ids=[sku.pk])
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
        if set(changes) & set(SKU.CONTENT_FIELDS) and _content_changed_back_to_review(product):
            product.save(update_fields=["status", "submitted_at", "updated_at"])
            changes["product_status"] = [Status.APPROVED, Status.PENDING_REVIEW]
        audit_record(shop=shop, actor=actor, action="sku.updated", target=sku, changes=changes)
    return sku


def product_edit(
    *, actor: Actor, product: Product, fields: dict[str, Any], variants: Sequence[dict[str, Any]]
) -> Product:
    """The product form: content fields plus its variants (``id`` set: edit that SKU; no ``id``: a new one),
    all or nothing. Field errors name the variant as ``variants.<i>.<field>``."""
    _ensure_same_shop(actor.shop, product)
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
                    if "catalog.view_cost" not in getattr(actor, "permissions", ()):
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


def _transition(*, shop, actor, product: Product, allowed_from: set[str], to: str, action: str, scope_action: str | None,
                **extra) -> Product:  # fmt: skip
    _ensure_same_shop(shop, product)
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
        if scope_action:
            _ensure_scope(actor, scope_action, product)
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
        audit_record(shop=shop, actor=actor, action=action, target=product,
                     changes=diff(before, {"status": to, **extra}))  # fmt: skip
    return product


def product_submit(*, actor: Actor, product: Product) -> Product:
    """draft | rejected → pending_review. The product needs at least one SKU."""
    if not SKU.objects.for_shop(actor.shop).filter(product_id=product.pk).exists():
        raise ValidationFailed(_("Add at least one variant (SKU) before submitting."), code="no_skus",
                               fields={"skus": [_("At least one SKU is required.")]})  # fmt: skip
    return _transition(
        shop=actor.shop, actor=actor, product=product, allowed_from={Status.DRAFT, Status.REJECTED},
        to=Status.PENDING_REVIEW, action="product.submitted", scope_action="catalog.publish",
        submitted_at=timezone.now(), rejection_reason="",
    )  # fmt: skip


def product_archive(*, actor: Actor, product: Product) -> Product:
    """Delist: any status but archived → archived."""
    return _transition(
        shop=actor.shop, actor=actor, product=product, to=Status.ARCHIVED, action="product.archived",
        allowed_from={Status.DRAFT, Status.PENDING_REVIEW, Status.APPROVED, Status.REJECTED},
        scope_action="catalog.publish",
    )  # fmt: skip


def product_unarchive(*, actor: Actor, product: Product) -> Product:
    """archived → draft."""
    return _transition(
        shop=actor.shop, actor=actor, product=product, allowed_from={Status.ARCHIVED}, to=Status.DRAFT,
        action="product.unarchived", scope_action="catalog.publish",
    )  # fmt: skip


def _require_staff(user) -> None:
    if not (user is not None and user.is_active and user.is_staff):
        raise Forbidden(_("Only platform staff moderate products."))


def product_approve(*, user, product: Product) -> Product:
    """Platform staff: pending_review → approved."""
    _require_staff(user)
    return _transition(
        shop=product.shop, actor=user, product=product, allowed_from={Status.PENDING_REVIEW}, to=Status.APPROVED,
        action="product.approved", scope_action=None, reviewed_at=timezone.now(), reviewed_by=user,
        rejection_reason="",
    )  # fmt: skip


def product_reject(*, user, product: Product, reason: str) -> Product:
    """Platform staff: pending_review → rejected, with the reason the seller sees."""
    _require_staff(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the product is rejected."), fields={"reason": [_("This field is required.")]})
    return _transition(
        shop=product.shop, actor=user, product=product, allowed_from={Status.PENDING_REVIEW}, to=Status.REJECTED,
        action="product.rejected", scope_action=None, reviewed_at=timezone.now(), reviewed_by=user,
        rejection_reason=reason,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# stock


def _locked_stock(shop, sku_id: int, warehouse_id: int) -> Stock:
    """The stock row for (sku, warehouse), created when missing, locked for this transaction."""
    qs = Stock.objects.for_shop(shop).select_for_update()
    stock = qs.filter(sku_id=sku_id, warehouse_id=warehouse_id).first()
    if stock is None:
        # INSERT ... ON CONFLICT DO NOTHING: a concurrent first receipt cannot fail us.
        Stock.objects.for_shop(shop).bulk_create(
            [Stock(shop=shop, sku_id=sku_id, warehouse_id=warehouse_id)], ignore_conflicts=True
        )
        stock = qs.get(sku_id=sku_id, warehouse_id=warehouse_id)
    return stock


def _write(stock: Stock, *, on_hand: int, reserved: int) -> None:
    Stock.objects.for_shop(stock.shop_id).filter(pk=stock.pk).update(
        on_hand=on_hand, reserved=reserved, updated_at=timezone.now()
    )
    stock.on_hand, stock.reserved, stock.available = on_hand, reserved, on_hand - reserved


def _movement(stock: Stock, *, kind: str, actor, on_hand_delta: int = 0, reserved_delta: int = 0, reason: str = "",
              note: str = "", reference: str = "") -> StockMovement:  # fmt: skip
    return StockMovement(
        shop_id=stock.shop_id, sku_id=stock.sku_id, warehouse_id=stock.warehouse_id, kind=kind,
        on_hand_delta=on_hand_delta, reserved_delta=reserved_delta, on_hand_after=stock.on_hand,
        reserved_after=stock.reserved, reason=reason, note=note[:255], reference=reference[:64], actor=_user(actor),
    )  # fmt: skip


def stock_adjust(
    *,
    actor: Actor | None,
    sku: SKU,
    warehouse: Warehouse,
    delta: int,
    reason: str,
    note: str = "",
    reference: str = "",
    shop=None,
) -> StockMovement:
    """Receive, return or adjust stock on hand by ``delta`` units (a reason is required).

    Taking stock away never takes it below what is reserved: that answers 409 and changes nothing."""
    shop = shop or actor.shop
    _ensure_same_shop(shop, sku, warehouse)
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationFailed(
            _("Choose a reason."), fields={"reason": [_("Choose one of: %(r)s") % {"r": ", ".join(ADJUSTMENT_REASONS)}]}
        )
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise ValidationFailed(_("Give a non-zero whole number."), fields={"delta": [_("A non-zero whole number.")]})
    kind = ADJUSTMENT_REASONS[reason]
    if kind in (Kind.RECEIPT, Kind.RETURN) and delta < 0:
        raise ValidationFailed(_("A receipt or return adds stock."), fields={"delta": [_("Must be positive.")]})
    if not warehouse.is_active:
        raise Conflict(_("This warehouse is closed."), code="warehouse_inactive")
    with transaction.atomic():
        stock = _locked_stock(shop, sku.pk, warehouse.pk)
        _ensure_scope(actor, "catalog.manage_stock", stock)
        new_on_hand = stock.on_hand + delta
        if new_on_hand < stock.reserved:
            message = _("Only %(n)s units are available to take away.") % {"n": stock.on_hand - stock.reserved}
            raise Conflict(message, code="insufficient_stock", fields={"delta": [message]})
        before = {"on_hand": stock.on_hand, "reserved": stock.reserved}
        _write(stock, on_hand=new_on_hand, reserved=stock.reserved)
        movement = _movement(stock, kind=kind, actor=actor, on_hand_delta=delta, reason=reason, note=note,
                             reference=reference)  # fmt: skip
        movement.save()
        audit_record(shop=shop, actor=actor, action=f"stock.{kind}", target=stock,
                     changes={**diff(before, {"on_hand": stock.on_hand, "reserved": stock.reserved}),
                              "reason": [None, reason]})  # fmt: skip
    return movement


def stock_set_level(*, actor: Actor | None, sku: SKU, warehouse: Warehouse, on_hand: int, note: str = "",
                    reference: str = "", shop=None) -> StockMovement | None:  # fmt: skip
    """Set the counted on-hand level (stock import, inventory count); None when it already matches."""
    shop = shop or actor.shop
    _ensure_same_shop(shop, sku, warehouse)
    if not isinstance(on_hand, int) or on_hand < 0:
        raise ValidationFailed(_("Give a whole number, 0 or more."), fields={"on_hand": [_("0 or more.")]})
    with transaction.atomic():
        stock = _locked_stock(shop, sku.pk, warehouse.pk)
        _ensure_scope(actor, "catalog.manage_stock", stock)
        if stock.on_hand == on_hand:
            return None
        if on_hand < stock.reserved:
            raise Conflict(_("%(n)s units are reserved: on hand cannot go below that.") % {"n": stock.reserved},
                           code="insufficient_stock", fields={"on_hand": [_("At least %(n)s.") % {"n": stock.reserved}]})  # fmt: skip
        before = {"on_hand": stock.on_hand}
        delta = on_hand - stock.on_hand
        _write(stock, on_hand=on_hand, reserved=stock.reserved)
        movement = _movement(stock, kind=Kind.ADJUSTMENT, actor=actor, on_hand_delta=delta, reason="count",
                             note=note, reference=reference)  # fmt: skip
        movement.save()
        audit_record(shop=shop, actor=actor, action="stock.adjustment", target=stock,
                     changes={**diff(before, {"on_hand": on_hand}), "reason": [None, "count"]})  # fmt: skip
    return movement


def _lines_stock(shop, lines: Sequence[dict]) -> dict[tuple[int, int], Stock]:
    """Lock every stock row of the SKUs in ``lines`` (all warehouses), in id order: no deadlocks."""
    sku_ids = sorted({line["sku"].pk for line in lines})
    rows = Stock.objects.for_shop(shop).select_for_update().filter(sku_id__in=sku_ids).order_by("id")
    return {(s.sku_id, s.warehouse_id): s for s in rows}


def _clean_lines(shop, lines: Sequence[dict]) -> None:
    if not lines:
        raise ValidationFailed(_("Give at least one line."), fields={"lines": [_("Empty.")]})
    for i, line in enumerate(lines):
        _ensure_same_shop(shop, line["sku"], line.get("warehouse"))
        q = line.get("quantity")
        if not isinstance(q, int) or isinstance(q, bool) or q <= 0:
            raise ValidationFailed(_("Quantities are positive whole numbers."),
                                   fields={f"lines.{i}.quantity": [_("Must be positive.")]})  # fmt: skip


def stock_reserve(*, actor, lines: Sequence[dict], reference: str = "", shop=None) -> list[dict]:
    """Reserve every line or none: ``lines`` are ``{"sku": SKU, "quantity": n, "warehouse": Warehouse | None}``
    (no warehouse: the one with the most available stock that can cover the line).

    Returns the allocations ``[{"sku": id, "warehouse": id, "quantity": n}]`` to release or ship later.
    A line that cannot be covered answers 409 ``out_of_stock`` and nothing is reserved."""
    shop = shop or actor.shop
    _clean_lines(shop, lines)
    with transaction.atomic():
        rows = _lines_stock(shop, lines)
        planned: dict[tuple[int, int], int] = {}
        allocations: list[dict] = []
        short: dict[str, list[str]] = {}
        for i, line in enumerate(lines):
            sku, qty, wh = line["sku"], line["quantity"], line.get("warehouse")
            candidates = (
                [rows.get((sku.pk, wh.pk))]
                if wh is not None
                else sorted((s for (k, _w), s in rows.items() if k == sku.pk), key=lambda s: (-s.available, s.pk))
            )
            chosen = None
            for stock in candidates:
                if stock is not None and stock.available - planned.get((stock.sku_id, stock.warehouse_id), 0) >= qty:
                    chosen = stock
                    break
            if chosen is None:
                short[f"lines.{i}.quantity"] = [_("Not enough stock of %(sku)s.") % {"sku": sku.code}]
                continue
            key = (chosen.sku_id, chosen.warehouse_id)
            planned[key] = planned.get(key, 0) + qty
            allocations.append({"sku": chosen.sku_id, "warehouse": chosen.warehouse_id, "quantity": qty})
        if short:
            raise Conflict(
                _("Not enough stock for every line; nothing was reserved."), code="out_of_stock", fields=short
            )
        movements = []
        for key, qty in planned.items():
            stock = rows[key]
            _write(stock, on_hand=stock.on_hand, reserved=stock.reserved + qty)
            movements.append(_movement(stock, kind=Kind.RESERVATION, actor=actor, reserved_delta=qty,
                                       reference=reference))  # fmt: skip
        StockMovement.objects.for_shop(shop).bulk_create(movements)
        audit_record(shop=shop, actor=actor, action="stock.reserved", target=shop,
                     changes={"allocations": [None, allocations], "reference": [None, reference]})  # fmt: skip
    return allocations


def _apply_allocations(*, shop, actor, allocations: Sequence[dict], reference: str, kind: str, action: str) -> None:
    if not allocations:
        raise ValidationFailed(_("Give at least one allocation."), fields={"allocations": [_("Empty.")]})
    with transaction.atomic():
        sku_ids = sorted({a["sku"] for a in allocations})
        rows = {
            (s.sku_id, s.warehouse_id): s
            for s in Stock.objects.for_shop(shop).select_for_update().filter(sku_id__in=sku_ids).order_by("id")
        }
        totals: dict[tuple[int, int], int] = {}
        for a in allocations:
            totals[(a["sku"], a["warehouse"])] = totals.get((a["sku"], a["warehouse"]), 0) + int(a["quantity"])
        movements = []
        for key, qty in totals.items():
            stock = rows.get(key)
            if stock is None or stock.reserved < qty or qty <= 0:
                raise Conflict(_("These units are not reserved."), code="not_reserved")
            on_hand = stock.on_hand - qty if kind == Kind.SHIPMENT else stock.on_hand
            _write(stock, on_hand=on_hand, reserved=stock.reserved - qty)
            movements.append(_movement(stock, kind=kind, actor=actor, reserved_delta=-qty, reference=reference,
                                       on_hand_delta=-qty if kind == Kind.SHIPMENT else 0))  # fmt: skip
        StockMovement.objects.for_shop(shop).bulk_create(movements)
        audit_record(shop=shop, actor=actor, action=action, target=shop,
                     changes={"allocations": [None, list(allocations)], "reference": [None, reference]})  # fmt: skip


def stock_release(*, actor, allocations: Sequence[dict], reference: str = "", shop=None) -> None:
    """Give reserved units back to available (an order cancelled)."""
    _apply_allocations(shop=shop or actor.shop, actor=actor, allocations=allocations, reference=reference,
                       kind=Kind.RELEASE, action="stock.released")  # fmt: skip


def stock_ship(*, actor, allocations: Sequence[dict], reference: str = "", shop=None) -> None:
    """Reserved units leave the warehouse (an order shipped): on hand and reserved both go down."""
    _apply_allocations(shop=shop or actor.shop, actor=actor, allocations=allocations, reference=reference,
                       kind=Kind.SHIPMENT, action="stock.shipped")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# low stock


def low_stock_candidates(shop) -> list[tuple[int, int, int]]:
    """(sku id, available in all warehouses, threshold) of every SKU at or below its threshold: one query."""
    available = Coalesce(
        Subquery(
            Stock.objects.for_shop(shop).filter(sku_id=OuterRef("pk")).values("sku_id")
            .annotate(total=Sum("available")).values("total")
        ),
        Value(0),
    )  # fmt: skip
    threshold = Coalesce(F("low_stock_threshold"), Value(shop.low_stock_default))
    return list(
        SKU.objects.for_shop(shop)
        .exclude(product__status=Status.ARCHIVED)
        .annotate(avail=available, limit=threshold)
        .filter(avail__lte=F("limit"))
        .values_list("pk", "avail", "limit")
    )


def _low_stock_notices(shop, alert_ids: list[int]) -> list:
    """One notice per active member who manages stock, listing the new alerts inside their scope."""
    from accounts.selectors import actors_holding
    from accounts.services import Notice

    notices = []
    for actor in actors_holding(shop=shop, action="catalog.manage_stock"):
        mine = list(
            restrict(LowStockAlert.objects.for_shop(shop).filter(pk__in=alert_ids), actor, "catalog.manage_stock")
            .select_related("sku")
            .order_by("sku__code")
        )
        if not mine:
            continue
        codes = ", ".join(a.sku.code for a in mine[:20]) + ("…" if len(mine) > 20 else "")
        notices.append(Notice(recipient=actor.user, kind="low_stock",
                              title=ngettext("%(n)s SKU is low on stock", "%(n)s SKUs are low on stock",
                                             len(mine)) % {"n": len(mine)},
                              body=codes, url=f"/shops/{shop.pk}/catalog/low-stock/"))  # fmt: skip
    return notices


def low_stock_scan(*, shop_id: int) -> dict[str, int]:
    """Open one alert per SKU newly at or below threshold, resolve the recovered ones, notify the
    members who manage stock (and whose scope covers the SKU). Safe to run again at any time."""
    from accounts.models import Shop
    from accounts.services import notifications_send

    with transaction.atomic():
        # One scan per shop at a time (a second beat tick or a redelivery waits, then finds nothing to do).
        shop = Shop.objects.select_for_update().get(pk=shop_id)
        low = {sku_id: (avail, limit) for sku_id, avail, limit in low_stock_candidates(shop)}
        open_alerts = dict(
            LowStockAlert.objects.for_shop(shop).filter(status=LowStockAlert.Status.OPEN).values_list("sku_id", "pk")
        )
        recovered = [pk for sku_id, pk in open_alerts.items() if sku_id not in low]
        now = timezone.now()
        if recovered:
            LowStockAlert.objects.for_shop(shop).filter(pk__in=recovered).update(
                status=LowStockAlert.Status.RESOLVED, resolved_at=now
            )
        new = LowStockAlert.objects.for_shop(shop).bulk_create(
            [
                LowStockAlert(shop=shop, sku_id=sku_id, available_at_open=avail, threshold=limit, opened_at=now)
                for sku_id, (avail, limit) in sorted(low.items())
                if sku_id not in open_alerts
            ]
        )
        notified = 0
        if new:
            with translation.override(shop.language):  # written by a worker: in the shop's language
                notices = _low_stock_notices(shop, [a.pk for a in new])
            notifications_send(shop=shop, notices=notices)
            notified = len(notices)
        if new or recovered:
            audit_record(shop=shop, actor=None, action="low_stock.scanned", target=shop,
                         changes={"opened": [None, sorted(a.sku_id for a in new)],
                                  "resolved": [None, sorted(recovered)]})  # fmt: skip
    return {"opened": len(new), "resolved": len(recovered), "notified": notified}
