"""Categories and warehouses: the shapes products and stock hang on."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from catalog import selectors
from catalog.models import Category, Warehouse
from catalog.services._common import snapshot


def category_create(*, actor: Actor, name: str, parent: Category | None = None) -> Category:
    require(actor, "catalog.edit")
    if parent is not None:
        require(actor, "catalog.edit", parent)
    shop = actor.shop
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the category a name."), fields={"name": [_("This field is required.")]})
    with transaction.atomic():
        if Category.objects.for_shop(shop).filter(parent=parent, name=name).exists():
            raise ValidationFailed(_("A category with this name exists here."), fields={"name": [_("Already exists.")]})
        category = Category.objects.for_shop(shop).create(shop=shop, name=name, parent=parent)
        audit_record(shop=shop, actor=actor, action="category.created", target=category,
                     changes=diff({}, {"name": name, "parent": parent}))  # fmt: skip
    return category


def category_update(
    *, actor: Actor, category: Category, name: str | None = None, parent=..., is_active: bool | None = None
) -> Category:
    """Rename a category, move it (``parent``: another of the shop's categories, or None for the root; never
    under itself or one of its own sub-categories) or (de)activate it. An inactive category keeps its
    products and sub-categories; it is no longer offered for new ones."""
    require(actor, "catalog.edit", category)
    shop = actor.shop
    with transaction.atomic():
        category = Category.objects.for_shop(shop).select_for_update().get(pk=category.pk)
        before = {"name": category.name, "parent": category.parent_id, "is_active": category.is_active}
        if is_active is not None:
            category.is_active = bool(is_active)
        if name is not None:
            if not name.strip():
                raise ValidationFailed(_("Give the category a name."), fields={"name": [_("This field is required.")]})
            category.name = name.strip()
        if parent is not ...:
            if parent is not None:
                require(actor, "catalog.edit", parent)
                node = parent
                while node is not None:
                    if node.pk == category.pk:
                        # The whole sentence on the field too: a page shows only the field's message.
                        message = _("A category cannot sit under itself.")
                        raise ValidationFailed(message, code="category_cycle", fields={"parent": [message]})
                    node = node.parent
            category.parent = parent
        if (
            Category.objects.for_shop(shop)
            .filter(parent_id=category.parent_id, name=category.name)
            .exclude(pk=category.pk)
            .exists()
        ):
            raise ValidationFailed(_("A category with this name exists here."), fields={"name": [_("Already exists.")]})
        after = {"name": category.name, "parent": category.parent_id, "is_active": category.is_active}
        if changes := diff(before, after):
            category.save()
            audit_record(shop=shop, actor=actor, action="category.updated", target=category, changes=changes)
    return category


def check_category_offered(category: Category | None, *, current_id: int | None = None) -> None:
    """An inactive category is not given to a product (the product form does not offer it); a product already
    in it (``current_id``) keeps it. ValidationFailed on ``category`` otherwise."""
    if category is not None and not category.is_active and category.pk != current_id:
        message = _("This category is inactive.")
        raise ValidationFailed(message, code="category_inactive", fields={"category": [message]})


def _in_use(message: str, code: str) -> Conflict:
    return Conflict(message, code=code)


def category_delete(*, actor: Actor, category: Category) -> None:
    """Delete a category nothing uses (no products, archived ones included, no sub-categories, no member
    limited to it): one made by mistake. A used one is refused (409): deactivate it instead."""
    require(actor, "catalog.edit", category)
    shop = actor.shop
    with transaction.atomic():
        category = Category.objects.for_shop(shop).select_for_update().get(pk=category.pk)
        if any(selectors.category_usage(category=category).values()):
            raise _in_use(_("This category is in use: deactivate it instead."), "category_in_use")
        before = {"name": category.name, "parent": category.parent_id, "is_active": category.is_active}
        try:
            with transaction.atomic():
                # Recorded first: the entry names the row while it exists.
                audit_record(shop=shop, actor=actor, action="category.deleted", target=category,
                             changes=diff(before, {}))  # fmt: skip
                category.delete()
        except (ProtectedError, RestrictedError):  # a reference made since the check above
            raise _in_use(_("This category is in use: deactivate it instead."), "category_in_use") from None


def warehouse_create(*, actor: Actor, name: str, code: str, address: str = "") -> Warehouse:
    """A new warehouse. A member limited to chosen warehouses may not open new ones (it would fall
    outside their scope the moment it exists)."""
    require(actor, "catalog.manage_stock")
    if not selectors.warehouse_may_create(actor=actor):
        raise Forbidden(_("Members limited to chosen warehouses cannot open new ones."), code="out_of_scope")
    shop = actor.shop
    try:
        with transaction.atomic():
            if Warehouse.objects.for_shop(shop).filter(code=code).exists():
                raise _code_taken()
            warehouse = Warehouse.objects.for_shop(shop).create(shop=shop, name=name, code=code, address=address)
            audit_record(shop=shop, actor=actor, action="warehouse.created", target=warehouse,
                         changes=diff({}, {"name": name, "code": code, "address": address}))  # fmt: skip
    except IntegrityError:  # the same code taken at the same moment: the unique constraint says so
        raise _code_taken() from None
    return warehouse


def _code_taken() -> ValidationFailed:
    return ValidationFailed(_("This code is taken."), fields={"code": [_("A warehouse with this code exists.")]})


WAREHOUSE_FIELDS = ("name", "code", "address", "is_active")


def warehouse_update(*, actor: Actor, warehouse: Warehouse, **fields) -> Warehouse:
    require(actor, "catalog.manage_stock", warehouse)
    shop = actor.shop
    try:
        with transaction.atomic():
            warehouse = Warehouse.objects.for_shop(shop).select_for_update().get(pk=warehouse.pk)
            before = snapshot(warehouse, WAREHOUSE_FIELDS)
            for key, value in fields.items():
                if key in WAREHOUSE_FIELDS:
                    setattr(warehouse, key, value)
            if Warehouse.objects.for_shop(shop).filter(code=warehouse.code).exclude(pk=warehouse.pk).exists():
                raise _code_taken()
            warehouse.save()
            audit_record(shop=shop, actor=actor, action="warehouse.updated", target=warehouse,
                         changes=diff(before, snapshot(warehouse, WAREHOUSE_FIELDS)))  # fmt: skip
    except IntegrityError:
        raise _code_taken() from None
    return warehouse


def warehouse_delete(*, actor: Actor, warehouse: Warehouse) -> None:
    """Delete a warehouse nothing uses (no stock rows or movements, no orders or returns, no member limited
    to it): one opened by mistake. A used one is refused (409): close it instead (``is_active`` off)."""
    require(actor, "catalog.manage_stock", warehouse)
    shop = actor.shop
    message = _("This warehouse is in use: close it instead.")
    with transaction.atomic():
        warehouse = Warehouse.objects.for_shop(shop).select_for_update().get(pk=warehouse.pk)
        if any(selectors.warehouse_usage(warehouse=warehouse).values()):
            raise _in_use(message, "warehouse_in_use")
        try:
            with transaction.atomic():
                audit_record(shop=shop, actor=actor, action="warehouse.deleted", target=warehouse,
                             changes=diff(snapshot(warehouse, WAREHOUSE_FIELDS), {}))  # fmt: skip
                warehouse.delete()
        except (ProtectedError, RestrictedError):  # an order or a return names it (other apps' rows)
            raise _in_use(message, "warehouse_in_use") from None
