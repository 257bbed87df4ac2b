"""Reads for the catalog. Every list starts from the shop and is narrowed by the actor's scope."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from backoffice.authz import Actor, restrict
from catalog.models import (
    SKU,
    Category,
    ImportJob,
    LowStockAlert,
    Product,
    ProductImage,
    Stock,
    StockMovement,
    Warehouse,
)


def _truthy(value) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def category_list(*, shop, actor: Actor, action: str = "catalog.view") -> QuerySet[Category]:
    return restrict(Category.objects.for_shop(shop), actor, action).order_by("name", "id")


def warehouse_list(*, shop, actor: Actor, action: str = "catalog.view") -> QuerySet[Warehouse]:
    return restrict(Warehouse.objects.for_shop(shop), actor, action).order_by("name", "id")


def _low_stock_q(shop) -> Q:
    """SKUs whose total available stock is at or below their threshold (shop default otherwise)."""
    total = Coalesce(
        Subquery(
            Stock.objects.for_shop(shop).filter(sku_id=OuterRef("pk")).values("sku_id")
            .annotate(t=Sum("available")).values("t")
        ),
        Value(0),
    )  # fmt: skip
    return Q(pk__in=SKU.objects.for_shop(shop).annotate(_avail=total, _limit=Coalesce(F("low_stock_threshold"),
             Value(shop.low_stock_default))).filter(_avail__lte=F("_limit")).values("pk"))  # fmt: skip


def product_list(*, shop, actor: Actor, filters=None, action: str = "catalog.view") -> QuerySet[Product]:
    """Products with their SKUs and images prefetched (constant queries per page).

    Filters: ``status``, ``category`` (id, with its sub-categories one level down), ``warehouse``
    (stocked there), ``low_stock``, ``search`` (title, SKU code, barcode)."""
    filters = filters or {}
    qs = restrict(Product.objects.for_shop(shop), actor, action).select_related("category")
    if status := filters.get("status"):
        qs = qs.filter(status__in=str(status).split(","))
    if (category := _int(filters.get("category"))) is not None:
        qs = qs.filter(Q(category_id=category) | Q(category__parent_id=category))
    if (warehouse := _int(filters.get("warehouse"))) is not None:
        qs = qs.filter(
            Exists(Stock.objects.for_shop(shop).filter(sku__product_id=OuterRef("pk"), warehouse_id=warehouse))
        )
    if _truthy(filters.get("low_stock", "")):
        qs = qs.filter(Exists(SKU.objects.for_shop(shop).filter(_low_stock_q(shop), product_id=OuterRef("pk"))))
    if search := (filters.get("search") or "").strip():
        qs = qs.filter(
            Q(title__icontains=search)
            | Exists(
                SKU.objects.for_shop(shop).filter(Q(code__iexact=search) | Q(barcode=search) | Q(code__istartswith=search),
                                                  product_id=OuterRef("pk"))
            )
        )  # fmt: skip
    return qs.prefetch_related(
        Prefetch("skus", queryset=SKU.objects.for_shop(shop).order_by("id")),
        Prefetch("images", queryset=ProductImage.objects.for_shop(shop).order_by("position", "id")),
    )


def sku_list(*, shop, actor: Actor, filters=None, action: str = "catalog.view") -> QuerySet[SKU]:
    filters = filters or {}
    qs = restrict(SKU.objects.for_shop(shop), actor, action).select_related("product")
    if (product := _int(filters.get("product"))) is not None:
        qs = qs.filter(product_id=product)
    if code := filters.get("code"):
        qs = qs.filter(code=code)
    if barcode := filters.get("barcode"):
        qs = qs.filter(barcode=barcode)
    if search := (filters.get("search") or "").strip():
        qs = qs.filter(Q(code__icontains=search) | Q(barcode=search) | Q(product__title__icontains=search))
    if _truthy(filters.get("low_stock", "")):
        qs = qs.filter(_low_stock_q(shop))
    return qs


def sku_get_by_code_or_id(*, shop, actor: Actor, value, action: str = "catalog.view") -> SKU | None:
    """A SKU by its code, or by its id when no SKU has that code."""
    qs = restrict(SKU.objects.for_shop(shop), actor, action)
    found = qs.filter(code=str(value)).first()
    if found is None and (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        found = qs.filter(pk=int(value)).first()
    return found


def stock_list(*, shop, actor: Actor, filters=None, action: str = "catalog.view") -> QuerySet[Stock]:
    """Stock rows with SKU, product and warehouse joined (constant queries per page).
    Filters: ``sku`` (code or id), ``warehouse``, ``product``, ``low_stock``, ``search``."""
    filters = filters or {}
    qs = restrict(Stock.objects.for_shop(shop), actor, action).select_related("sku__product", "warehouse")
    if sku := filters.get("sku"):
        qs = qs.filter(Q(sku__code=sku) | Q(sku_id=_int(sku) or 0))
    if (warehouse := _int(filters.get("warehouse"))) is not None:
        qs = qs.filter(warehouse_id=warehouse)
    if (product := _int(filters.get("product"))) is not None:
        qs = qs.filter(sku__product_id=product)
    if search := (filters.get("search") or "").strip():
        qs = qs.filter(
            Q(sku__code__icontains=search) | Q(sku__barcode=search) | Q(sku__product__title__icontains=search)
        )
    if _truthy(filters.get("low_stock", "")):
        qs = qs.filter(sku__in=SKU.objects.for_shop(shop).filter(_low_stock_q(shop)))
    return qs


def movement_list(*, shop, actor: Actor, filters=None, action: str = "catalog.view") -> QuerySet[StockMovement]:
    filters = filters or {}
    qs = restrict(StockMovement.objects.for_shop(shop), actor, action).select_related("sku", "warehouse", "actor")
    if sku := filters.get("sku"):
        qs = qs.filter(Q(sku__code=sku) | Q(sku_id=_int(sku) or 0))
    if (warehouse := _int(filters.get("warehouse"))) is not None:
        qs = qs.filter(warehouse_id=warehouse)
    if kind := filters.get("kind"):
        qs = qs.filter(kind=kind)
    return qs


def alert_list(*, shop, actor: Actor, filters=None, action: str = "catalog.view") -> QuerySet[LowStockAlert]:
    filters = filters or {}
    qs = restrict(LowStockAlert.objects.for_shop(shop), actor, action).select_related("sku__product")
    status = filters.get("status", "open")
    if status in ("open", "resolved"):
        qs = qs.filter(status=status)
    return qs


def import_list(*, shop, actor: Actor) -> QuerySet[ImportJob]:
    """Import jobs: members limited by scope see only their own jobs (another's report may list rows
    outside their scope)."""
    qs = ImportJob.objects.for_shop(shop).select_related("created_by")
    if actor.scopes:
        qs = qs.filter(created_by=actor.user)
    return qs
