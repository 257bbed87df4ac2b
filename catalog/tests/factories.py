"""Catalog test data, built through the real services."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Shop
from backoffice.authz import load_actor
from catalog import images, services
from catalog.models import SKU, Category, ImportJob, Product, ProductImage, Warehouse

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
    image = images.image_add(actor=actor, product=product, upload=png_upload())
    job = ImportJob.objects.for_shop(shop).create(
        shop=shop, kind=ImportJob.Kind.PRODUCTS, file_name="x.csv", status=ImportJob.Status.DONE, total_rows=2,
        processed_rows=2, created_rows=1, error_rows=1, created_by=shop.owner,
        errors=[{"row": 3, "sku": "BAD", "field": "price", "message": "Enter a number."}],
    )  # fmt: skip
    return CatalogWorld(category=category, other_category=other, warehouse=warehouse, product=product,
                        archived=archived, sku=sku, spare_sku=spare_sku, image=image, job=job)  # fmt: skip
