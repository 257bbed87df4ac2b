"""Categories and warehouses: the shapes products and stock hang on."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, require
from backoffice.errors import Forbidden, ValidationFailed
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


def category_update(*, actor: Actor, category: Category, name: str | None = None, parent=...) -> Category:
    require(actor, "catalog.edit", category)
    shop = actor.shop
    with transaction.atomic():
        category = Category.objects.for_shop(shop).select_for_update().get(pk=category.pk)
        before = {"name": category.name, "parent": category.parent_id}
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
        category.save()
        after = {"name": category.name, "parent": category.parent_id}
        audit_record(shop=shop, actor=actor, action="category.updated", target=category, changes=diff(before, after))
    return category


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
