"""Reads for the catalog. Every list starts from the shop and is narrowed by the actor's scope.

Other apps read the catalog only through here (and write through ``catalog.services``): orders asks
for SKUs by code, a warehouse named in a request, the warehouses a member may use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import (
    BigIntegerField,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, restrict
from backoffice.errors import Forbidden, NotFound, ValidationFailed
from backoffice.parsing import BIGINT_MAX, parse_ids, parse_optional_id
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

if TYPE_CHECKING:
    from accounts.models import Shop

Filters = Mapping[str, Any]


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


_ASCII_ID = re.compile(r"^[0-9]{1,19}$")


def maybe_id(value: Any) -> int | None:
    """``value`` as a row id when it is one (ASCII digits, a positive bigint), else None: for an id in
    a path or a field that may also hold a code (a SKU "code or id"), where "not an id" reads as
    "not found". A *filter* with a bad id is an error instead (``_filter_id``)."""
    value = getattr(value, "pk", value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= BIGINT_MAX else None
    text = str(value).strip() if value is not None else ""
    if not _ASCII_ID.match(text):
        return None
    number = int(text)
    return number if 0 < number <= BIGINT_MAX else None


def _filter_id(filters: Filters, key: str) -> int | None:
    """The id filter ``key`` (None when absent); a value that is not an id is a 400 naming ``key``."""
    return parse_optional_id(filters.get(key), key)


def _filter_ids(filters: Filters) -> list[int]:
    values = filters.getlist("ids") if hasattr(filters, "getlist") else filters.get("ids")
    if isinstance(values, (list, tuple)) and len(values) == 1 and isinstance(values[0], str):
        values = values[0]  # ?ids=1,2,3
    return parse_ids(values, "ids")


# --------------------------------------------------------------------------------------------- taxonomy


ACTIVE_CHOICES = {"yes": True, "no": False}


def _active_filter(qs: QuerySet, filters: Filters | None) -> QuerySet:
    """``?active=yes|no`` (blank: both): a list of categories or warehouses by whether they are in use."""
    value = (filters or {}).get("active") or ""
    if value == "":
        return qs
    if value not in ACTIVE_CHOICES:
        message = _("Choose “yes” or “no”.")
        raise ValidationFailed(message, fields={"active": [message]})
    return qs.filter(is_active=ACTIVE_CHOICES[value])


def category_list(*, shop: Shop, actor: Actor, action: str = "catalog.view",
                  filters: Filters | None = None) -> QuerySet[Category]:  # fmt: skip
    """Filters: ``active`` (yes/no)."""
    return _active_filter(restrict(Category.objects.for_shop(shop), actor, action), filters).order_by("name", "id")


def category_choices(*, shop: Shop, actor: Actor, action: str = "catalog.edit",
                     keep: int | None = None) -> QuerySet[Category]:  # fmt: skip
    """The categories a form offers: the active ones, plus ``keep`` (a product's current category, which it
    keeps, and shows, while that category is inactive)."""
    return category_list(shop=shop, actor=actor, action=action).filter(Q(is_active=True) | Q(pk=keep))


def category_usage(*, category: Category) -> dict[str, int]:
    """What holds on to a category (any of it refuses deleting it): its products (archived ones too), its
    sub-categories, and the members limited to it."""
    from catalog.models import CategoryUserObjectPermission

    shop = category.shop_id
    return {
        "products": Product.objects.for_shop(shop).filter(category_id=category.pk).count(),
        "children": Category.objects.for_shop(shop).filter(parent_id=category.pk).count(),
        "members": CategoryUserObjectPermission.objects.filter(content_object_id=category.pk).count(),
    }


def warehouse_list(*, shop: Shop, actor: Actor, action: str = "catalog.view",
                   filters: Filters | None = None) -> QuerySet[Warehouse]:  # fmt: skip
    """Filters: ``active`` (yes/no)."""
    return _active_filter(restrict(Warehouse.objects.for_shop(shop), actor, action), filters).order_by("name", "id")


def warehouse_choices(*, shop: Shop, actor: Actor, action: str = "catalog.manage_stock") -> QuerySet[Warehouse]:
    """The warehouses a stock form offers: the open ones (a closed warehouse takes no stock changes)."""
    return warehouse_list(shop=shop, actor=actor, action=action).filter(is_active=True)


def warehouse_usage(*, warehouse: Warehouse) -> dict[str, int]:
    """What holds on to a warehouse (any of it refuses deleting it): stock rows, stock movements, the members
    limited to it. Orders and returns that name it refuse it too (the database protects them)."""
    from catalog.models import WarehouseUserObjectPermission

    shop = warehouse.shop_id
    return {
        "stock": Stock.objects.for_shop(shop).filter(warehouse_id=warehouse.pk).count(),
        "movements": StockMovement.objects.for_shop(shop).filter(warehouse_id=warehouse.pk).count(),
        "members": WarehouseUserObjectPermission.objects.filter(content_object_id=warehouse.pk).count(),
    }


def warehouse_may_create(*, actor: Actor) -> bool:
    """May this actor open a warehouse? Not a member limited to chosen warehouses: the new one would
    fall outside their scope the moment it exists."""
    return can(actor, "catalog.manage_stock") and "warehouse" not in actor.scopes


def warehouse_get(*, actor: Actor, pk: Any, action: str | None = None) -> Warehouse | None:
    """The warehouse with id ``pk`` in the actor's shop (and inside their scope for ``action`` when
    given), or None: a missing id, another shop's and an out-of-scope one read the same."""
    pk = maybe_id(pk)
    if pk is None:
        return None
    qs = Warehouse.objects.for_shop(actor.shop)
    if action is not None:
        qs = restrict(qs, actor, action)
    return qs.filter(pk=pk).first()


