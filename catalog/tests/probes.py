"""The catalog's rows of the one probe table (tests/shop_routes.py): every catalog shop route, API and UI,
with the action it needs; the objects the probes act on; and the rows the isolation sweep proves unchanged."""

from __future__ import annotations

import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict

from backoffice.authz import load_actor, system_actor
from catalog import services
from catalog.models import (
    SKU,
    Category,
    ExportJob,
    ImportJob,
    LowStockAlert,
    Product,
    ProductImage,
    Stock,
    StockMovement,
    Warehouse,
)
from catalog.tests.factories import CatalogWorld, build_catalog_world, first_sku, make_product, png_upload
from tests.shop_routes import Probe, World, count_of, fields_of

_seq = itertools.count(1)
API = "api:catalog_api:"
UI = "catalog:"


def extend_world(world: World) -> None:
    cw = world.objects["catalog"] = build_catalog_world(world.shop)
    actor = load_actor(world.shop.owner, world.shop)
    # A second photo, so a reorder has an order to change; a variant under its threshold, so the
    # low-stock list has a row.
    world.objects["catalog_image2"] = services.image_add(actor=actor, product=cw.product, upload=png_upload())
    low = first_sku(make_product(actor, title="Last units", category=cw.category))
    services.stock_adjust(actor=actor, sku=low, warehouse=cw.warehouse, delta=1, reason="receipt")
    services.low_stock_scan(actor=system_actor(world.shop))
    # Taxonomy steps: an unused category and warehouse (deactivate, delete) and an inactive one of each (activate).
    world.objects["catalog_spare_category"] = services.category_create(actor=actor, name="Unused")
    inactive = services.category_create(actor=actor, name="Retired")
    world.objects["catalog_inactive_category"] = services.category_update(actor=actor, category=inactive,
                                                                          is_active=False)  # fmt: skip
    world.objects["catalog_spare_warehouse"] = services.warehouse_create(actor=actor, name="Unused", code="unused")
    closed = services.warehouse_create(actor=actor, name="Closed", code="closed")
    world.objects["catalog_closed_warehouse"] = services.warehouse_update(actor=actor, warehouse=closed,
                                                                          is_active=False)  # fmt: skip


def snapshot(shop) -> dict:
    return {
        **{
            model.__name__: [
                model_to_dict(o, exclude=["image", "thumbnail", "file"])
                for o in model.objects.for_shop(shop).order_by("id")
            ]
            for model in (Category, Warehouse, Product, SKU, Stock, ProductImage, LowStockAlert, ImportJob, ExportJob)
        },  # fmt: skip
        "movements": StockMovement.objects.for_shop(shop).count(),
    }


def c(w: World) -> CatalogWorld:
    return w.objects["catalog"]


def _new_product(w: World) -> dict:
    n = next(_seq)
    return {"title": f"Probe product {n}", "category": c(w).category.pk,
            "skus": [{"code": f"PROBE-{n}-A", "price": "10.00"}, {"code": f"PROBE-{n}-B", "price": "12.50"}]}  # fmt: skip


def _import_file(w: World) -> dict:
    n = next(_seq)
    data = f"sku,title,price\nIMP-{n},Imported {n},5.00\n".encode()
    return {"kind": "products", "file": SimpleUploadedFile("p.csv", data, content_type="text/csv")}


def _product_form(w: World) -> dict:
    sku = c(w).sku
    return {"title": "Probe phone 2", "brand": "Acme", "category": str(c(w).category.pk), "description": "",
            "attributes": "", "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "1",
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "50",
            "variants-0-id": str(sku.pk), "variants-0-code": sku.code, "variants-0-price": "150.00",
            "variants-1-code": f"NEW-{next(_seq)}", "variants-1-price": "10.00"}  # fmt: skip


def _new_product_form(w: World) -> dict:
    data = _product_form(w)
    data.update({"title": f"Form product {next(_seq)}", "variants-INITIAL_FORMS": "0", "variants-0-id": "",
                 "variants-0-code": f"FORM-{next(_seq)}"})  # fmt: skip
    return data


def _product(w):
    return c(w).product


def _stock_of(pick) -> object:
    return lambda w: list(Stock.objects.for_shop(w.shop).filter(sku=pick(w)).order_by("id").values_list("on_hand"))


def _image_order(w: World) -> list:
    return list(ProductImage.objects.for_shop(w.shop).filter(product=c(w).product).order_by("position", "id")
                .values_list("id", flat=True))  # fmt: skip


