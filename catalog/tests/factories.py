"""Catalog test data, built through the real services."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backoffice.authz import load_actor, system_actor
from backoffice.jobs import job_fields
from catalog import services
from catalog.models import SKU, Category, ExportJob, ImportJob, Product, ProductImage, Warehouse

if TYPE_CHECKING:
    from accounts.models import Shop

_seq = itertools.count(1)


def png_upload(name: str = "photo.png", size: tuple[int, int] = (400, 300), fmt: str = "PNG") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg"}.get(fmt, "application/octet-stream")
    return SimpleUploadedFile(name, buf.getvalue(), content_type=content_type)


def make_product(actor, *, title: str | None = None, category=None, skus: int = 1, price: str = "100.00",
                 cost: str | None = "60.00") -> Product:  # fmt: skip
    n = next(_seq)
    return services.product_create(
        actor=actor,
        title=title or f"Product {n}",
        category=category,
        skus=[{"code": f"P{n}-{i}", "price": Decimal(price), "cost": Decimal(cost) if cost else None,
               "barcode": f"46{n:05d}{i:04d}"} for i in range(skus)],
    )  # fmt: skip


def make_warehouse(actor, code: str | None = None) -> Warehouse:
    n = next(_seq)
    return services.warehouse_create(actor=actor, name=f"Warehouse {n}", code=code or f"wh{n}")


def first_sku(product: Product) -> SKU:
    return SKU.objects.for_shop(product.shop_id).filter(product=product).order_by("id").first()


@dataclass
class CatalogWorld:
    category: Category
    other_category: Category
    warehouse: Warehouse
    product: Product  # a draft with one SKU and stock
    archived: Product
    sku: SKU
    spare_sku: SKU  # the second, never stocked variant of a two-variant product: it may be removed
    image: ProductImage
    job: ImportJob  # a finished import with one error row
    export: ExportJob  # a finished stock export (CSV): any member with catalog.view may download it


def build_catalog_world(shop: Shop) -> CatalogWorld:
    actor = load_actor(shop.owner, shop)
    category = services.category_create(actor=actor, name="Phones")
    other = services.category_create(actor=actor, name="Cases", parent=category)
    warehouse = make_warehouse(actor, code="main")
    product = make_product(actor, title="Probe phone", category=category)
    sku = first_sku(product)
    services.stock_adjust(actor=actor, sku=sku, warehouse=warehouse, delta=20, reason="receipt")
    spare_sku = (
        SKU.objects.for_shop(shop)
        .filter(product=make_product(actor, title="Two-tone case", category=category, skus=2))
        .last()
    )
    archived = make_product(actor, title="Old phone", category=category)
    services.product_archive(actor=actor, product=archived)
    image = services.image_add(actor=actor, product=product, upload=png_upload())
    job = make_import_job(actor)
    export = make_export(actor, kind="stock")
    return CatalogWorld(category=category, other_category=other, warehouse=warehouse, product=product,
                        archived=archived, sku=sku, spare_sku=spare_sku, image=image, job=job, export=export)  # fmt: skip


def make_import_job(actor, *, sku: str = "BAD") -> ImportJob:
    """A finished products import started by ``actor`` (its scope recorded), with one error row."""
    return ImportJob.objects.for_shop(actor.shop).create(
        **job_fields(actor), kind=ImportJob.Kind.PRODUCTS, file_name="x.csv", status=ImportJob.Status.DONE,
        total_rows=2, processed_rows=2, created_rows=1, error_rows=1,
        errors=[{"row": 3, "sku": sku, "field": "price", "message": "Enter a number."}],
    )  # fmt: skip


def make_export(actor, *, kind: str = "products", fmt: str = "csv", filters: dict | None = None) -> ExportJob:
    """An export started by ``actor`` and built at once (as the worker would)."""
    job = services.export_create(actor=actor, kind=kind, fmt=fmt, filters=filters)
    return services.export_build(actor=system_actor(actor.shop), job_id=job.pk)