# --------------------------------------------------------------------------------------------- low stock


def low_stock_skus(*, shop: Shop) -> QuerySet[SKU]:
    """The one low-stock rule: SKUs whose available stock in all warehouses is at or below their
    threshold (the shop's default when they have none), annotated with ``avail`` and ``limit``."""
    available = Coalesce(
        Subquery(
            Stock.objects.for_shop(shop).filter(sku_id=OuterRef("pk")).values("sku_id")
            .annotate(total=Sum("available")).values("total")
        ),
        Value(0),
    )  # fmt: skip
    limit = Coalesce(F("low_stock_threshold"), Value(shop.low_stock_default))
    return SKU.objects.for_shop(shop).annotate(avail=available, limit=limit).filter(avail__lte=F("limit"))


def _low_stock_q(shop: Shop) -> Q:
    return Q(pk__in=low_stock_skus(shop=shop).values("pk"))


def low_stock_candidates(*, shop: Shop) -> list[tuple[int, int, int]]:
    """(sku id, available in all warehouses, threshold) of every SKU of a live product at or below its
    threshold: one query (the low-stock scan's input)."""
    return list(
        low_stock_skus(shop=shop).exclude(product__status=Product.Status.ARCHIVED).values_list("pk", "avail", "limit")
    )


def shop_ids_with_skus() -> list[int]:
    """Platform code (the periodic low-stock scan): every shop that has SKUs."""
    return sorted(set(SKU.unscoped.values_list("shop_id", flat=True).distinct()))


# --------------------------------------------------------------------------------------------- products and SKUs