def _taxonomy_action_probes() -> list[Probe]:
    """Deactivate, activate and delete of a category and a warehouse: the confirmation page and the step."""
    out = []
    for route, model, action, active, inactive in (
        ("category_action", Category, "catalog.edit", "catalog_spare_category", "catalog_inactive_category"),
        ("warehouse_action", Warehouse, "catalog.manage_stock", "catalog_spare_warehouse", "catalog_closed_warehouse"),
    ):
        for op, key in (("deactivate", active), ("activate", inactive), ("delete", active)):
            kwargs = (lambda key, op: lambda w: {"pk": w.objects[key].pk, "op": op})(key, op)
            pick = (lambda key: lambda w: w.objects[key])(key)
            effect = count_of(model) if op == "delete" else fields_of(model, pick, "is_active")
            out.append(Probe(UI + route, "get", action, 200, api=False, label=op, kwargs=kwargs))
            out.append(Probe(UI + route, "post", action, 302, api=False, label=op, kwargs=kwargs, effect=effect))
    return out


_status = fields_of(Product, _product, "status")
_archived_status = fields_of(Product, lambda w: c(w).archived, "status")

PROBES: list[Probe] = [
    Probe(API + "categories-list", "get", "catalog.view", 200),
    Probe(API + "categories-list", "post", "catalog.edit", 201,
          body=lambda w: {"name": f"Cat {next(_seq)}", "parent": c(w).category.pk}, effect=count_of(Category),
          refs=("parent",)),
    Probe(API + "categories-detail", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).category.pk}),
    Probe(API + "categories-detail", "patch", "catalog.edit", 200, kwargs=lambda w: {"pk": c(w).other_category.pk},
          body=lambda w: {"name": "Covers"}, effect=fields_of(Category, lambda w: c(w).other_category, "name")),
    Probe(API + "categories-detail", "delete", "catalog.edit", 204,
          kwargs=lambda w: {"pk": w.objects["catalog_spare_category"].pk}, effect=count_of(Category)),
    Probe(API + "warehouses-detail", "delete", "catalog.manage_stock", 204,
          kwargs=lambda w: {"pk": w.objects["catalog_spare_warehouse"].pk}, effect=count_of(Warehouse)),
    Probe(API + "warehouses-list", "get", "catalog.view", 200),
    Probe(API + "warehouses-list", "post", "catalog.manage_stock", 201,
          body=lambda w: {"name": "Probe WH", "code": f"probe-{next(_seq)}"}, effect=count_of(Warehouse)),
    Probe(API + "warehouses-detail", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).warehouse.pk}),
    Probe(API + "warehouses-detail", "patch", "catalog.manage_stock", 200, kwargs=lambda w: {"pk": c(w).warehouse.pk},
          body=lambda w: {"address": "1 Dock Road"}, effect=fields_of(Warehouse, lambda w: c(w).warehouse, "address")),
    Probe(API + "products-list", "get", "catalog.view", 200),
    Probe(API + "products-list", "post", "catalog.edit", 201, body=_new_product, effect=count_of(Product),
          refs=("category",)),
    Probe(API + "products-detail", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).product.pk}),
    Probe(API + "products-detail", "patch", "catalog.edit", 200, kwargs=lambda w: {"pk": c(w).product.pk},
          body=lambda w: {"brand": "Probe brand", "category": c(w).other_category.pk},
          effect=fields_of(Product, _product, "brand", "category_id"), refs=("category",)),
    Probe(API + "products-submit", "post", "catalog.publish", 200, kwargs=lambda w: {"pk": c(w).product.pk},
          effect=_status),
    Probe(API + "products-archive", "post", "catalog.publish", 200, kwargs=lambda w: {"pk": c(w).product.pk},
          effect=_status),
    Probe(API + "products-unarchive", "post", "catalog.publish", 200, kwargs=lambda w: {"pk": c(w).archived.pk},
          effect=_archived_status),
    Probe(API + "products-export", "post", "catalog.view", 201, body=lambda w: {"format": "csv"},
          effect=count_of(ExportJob)),
    Probe(API + "products-images", "post", "catalog.edit", 201, kwargs=lambda w: {"pk": c(w).product.pk},
          body=lambda w: {"image": png_upload()}, multipart=True, effect=count_of(ProductImage)),
    Probe(API + "products-image-delete", "delete", "catalog.edit", 204,
          kwargs=lambda w: {"pk": c(w).product.pk, "image_id": c(w).image.pk}, effect=count_of(ProductImage)),
    Probe(API + "products-images-reorder", "post", "catalog.edit", 200, kwargs=lambda w: {"pk": c(w).product.pk},
          body=lambda w: {"order": [w.objects["catalog_image2"].pk, c(w).image.pk]}, effect=_image_order,
          refs=("order.0", "order.1")),
    Probe(API + "skus-list", "get", "catalog.view", 200),
    Probe(API + "skus-list", "post", "catalog.edit", 201,
          body=lambda w: {"product": c(w).product.pk, "code": f"PROBE-SKU-{next(_seq)}", "price": "3.00"},
          effect=count_of(SKU), refs=("product",)),
    Probe(API + "skus-detail", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).sku.pk}),
    Probe(API + "skus-detail", "delete", "catalog.edit", 204, kwargs=lambda w: {"pk": c(w).spare_sku.pk},
          effect=count_of(SKU)),
    Probe(API + "skus-detail", "patch", "catalog.edit", 200, kwargs=lambda w: {"pk": c(w).sku.pk},
          body=lambda w: {"price": "99.90"}, effect=fields_of(SKU, lambda w: c(w).sku, "price")),
    Probe(API + "stock-list", "get", "catalog.view", 200),
    Probe(API + "stock-adjustments", "post", "catalog.manage_stock", 201,
          body=lambda w: {"sku": c(w).sku.code, "warehouse": c(w).warehouse.pk, "delta": -2, "reason": "damage"},
          effect=_stock_of(lambda w: c(w).sku), refs=("sku", "warehouse")),
    Probe(API + "stock-export", "post", "catalog.view", 201, body=lambda w: {"format": "xlsx"},
          effect=count_of(ExportJob)),
    Probe(API + "stock-movements-list", "get", "catalog.view", 200),
    Probe(API + "low-stock-alerts-list", "get", "catalog.view", 200),
    Probe(API + "imports-list", "get", "catalog.view", 200),
    Probe(API + "imports-list", "post", "catalog.edit", 201, body=_import_file, multipart=True,
          effect=count_of(ImportJob)),
    Probe(API + "imports-detail", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).job.pk}),
    Probe(API + "imports-report", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).job.pk}),
    Probe(API + "catalog-exports-list", "get", "catalog.view", 200),
    Probe(API + "catalog-exports-detail", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).export.pk}),
    Probe(API + "catalog-exports-download", "get", "catalog.view", 200, kwargs=lambda w: {"pk": c(w).export.pk}),
    # Browser pages
    Probe(UI + "product_list", "get", "catalog.view", 200, api=False),
    Probe(UI + "product_bulk", "post", "catalog.publish", 302, api=False,
          body=lambda w: {"action": "archive", "ids": [str(c(w).product.pk)]}, effect=_status, refs=("ids.0",)),
    Probe(UI + "product_export", "post", "catalog.view", 302, api=False, body=lambda w: {"format": "csv"},
          effect=count_of(ExportJob)),
    Probe(UI + "product_create", "get", "catalog.edit", 200, api=False),
    Probe(UI + "product_create", "post", "catalog.edit", 302, api=False, body=_new_product_form,
          effect=count_of(Product), refs=("category",)),
    Probe(UI + "product_detail", "get", "catalog.view", 200, api=False, kwargs=lambda w: {"pk": c(w).product.pk}),
    Probe(UI + "product_detail", "post", "catalog.edit", 302, api=False, kwargs=lambda w: {"pk": c(w).product.pk},
          body=_product_form, effect=fields_of(Product, _product, "title"), refs=("category", "variants-0-id")),
    Probe(UI + "product_images", "post", "catalog.edit", 302, api=False, kwargs=lambda w: {"pk": c(w).product.pk},
          body=lambda w: {"image": png_upload()}, effect=count_of(ProductImage)),
    Probe(UI + "sku_delete", "get", "catalog.edit", 200, api=False, kwargs=lambda w: {"pk": c(w).spare_sku.pk}),
    Probe(UI + "sku_delete", "post", "catalog.edit", 302, api=False, kwargs=lambda w: {"pk": c(w).spare_sku.pk},
          effect=count_of(SKU)),
    Probe(UI + "product_transition", "post", "catalog.publish", 302, api=False, label="submit",
          kwargs=lambda w: {"pk": c(w).product.pk, "op": "submit"}, effect=_status),
    Probe(UI + "product_transition", "post", "catalog.publish", 302, api=False, label="archive",
          kwargs=lambda w: {"pk": c(w).product.pk, "op": "archive"}, effect=_status),
    Probe(UI + "product_transition", "post", "catalog.publish", 302, api=False, label="unarchive",
          kwargs=lambda w: {"pk": c(w).archived.pk, "op": "unarchive"}, effect=_archived_status),
    Probe(UI + "stock", "get", "catalog.view", 200, api=False),
    Probe(UI + "stock", "post", "catalog.manage_stock", 302, api=False,
          body=lambda w: {"sku": c(w).sku.code, "warehouse": str(c(w).warehouse.pk), "delta": "5", "reason": "receipt"},
          effect=_stock_of(lambda w: c(w).sku), refs=("sku", "warehouse")),
    Probe(UI + "movements", "get", "catalog.view", 200, api=False),
    Probe(UI + "stock_export", "post", "catalog.view", 302, api=False,
          body=lambda w: {"format": "xlsx", "warehouse": str(c(w).warehouse.pk)}, effect=count_of(ExportJob),
          refs=("warehouse",)),
    Probe(UI + "low_stock", "get", "catalog.view", 200, api=False),
    Probe(UI + "imports", "get", "catalog.view", 200, api=False),
    Probe(UI + "imports", "post", "catalog.edit", 302, api=False, body=_import_file, effect=count_of(ImportJob)),
    Probe(UI + "import_detail", "get", "catalog.view", 200, api=False, kwargs=lambda w: {"pk": c(w).job.pk}),
    Probe(UI + "import_report", "get", "catalog.view", 200, api=False, kwargs=lambda w: {"pk": c(w).job.pk}),
    Probe(UI + "exports", "get", "catalog.view", 200, api=False),
    Probe(UI + "export_download", "get", "catalog.view", 200, api=False, kwargs=lambda w: {"pk": c(w).export.pk}),
    Probe(UI + "categories", "get", "catalog.view", 200, api=False),
    Probe(UI + "categories", "post", "catalog.edit", 302, api=False,
          body=lambda w: {"name": f"Cat {next(_seq)}", "parent": str(c(w).category.pk)}, effect=count_of(Category),
          refs=("parent",)),
    Probe(UI + "category_edit", "get", "catalog.edit", 200, api=False, kwargs=lambda w: {"pk": c(w).other_category.pk}),
    Probe(UI + "category_edit", "post", "catalog.edit", 302, api=False, kwargs=lambda w: {"pk": c(w).other_category.pk},
          body=lambda w: {"name": "Covers", "parent": ""},
          effect=fields_of(Category, lambda w: c(w).other_category, "name", "parent_id")),
    *_taxonomy_action_probes(),
    Probe(UI + "warehouses", "get", "catalog.view", 200, api=False),
    Probe(UI + "warehouse_edit", "get", "catalog.manage_stock", 200, api=False,
          kwargs=lambda w: {"pk": c(w).warehouse.pk}),
    Probe(UI + "warehouse_edit", "post", "catalog.manage_stock", 302, api=False,
          kwargs=lambda w: {"pk": c(w).warehouse.pk},
          body=lambda w: {"name": "Main", "code": "main", "address": "1 Dock Road", "is_active": "on"},
          effect=fields_of(Warehouse, lambda w: c(w).warehouse, "name", "address")),
    Probe(UI + "warehouses", "post", "catalog.manage_stock", 302, api=False,
          body=lambda w: {"name": "Probe WH", "code": f"probe-{next(_seq)}"}, effect=count_of(Warehouse)),
    # Bulk price and stock edit of selected SKUs (page: the apply step; API: applied at once)
    Probe(UI + "sku_bulk_price", "get", "catalog.edit", 200, api=False),
    Probe(UI + "sku_bulk_stock", "get", "catalog.manage_stock", 200, api=False),
    Probe(UI + "sku_bulk_price", "post", "catalog.edit", 302, api=False,
          body=lambda w: {"skus": [str(c(w).sku.pk)], "step": "apply", "price_op": "set", "price_value": "123.45"},
          effect=fields_of(SKU, lambda w: c(w).sku, "price"), refs=("skus.0",)),
    Probe(UI + "sku_bulk_stock", "post", "catalog.manage_stock", 302, api=False,
          body=lambda w: {"skus": [str(c(w).sku.pk)], "step": "apply", "stock_op": "add", "quantity": "3",
                          "warehouse": str(c(w).warehouse.pk), "reason": "receipt"},
          effect=_stock_of(lambda w: c(w).sku), refs=("skus.0", "warehouse")),
    Probe(API + "skus-bulk-price", "post", "catalog.edit", 200,
          body=lambda w: {"skus": [c(w).sku.pk], "price_op": "percent", "price_value": "10"},
          effect=fields_of(SKU, lambda w: c(w).sku, "price"), refs=("skus.0",)),
    Probe(API + "skus-bulk-stock", "post", "catalog.manage_stock", 200,
          body=lambda w: {"skus": [c(w).sku.pk], "stock_op": "set", "warehouse": c(w).warehouse.pk, "quantity": 31},
          effect=_stock_of(lambda w: c(w).sku), refs=("skus.0", "warehouse")),
]  # fmt: skip
