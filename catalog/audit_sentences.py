"""How the catalog's audit entries read (found by ``backoffice.audit.sentences.discover``): "Anna (Operator)
adjusted stock of SKU TSHIRT-M at Main warehouse: +20"."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.audit.sentences import (
    Entry,
    changed_fields,
    choice_label,
    delta,
    field_labels,
    register_action,
    register_target,
)


def _sku_name(code: str) -> str:
    return _("SKU %(code)s") % {"code": code}


def _stock_url(stock) -> str:
    query = urlencode({"sku": stock.sku_id, "warehouse": stock.warehouse_id})
    return reverse("catalog:stock", kwargs={"shop": stock.shop_id}) + "?" + query


def _stock_recorded(words: str) -> str:
    # recorded as "<sku id>@<warehouse id>: on hand/reserved": no names to show without the live rows
    match = re.match(r"^(\d+)@(\d+)", words)
    if match is None:
        return _("stock")
    return _("stock of SKU #%(sku)s in warehouse #%(warehouse)s") % {"sku": match[1], "warehouse": match[2]}


def _job_recorded(words: str) -> str:
    # recorded as "<kind> import|export <id> (<status>)"
    match = re.search(r"(import|export) (\d+)", words)
    if match is None:
        return words
    if match[1] == "import":
        return _("import #%(id)s") % {"id": match[2]}
    return _("export #%(id)s") % {"id": match[2]}


register_target(
    "catalog.product", label=gettext_lazy("product"), model="catalog.Product", view_action="catalog.view",
    name=lambda p: p.title, url=lambda p: reverse("catalog:product_detail", kwargs={"shop": p.shop_id, "pk": p.pk}),
)  # fmt: skip
register_target(
    "catalog.sku", label=gettext_lazy("SKU"), model="catalog.SKU", view_action="catalog.view",
    name=lambda s: _sku_name(s.code), recorded=_sku_name,
    url=lambda s: reverse("catalog:product_detail", kwargs={"shop": s.shop_id, "pk": s.product_id}),
)  # fmt: skip
register_target(
    "catalog.stock", label=gettext_lazy("stock"), model="catalog.Stock", view_action="catalog.view",
    related=("sku", "warehouse"), url=_stock_url, recorded=_stock_recorded,
    name=lambda s: _("SKU %(code)s at %(warehouse)s") % {"code": s.sku.code, "warehouse": s.warehouse.name},
)  # fmt: skip
register_target(
    "catalog.category", label=gettext_lazy("category"), model="catalog.Category", view_action="catalog.edit",
    name=lambda c: c.name, url=lambda c: reverse("catalog:category_edit", kwargs={"shop": c.shop_id, "pk": c.pk}),
)  # fmt: skip
register_target(
    "catalog.warehouse", label=gettext_lazy("warehouse"), model="catalog.Warehouse", view_action="catalog.manage_stock",
    name=lambda w: w.name, url=lambda w: reverse("catalog:warehouse_edit", kwargs={"shop": w.shop_id, "pk": w.pk}),
    recorded=lambda words: re.sub(r" \([^)]*\)$", "", words),  # recorded as "name (code)"
)  # fmt: skip
register_target(
    "catalog.importjob", label=gettext_lazy("import"), model="catalog.ImportJob", view_action="catalog.view",
    name=lambda j: _("import #%(id)s (%(file)s)") % {"id": j.pk, "file": j.file_name}, recorded=_job_recorded,
    url=lambda j: reverse("catalog:import_detail", kwargs={"shop": j.shop_id, "pk": j.pk}),
)  # fmt: skip
register_target(
    "catalog.exportjob", label=gettext_lazy("catalog export"), model="catalog.ExportJob", view_action="catalog.view",
    name=lambda j: _("export #%(id)s") % {"id": j.pk}, recorded=_job_recorded,
    url=lambda j: reverse("catalog:exports", kwargs={"shop": j.shop_id}),
)  # fmt: skip

# The reasons of a stock adjustment, as the adjustment form names them.
REASONS = {"receipt": gettext_lazy("Receipt (goods in)"), "return": gettext_lazy("Customer return"), "correction": gettext_lazy("Correction"),
           "count": gettext_lazy("Inventory count"), "damage": gettext_lazy("Damage"), "loss": gettext_lazy("Loss"), "other": gettext_lazy("Other")}  # fmt: skip


def _product_updated_text(e: Entry):
    if e.after("status") == "pending_review":
        return gettext_lazy("%(actor)s changed %(fields)s of %(target)s; it went back to review")
    return gettext_lazy("%(actor)s changed %(fields)s of %(target)s")


def _sku_updated_text(e: Entry):
    if set(e.changes) == {"price"}:
        return gettext_lazy("%(actor)s changed the price of %(target)s from %(old)s to %(new)s")
    return gettext_lazy("%(actor)s changed %(fields)s of %(target)s")


def _units(e: Entry) -> dict:
    allocations = e.after("allocations") or []
    return {"units": sum(int(a["quantity"]) for a in allocations), "reference": e.after("reference") or "—"}


def _job_status(model: str):
    return lambda e: {"status": choice_label(model, "status", e.after("status")).lower()}


register_action(
    "product.created", gettext_lazy("Product created"), gettext_lazy("%(actor)s created the product %(target)s")
)
register_action("product.updated", gettext_lazy("Product edited"), _product_updated_text,
                values=lambda e: {"fields": changed_fields(e, field_labels("catalog.Product"), skip=("status",))})  # fmt: skip
register_action("product.submitted", gettext_lazy("Product submitted for review"),
                gettext_lazy("%(actor)s submitted %(target)s for review"))  # fmt: skip
register_action("product.approved", gettext_lazy("Product approved"), gettext_lazy("%(actor)s approved %(target)s"))
register_action("product.rejected", gettext_lazy("Product rejected"), gettext_lazy("%(actor)s rejected %(target)s: %(reason)s"),
                values=lambda e: {"reason": e.after("rejection_reason") or "—"})  # fmt: skip
register_action("product.archived", gettext_lazy("Product archived"), gettext_lazy("%(actor)s archived %(target)s"))
register_action(
    "product.unarchived", gettext_lazy("Product restored"), gettext_lazy("%(actor)s restored %(target)s as a draft")
)
register_action(
    "product.image_added", gettext_lazy("Image added"), gettext_lazy("%(actor)s added an image to %(target)s")
)
register_action(
    "product.image_removed", gettext_lazy("Image removed"), gettext_lazy("%(actor)s removed an image from %(target)s")
)
register_action("product.images_reordered", gettext_lazy("Images reordered"),
                gettext_lazy("%(actor)s changed the order of the images of %(target)s"))  # fmt: skip
register_action("sku.created", gettext_lazy("Variant added"), gettext_lazy("%(actor)s added the variant %(target)s"))
register_action("sku.updated", gettext_lazy("Variant edited"), _sku_updated_text,
                values=lambda e: {"old": e.before("price"), "new": e.after("price"),
                                  "fields": changed_fields(e, field_labels("catalog.SKU"), skip=("product_status",))})  # fmt: skip
register_action(
    "sku.deleted", gettext_lazy("Variant deleted"), gettext_lazy("%(actor)s deleted the variant %(target)s")
)
register_action("stock.receipt", gettext_lazy("Stock received"), gettext_lazy("%(actor)s received stock of %(target)s: %(delta)s"),
                values=lambda e: {"delta": delta(e, "on_hand")})  # fmt: skip
register_action("stock.return", gettext_lazy("Returned stock put back"),
                gettext_lazy("%(actor)s put returned units back into stock of %(target)s: %(delta)s"),
                values=lambda e: {"delta": delta(e, "on_hand")})  # fmt: skip
register_action(
    "stock.adjustment", gettext_lazy("Stock adjusted"), gettext_lazy("%(actor)s adjusted stock of %(target)s: %(delta)s (%(reason)s)"),
    values=lambda e: {"delta": delta(e, "on_hand"), "reason": str(REASONS.get(e.after("reason"), e.after("reason")))},
)  # fmt: skip
register_action("stock.reserved", gettext_lazy("Stock reserved"), gettext_lazy("%(actor)s reserved %(units)s units for %(reference)s"),
                values=_units)  # fmt: skip
register_action("stock.released", gettext_lazy("Reserved stock released"),
                gettext_lazy("%(actor)s released %(units)s reserved units (%(reference)s)"), values=_units)  # fmt: skip
register_action("stock.shipped", gettext_lazy("Stock shipped"), gettext_lazy("%(actor)s shipped %(units)s units (%(reference)s)"),
                values=_units)  # fmt: skip
register_action(
    "category.created", gettext_lazy("Category created"), gettext_lazy("%(actor)s created the category %(target)s")
)
register_action(
    "category.updated", gettext_lazy("Category changed"), gettext_lazy("%(actor)s changed the category %(target)s")
)
register_action(
    "category.deleted", gettext_lazy("Category deleted"), gettext_lazy("%(actor)s deleted the category %(target)s")
)
register_action(
    "warehouse.created", gettext_lazy("Warehouse opened"), gettext_lazy("%(actor)s opened the warehouse %(target)s")
)
register_action("warehouse.updated", gettext_lazy("Warehouse changed"), gettext_lazy("%(actor)s changed %(fields)s of the warehouse %(target)s"),
                values=lambda e: {"fields": changed_fields(e, field_labels("catalog.Warehouse"))})  # fmt: skip
register_action(
    "warehouse.deleted", gettext_lazy("Warehouse deleted"), gettext_lazy("%(actor)s deleted the warehouse %(target)s")
)
register_action(
    "low_stock.scanned", gettext_lazy("Low-stock check"),
    gettext_lazy("Low-stock check: %(opened)s alerts opened, %(resolved)s resolved"),
    values=lambda e: {"opened": len(e.after("opened") or []), "resolved": len(e.after("resolved") or [])},
)  # fmt: skip
register_action("import.created", gettext_lazy("Import started"), gettext_lazy("%(actor)s started %(target)s"))
register_action(
    "import.finished", gettext_lazy("Import finished"),
    gettext_lazy("%(target)s ended %(status)s: %(created)s created, %(updated)s updated, %(errors)s rows with errors"),
    values=lambda e: {**_job_status("catalog.ImportJob")(e), "created": e.after("created") or 0,
                      "updated": e.after("updated") or 0, "errors": e.after("errors") or 0},
)  # fmt: skip
register_action(
    "catalog_export.created", gettext_lazy("Catalog export started"), gettext_lazy("%(actor)s started %(target)s")
)
register_action("catalog_export.finished", gettext_lazy("Catalog export finished"),
                gettext_lazy("%(target)s ended %(status)s: %(rows)s rows"),
                values=lambda e: {**_job_status("catalog.ExportJob")(e), "rows": e.after("rows") or 0})  # fmt: skip