def product_list(*, shop: Shop, actor: Actor, filters: Filters | None = None,
                 action: str = "catalog.view", with_stock: bool = False) -> QuerySet[Product]:  # fmt: skip
    """Products with their SKUs and images prefetched (constant queries per page).

    Filters: ``status``, ``category`` (id, with its sub-categories one level down), ``warehouse``
    (stocked there), ``low_stock``, ``search`` (title, SKU code, barcode), ``ids`` (these products).
    ``with_stock`` annotates ``stock_available``: the units available of all its SKUs in the warehouses the
    actor may see (their warehouse scope, through ``restrict``), in the same query."""
    filters = filters or {}
    qs = restrict(Product.objects.for_shop(shop), actor, action).select_related("category")
    if with_stock:
        visible = restrict(Stock.objects.for_shop(shop), actor, action).filter(sku__product_id=OuterRef("pk"))
        total = visible.order_by().values("shop_id").annotate(total=Sum("available")).values("total")
        qs = qs.annotate(stock_available=Coalesce(Subquery(total), Value(0)))
    if status := filters.get("status"):
        qs = qs.filter(status__in=str(status).split(","))
    if (category := _filter_id(filters, "category")) is not None:
        qs = qs.filter(Q(category_id=category) | Q(category__parent_id=category))
    if (warehouse := _filter_id(filters, "warehouse")) is not None:
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
    if filters.get("ids"):
        qs = qs.filter(pk__in=_filter_ids(filters))
    return qs.prefetch_related(
        Prefetch("skus", queryset=SKU.objects.for_shop(shop).order_by("id")),
        Prefetch("images", queryset=ProductImage.objects.for_shop(shop).order_by("position", "id")),
    )


def product_skus(*, shop: Shop, product: Product) -> QuerySet[SKU]:
    """The variants of a product the caller already holds (found through ``product_list``)."""
    return SKU.objects.for_shop(shop).filter(product_id=product.pk).order_by("id")


def image_list(*, shop: Shop, product: Product) -> QuerySet[ProductImage]:
    """The images of a product the caller already holds, in display order."""
    return ProductImage.objects.for_shop(shop).filter(product_id=product.pk).order_by("position", "id")


def image_get(*, shop: Shop, product: Product, pk: Any) -> ProductImage | None:
    """One image of that product by id, or None."""
    pk = maybe_id(pk)
    return image_list(shop=shop, product=product).filter(pk=pk).first() if pk is not None else None


def sku_list(
    *, shop: Shop, actor: Actor, filters: Filters | None = None, action: str = "catalog.view"
) -> QuerySet[SKU]:
    """SKUs with their product. Filters: ``product``, ``code``, ``barcode``, ``search``, ``low_stock``,
    ``in_stock`` (some available in a warehouse), ``product_status`` (comma-separated)."""
    filters = filters or {}
    qs = restrict(SKU.objects.for_shop(shop), actor, action).select_related("product")
    if (product := _filter_id(filters, "product")) is not None:
        qs = qs.filter(product_id=product)
    if code := filters.get("code"):
        qs = qs.filter(code=code)
    if barcode := filters.get("barcode"):
        qs = qs.filter(barcode=barcode)
    if search := (filters.get("search") or "").strip():
        qs = qs.filter(Q(code__icontains=search) | Q(barcode=search) | Q(product__title__icontains=search))
    if _truthy(filters.get("low_stock", "")):
        qs = qs.filter(_low_stock_q(shop))
    if _truthy(filters.get("in_stock", "")):
        qs = qs.filter(Exists(Stock.objects.for_shop(shop).filter(sku_id=OuterRef("pk"), available__gt=0)))
    if statuses := filters.get("product_status"):
        qs = qs.filter(product__status__in=str(statuses).split(","))
    return qs


def sku_bulk_selection(*, shop: Shop, actor: Actor, ids: Iterable[int], actions: Iterable[str]) -> list[SKU]:
    """The SKUs picked for a bulk edit, in id order, their product loaded. Refused, never silently left out:
    an id that is no SKU of the shop is NotFound, a SKU outside the actor's scope for any of ``actions``
    Forbidden, each named by id (a member may not learn the code of a SKU they may not see)."""
    ids = list(dict.fromkeys(ids))
    skus = list(SKU.objects.for_shop(shop).filter(pk__in=ids).select_related("product").order_by("id"))
    found = {s.pk for s in skus}
    if missing := [f"#{pk}" for pk in ids if pk not in found]:
        message = _("No such SKU in this shop: %(ids)s.") % {"ids": ", ".join(missing[:10])}
        raise NotFound(message, fields={"skus": [message]})
    for action in actions:
        if not can(actor, action):
            raise Forbidden(_("You do not have permission to do this."))
        if outside := [f"#{s.pk}" for s in skus if not can(actor, action, s)]:
            message = _("Outside your scope: SKU %(ids)s.") % {"ids": ", ".join(outside[:10])}
            raise Forbidden(message, code="out_of_scope", fields={"skus": [message]})
    return skus


def skus_by_code(*, shop: Shop, codes: Iterable[str]) -> dict[str, SKU]:
    """{code: SKU (its product loaded)} for the codes that exist in the shop: one query. Platform and
    order intake use it (no member scope applies to what a buyer ordered)."""
    codes = {str(c) for c in codes if c}
    if not codes:
        return {}
    return {s.code: s for s in SKU.objects.for_shop(shop).filter(code__in=codes).select_related("product")}


def skus_for_pricing(*, shop: Shop, codes: Iterable[str], **annotations: Any) -> dict[str, SKU]:
    """{code: SKU} with only what pricing reads (code, price, cost, the product's category), plus
    ``annotations`` (the promotions app adds each SKU's price floor): one query, and no descriptions or
    attributes parsed for a cart of a hundred lines."""
    codes = {str(c) for c in codes if c}
    if not codes:
        return {}
    qs = (
        SKU.objects.for_shop(shop).filter(code__in=codes).select_related("product")
        .only("shop_id", "code", "price", "cost", "product_id", "product__shop_id", "product__category_id")
    )  # fmt: skip
    if annotations:
        qs = qs.annotate(**annotations)
    return {s.code: s for s in qs}


def sku_codes_by_product(*, shop: Shop, product_ids: Iterable[int]) -> dict[int, list[str]]:
    """{product id: its SKU codes in id order}: one query (portable: no STRING_AGG, which SQLite lacks)."""
    out: dict[int, list[str]] = {}
    rows = SKU.objects.for_shop(shop).filter(product_id__in=list(product_ids)).order_by("product_id", "id")
    for product_id, code in rows.values_list("product_id", "code"):
        out.setdefault(product_id, []).append(code)
    return out


def sku_get_by_code_or_id(*, shop: Shop, actor: Actor, value: Any, action: str = "catalog.view") -> SKU | None:
    """A SKU by its code, or by its id when no SKU has that code."""
    qs = restrict(SKU.objects.for_shop(shop), actor, action)
    found = qs.filter(code=str(value)).first()
    if found is None and (pk := maybe_id(value)) is not None:
        found = qs.filter(pk=pk).first()
    return found


# --------------------------------------------------------------------------------------------- stock


def stock_list(*, shop: Shop, actor: Actor, filters: Filters | None = None,
               action: str = "catalog.view") -> QuerySet[Stock]:  # fmt: skip
    """Stock rows with SKU, product and warehouse joined (constant queries per page).
    Filters: ``sku`` (code or id), ``warehouse``, ``product``, ``low_stock``, ``search``."""
    filters = filters or {}
    qs = restrict(Stock.objects.for_shop(shop), actor, action).select_related("sku__product", "warehouse")
    if sku := filters.get("sku"):
        qs = qs.filter(Q(sku__code=sku) | Q(sku_id=maybe_id(sku) or 0))
    if (warehouse := _filter_id(filters, "warehouse")) is not None:
        qs = qs.filter(warehouse_id=warehouse)
    if (product := _filter_id(filters, "product")) is not None:
        qs = qs.filter(sku__product_id=product)
    if search := (filters.get("search") or "").strip():
        qs = qs.filter(
            Q(sku__code__icontains=search) | Q(sku__barcode=search) | Q(sku__product__title__icontains=search)
        )
    if _truthy(filters.get("low_stock", "")):
        qs = qs.filter(sku__in=SKU.objects.for_shop(shop).filter(_low_stock_q(shop)))
    return qs


def stock_levels(*, shop: Shop, actor: Actor, filters: Filters | None = None,
                 action: str = "catalog.view") -> QuerySet[SKU]:  # fmt: skip
    """The stock list: one row per SKU and warehouse it has stock in, and one row for a SKU with none in
    the warehouses shown (a SKU that never had stock is there, with 0 on hand). With a ``warehouse`` filter
    every SKU appears once, with its level there (0 when it never had any).

    Rows are SKUs (their product joined) annotated with the level: ``stock_id`` (None without a stock row),
    ``wh_id``, ``wh_code``, ``wh_name`` (None for a SKU with no stock and no warehouse filter), ``on_hand``,
    ``reserved``, ``available``, ``stock_updated_at``. Ordered newest SKU first, then by warehouse: the
    page and the API cursor (``-id`` is nearly unique: at most one row per warehouse shares it).

    Filters as ``stock_list``: ``sku`` (code or id), ``warehouse``, ``product``, ``low_stock``, ``search``.
    SKUs of archived products appear only where they hold a stock row (nothing to restock otherwise).
    One query, whatever the page size."""
    filters = filters or {}
    # The member's scope: SKUs by category, stock rows by warehouse (the two halves of Stock's scope).
    warehouses = restrict(Warehouse.objects.for_shop(shop), actor, action)
    in_scope = Q(stock__warehouse_id__in=Subquery(warehouses.values("pk")))
    qs = restrict(SKU.objects.for_shop(shop), actor, action).select_related("product")
    warehouse = _filter_id(filters, "warehouse")
    if warehouse is not None:
        # Every SKU once, with its row in that warehouse (or none); a warehouse out of scope shows nothing.
        qs = qs.filter(Exists(warehouses.filter(pk=warehouse)))
        in_scope &= Q(stock__warehouse_id=warehouse)
    qs = qs.annotate(lvl=FilteredRelation("stock", condition=in_scope))
    wh_id = Value(warehouse) if warehouse is not None else F("lvl__warehouse_id")
    qs = qs.annotate(
        stock_id=F("lvl__id"), wh_id=wh_id, on_hand=Coalesce(F("lvl__on_hand"), Value(0)),
        reserved=Coalesce(F("lvl__reserved"), Value(0)), available=Coalesce(F("lvl__available"), Value(0)),
        stock_updated_at=F("lvl__updated_at"),
    )  # fmt: skip
    # The warehouse's names by subquery: a join through the filtered relation is built in the wrong order.
    named = Warehouse.objects.for_shop(shop).filter(pk=OuterRef("wh_id"))
    qs = qs.annotate(wh_code=Subquery(named.values("code")[:1]), wh_name=Subquery(named.values("name")[:1]))
    qs = qs.filter(Q(stock_id__isnull=False) | ~Q(product__status=Product.Status.ARCHIVED))
    if sku := filters.get("sku"):
        qs = qs.filter(Q(code=sku) | Q(pk=maybe_id(sku) or 0))
    if (product := _filter_id(filters, "product")) is not None:
        qs = qs.filter(product_id=product)
    if search := (filters.get("search") or "").strip():
        qs = qs.filter(Q(code__icontains=search) | Q(barcode=search) | Q(product__title__icontains=search))
    if _truthy(filters.get("low_stock", "")):
        qs = qs.filter(_low_stock_q(shop))
    return qs.order_by("-id", "wh_id")


def movement_list(*, shop: Shop, actor: Actor, filters: Filters | None = None,
                  action: str = "catalog.view") -> QuerySet[StockMovement]:  # fmt: skip
    filters = filters or {}
    qs = restrict(StockMovement.objects.for_shop(shop), actor, action).select_related("sku", "warehouse", "actor")
    if sku := filters.get("sku"):
        qs = qs.filter(Q(sku__code=sku) | Q(sku_id=maybe_id(sku) or 0))
    if (warehouse := _filter_id(filters, "warehouse")) is not None:
        qs = qs.filter(warehouse_id=warehouse)
    if kind := filters.get("kind"):
        qs = qs.filter(kind=kind)
    return qs


def alert_list(*, shop: Shop, actor: Actor, filters: Filters | None = None, action: str = "catalog.view",
               restock_for: Actor | None = None) -> QuerySet[LowStockAlert]:  # fmt: skip
    """Low-stock alerts. With ``restock_for`` each carries ``restock_warehouse_id``: where that member
    would receive the SKU (the open warehouse they manage whose stock of it changed last, else the first open
    one they manage; None when they manage none), in the same query."""
    filters = filters or {}
    qs = restrict(LowStockAlert.objects.for_shop(shop), actor, action).select_related("sku__product")
    status = filters.get("status", "open")
    if status in ("open", "resolved"):
        qs = qs.filter(status=status)
    if restock_for is not None:
        managed = restrict(Warehouse.objects.for_shop(shop), restock_for, "catalog.manage_stock").filter(is_active=True)
        last_stocked = (
            Stock.objects.for_shop(shop).filter(sku_id=OuterRef("sku_id"), warehouse__in=managed)
            .order_by("-updated_at", "-id").values("warehouse_id")[:1]
        )  # fmt: skip
        first_managed = managed.order_by("name", "id").values("pk")[:1]
        qs = qs.annotate(restock_warehouse_id=Coalesce(Subquery(last_stocked), Subquery(first_managed),
                                                       output_field=BigIntegerField()))  # fmt: skip
    return qs


# --------------------------------------------------------------------------------------------- jobs


def import_list(*, shop: Shop, actor: Actor) -> QuerySet[ImportJob]:
    """Import jobs the actor may see: the kernel's one rule for background jobs (a member limited by
    scope sees their own and those whose recorded scope lies within theirs)."""
    return restrict(ImportJob.objects.for_shop(shop), actor, "catalog.view").select_related("created_by")


def export_list(*, shop: Shop, actor: Actor) -> QuerySet[ExportJob]:
    """Catalog export jobs the actor may see (the same rule as imports)."""
    return restrict(ExportJob.objects.for_shop(shop), actor, "catalog.view").select_related("created_by")


def export_may_download(*, actor: Actor, job: ExportJob) -> bool:
    """A file with cost prices goes only to members who may see cost prices."""
    return not job.with_cost or can(actor, "catalog.view_cost")


def export_for_download(*, shop: Shop, actor: Actor, pk: Any) -> ExportJob:
    """A finished export the actor may download: NotFound when it is not visible to them or has no
    file (yet), Forbidden when it holds cost prices they may not see."""
    pk = maybe_id(pk)
    job = export_list(shop=shop, actor=actor).filter(pk=pk).first() if pk is not None else None
    if job is None or job.status != ExportJob.Status.DONE or not job.file:
        raise NotFound(_("This export is not ready or does not exist."))
    if not export_may_download(actor=actor, job=job):
        raise Forbidden(_("This export shows cost prices, which you may not see."))
    return job


IMPORT_REPORT_HEADER = ["row", "sku", "column", "message"]


def import_report(*, job: ImportJob) -> tuple[str, list[str], Iterator[list]]:
    """(file name, header, rows) of an import's error report, for ``backoffice.tabular.stream_csv``."""
    rows = ([e.get("row"), e.get("sku", ""), e.get("field", ""), e.get("message", "")] for e in job.errors)
    return f"import-{job.pk}-errors.csv", list(IMPORT_REPORT_HEADER), rows


# --------------------------------------------------------------------------------------------- platform


def moderation_queue(*, status: str | None = Product.Status.PENDING_REVIEW) -> QuerySet[Product]:
    """Platform code (moderation by platform staff): products of every shop, in ``status`` (all when None)."""
    qs = Product.unscoped.select_related("category", "shop").prefetch_related("skus", "images")
    return qs.filter(status=status) if status else qs


# --------------------------------------------------------------------------------------------- analytics


def stock_movement_rows(*, shop: Shop, after_id: int = 0, limit: int = 1000) -> list[tuple]:
    """The shop's stock movements after ``after_id``, ``limit`` at most, by id: ``(id, sku_id, warehouse_id,
    created_at, on_hand_delta, on_hand_after)`` each (analytics rebuilds its daily stock rollup from these). Only
    the six columns are read, so a batch of a thousand is one narrow index-ordered query."""
    return list(
        StockMovement.objects.for_shop(shop).filter(id__gt=after_id).order_by("id")
        .values_list("id", "sku_id", "warehouse_id", "created_at", "on_hand_delta", "on_hand_after")[:limit]
    )  # fmt: skip
