"""REST endpoints for the catalog (SPEC §2). Thin: shape in serializers, meaning in services/selectors."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from backoffice.api.pagination import CursorPagination
from backoffice.api.views import ANY_MEMBER, IsPlatformStaff, ShopViewSet
from backoffice.authz import system_actor
from backoffice.errors import ValidationFailed
from backoffice.tabular import stream_csv
from backoffice.tenancy.refs import ref_in_shop
from catalog import selectors, services
from catalog.api import serializers as s
from catalog.models import (
    SKU,
    Category,
    ExportJob,
    ImportJob,
    LowStockAlert,
    Product,
    Stock,
    StockMovement,
    Warehouse,
)
from catalog.moderation import MODERATE_PERMISSION, VIEW_PERMISSION
from catalog.services.taxonomy import category_delete, warehouse_delete
from catalog.uploads import IMAGE_BODY_CAP, IMPORT_BODY_CAP, check_body_size

# A CSV or XLSX file.
TABLE_FILE = {
    (200, "text/csv"): OpenApiTypes.BINARY,
    (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
}


def _param(name: str, kind=str, **kw) -> OpenApiParameter:
    return OpenApiParameter(name, kind, required=False, **kw)


class _CatalogViewSet(ShopViewSet):
    """Lists come from the app's selectors, narrowed for the action the request needs."""

    selector = None

    def selector_action(self) -> str:
        action = self.required_action()
        return "catalog.view" if action == ANY_MEMBER else action

    def base_queryset(self):
        return type(self).selector(shop=self.shop, actor=self.actor, action=self.selector_action())

    def _one(self, model, pk, action: str = "catalog.view", field: str = "id"):
        """An object of this shop by id that the actor may use for ``action`` (400 on ``field`` when unknown)."""
        return ref_in_shop(model, actor=self.actor, value=pk, field=field, action=action)

    def _export(self, request, kind: str):
        ser = s.CatalogExportCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        filters = ser.validated_data.get("filters")
        # ``?file_format=`` is what the export took when it was a GET: still honoured.
        fmt = ser.validated_data.get("format") or request.query_params.get("file_format") or ExportJob.Format.CSV
        job = services.export_create(actor=self.actor, kind=kind, fmt=fmt,
                                     filters=request.query_params if filters is None else filters)  # fmt: skip
        job.refresh_from_db()
        return Response(s.CatalogExportSerializer(job).data, status=status.HTTP_201_CREATED)


EXPORT_DOC = {
    "request": s.CatalogExportCreateSerializer,
    "responses": {201: s.CatalogExportSerializer},
    "description": "Start an export (CSV or XLSX) of the rows the list's filters select; it is built in the "
    "background: poll the job at its `url`, then download it from `download_url` (catalog-exports).",
}


# --------------------------------------------------------------------------------------------- categories


ACTIVE_FILTER = [_param("active", enum=["yes", "no"], description="active (yes) or inactive (no) only")]


@extend_schema_view(list=extend_schema(parameters=ACTIVE_FILTER))
class CategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CatalogViewSet):
    """The category tree (``parent`` null at the root). An inactive category (``is_active`` false) keeps its
    products; DELETE removes one nothing uses (409 otherwise: deactivate it instead)."""

    model = Category
    serializer_class = s.CategorySerializer
    selector = staticmethod(selectors.category_list)
    action_permissions = {"list": "catalog.view", "retrieve": "catalog.view", "create": "catalog.edit",
                          "partial_update": "catalog.edit", "destroy": "catalog.edit"}  # fmt: skip

    def base_queryset(self):
        filters = self.request.query_params if self.action == "list" else None
        return selectors.category_list(shop=self.shop, actor=self.actor, action=self.selector_action(),
                                       filters=filters)  # fmt: skip

    @extend_schema(responses={204: None})
    def destroy(self, request, shop: int, pk: int):
        category_delete(actor=self.actor, category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.CategorySerializer, responses={201: s.CategorySerializer})
    def create(self, request, shop: int):
        ser = s.CategorySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        parent = self._one(Category, ser.validated_data.get("parent_id"), "catalog.edit", "parent")
        category = services.category_create(actor=self.actor, name=ser.validated_data["name"], parent=parent)
        return Response(s.CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CategorySerializer, responses=s.CategorySerializer)
    def partial_update(self, request, shop: int, pk: int):
        category = self.get_object()
        ser = s.CategorySerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        kwargs = {}
        if "name" in ser.validated_data:
            kwargs["name"] = ser.validated_data["name"]
        if "parent_id" in ser.validated_data:
            kwargs["parent"] = self._one(Category, ser.validated_data["parent_id"], "catalog.edit", "parent")
        if "is_active" in ser.validated_data:
            kwargs["is_active"] = ser.validated_data["is_active"]
        category = services.category_update(actor=self.actor, category=category, **kwargs)
        return Response(s.CategorySerializer(category).data)


# --------------------------------------------------------------------------------------------- warehouses


@extend_schema_view(list=extend_schema(parameters=ACTIVE_FILTER))
class WarehouseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CatalogViewSet):
    """Warehouses. A closed one (``is_active`` false) keeps its stock and takes no stock changes; DELETE removes
    one nothing uses (409 otherwise: close it instead)."""

    model = Warehouse
    serializer_class = s.WarehouseSerializer
    selector = staticmethod(selectors.warehouse_list)
    action_permissions = {"list": "catalog.view", "retrieve": "catalog.view", "create": "catalog.manage_stock",
                          "partial_update": "catalog.manage_stock", "destroy": "catalog.manage_stock"}  # fmt: skip

    def base_queryset(self):
        filters = self.request.query_params if self.action == "list" else None
        return selectors.warehouse_list(shop=self.shop, actor=self.actor, action=self.selector_action(),
                                        filters=filters)  # fmt: skip

    @extend_schema(responses={204: None})
    def destroy(self, request, shop: int, pk: int):
        warehouse_delete(actor=self.actor, warehouse=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.WarehouseSerializer, responses={201: s.WarehouseSerializer})
    def create(self, request, shop: int):
        ser = s.WarehouseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        warehouse = services.warehouse_create(
            actor=self.actor, name=data["name"], code=data["code"], address=data.get("address", "")
        )
        return Response(s.WarehouseSerializer(warehouse).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WarehouseSerializer, responses=s.WarehouseSerializer)
    def partial_update(self, request, shop: int, pk: int):
        warehouse = self.get_object()
        ser = s.WarehouseSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        warehouse = services.warehouse_update(actor=self.actor, warehouse=warehouse, **ser.validated_data)
        return Response(s.WarehouseSerializer(warehouse).data)


# --------------------------------------------------------------------------------------------- products

PRODUCT_FILTERS = [
    _param("status", enum=[c for c, _l in Product.Status.choices]),
    _param("category", int),
    _param("warehouse", int),
    _param("low_stock", bool),
    _param("search", description="title, SKU code or barcode"),
]


@extend_schema_view(list=extend_schema(parameters=PRODUCT_FILTERS))
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CatalogViewSet):
    """Products with their SKUs and images. Moderation: ``submit``, ``archive``, ``unarchive``."""

    model = Product
    serializer_class = s.ProductSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {
        "list": "catalog.view",
        "retrieve": "catalog.view",
        "create": "catalog.edit",
        "partial_update": "catalog.edit",
        "submit": "catalog.publish",
        "archive": "catalog.publish",
        "unarchive": "catalog.publish",
        "export": "catalog.view",
        "images": "catalog.edit",
        "image_delete": "catalog.edit",
        "images_reorder": "catalog.edit",
    }

    def initial(self, request, *args, **kwargs):
        if self.action == "images":  # refuse a too-large body before anything reads it (413)
            check_body_size(request, IMAGE_BODY_CAP, "image")
        super().initial(request, *args, **kwargs)

    def base_queryset(self):
        return selectors.product_list(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                      action=self.selector_action())  # fmt: skip

    def _fresh(self, product) -> dict:
        product = selectors.product_list(shop=self.shop, actor=self.actor).get(pk=product.pk)
        return s.ProductSerializer(product, context=self.get_serializer_context()).data

    @extend_schema(request=s.ProductCreateSerializer, responses={201: s.ProductSerializer})
    def create(self, request, shop: int):
        ser = s.ProductCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        product = services.product_create(
            actor=self.actor,
            title=data["title"],
            description=data.get("description", ""),
            brand=data.get("brand", ""),
            category=self._one(Category, data.get("category"), "catalog.edit", "category"),
            attributes=data.get("attributes") or {},
            skus=data.get("skus", []),
        )
        return Response(self._fresh(product), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ProductUpdateSerializer, responses=s.ProductSerializer)
    def partial_update(self, request, shop: int, pk: int):
        product = self.get_object()
        ser = s.ProductUpdateSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        if "category" in data:
            data["category"] = self._one(Category, data["category"], "catalog.edit", "category")
        product = services.product_update(actor=self.actor, product=product, **data)
        return Response(self._fresh(product))

    @extend_schema(request=None, responses=s.ProductSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, shop: int, pk: int):
        product = services.product_submit(actor=self.actor, product=self.get_object())
        return Response(self._fresh(product))

    @extend_schema(request=None, responses=s.ProductSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, shop: int, pk: int):
        product = services.product_archive(actor=self.actor, product=self.get_object())
        return Response(self._fresh(product))

    @extend_schema(request=None, responses=s.ProductSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, shop: int, pk: int):
        product = services.product_unarchive(actor=self.actor, product=self.get_object())
        return Response(self._fresh(product))

    @extend_schema(parameters=[*PRODUCT_FILTERS, _param("ids", description="comma-separated product ids")],
                   **EXPORT_DOC)  # fmt: skip
    @action(detail=False, methods=["post"], url_path="export")
    def export(self, request, shop: int):
        return self._export(request, ExportJob.Kind.PRODUCTS)

    @extend_schema(request={"multipart/form-data": s.ImageUploadSerializer}, responses={201: s.ProductImageSerializer})
    @action(detail=True, methods=["post"])
    def images(self, request, shop: int, pk: int):
        ser = s.ImageUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        image = services.image_add(actor=self.actor, product=self.get_object(), upload=ser.validated_data["image"])
        return Response(s.ProductImageSerializer(image).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"images/(?P<image_id>[0-9]+)")
    def image_delete(self, request, shop: int, pk: int, image_id: int):
        image = selectors.image_get(shop=self.shop, product=self.get_object(), pk=image_id)
        if image is None:
            raise Http404
        services.image_remove(actor=self.actor, image=image)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.ImageOrderSerializer, responses=s.ProductImageSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="images/reorder", pagination_class=None)  # a plain list
    def images_reorder(self, request, shop: int, pk: int):
        ser = s.ImageOrderSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ordered = services.images_reorder(actor=self.actor, product=self.get_object(),
                                          order=ser.validated_data["order"])  # fmt: skip
        return Response(s.ProductImageSerializer(ordered, many=True).data)


# --------------------------------------------------------------------------------------------- SKUs


@extend_schema_view(list=extend_schema(parameters=[_param("product", int), _param("code"), _param("barcode"),
                                                   _param("search"), _param("low_stock", bool)]))  # fmt: skip
class SKUViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CatalogViewSet):
    """Variants. ``cost`` is shown and accepted only with ``catalog.view_cost``."""

    model = SKU
    serializer_class = s.SKUSerializer
    action_permissions = {"list": "catalog.view", "retrieve": "catalog.view", "create": "catalog.edit",
                          "partial_update": "catalog.edit", "destroy": "catalog.edit",
                          "bulk_price": "catalog.edit", "bulk_stock": "catalog.manage_stock"}  # fmt: skip

    def base_queryset(self):
        return selectors.sku_list(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                  action=self.selector_action())  # fmt: skip

    @extend_schema(request=s.SKUCreateSerializer, responses={201: s.SKUSerializer})
    def create(self, request, shop: int):
        ser = s.SKUCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        product = self._one(Product, data.pop("product"), "catalog.edit", "product")
        sku = services.sku_create(actor=self.actor, product=product, **data)
        return Response(self.get_serializer(sku).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SKUInputSerializer, responses=s.SKUSerializer)
    def partial_update(self, request, shop: int, pk: int):
        sku = self.get_object()
        ser = s.SKUInputSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        sku = services.sku_update(actor=self.actor, sku=sku, **ser.validated_data)
        return Response(self.get_serializer(sku).data)

    def _bulk(self, ser, change: dict):
        """Plan (``dry_run``) or apply one bulk edit: 200 with each SKU's values as [before, after]."""
        data = ser.validated_data
        run = services.sku_bulk_plan if data["dry_run"] else services.sku_bulk_edit
        rows = run(actor=self.actor, sku_ids=data["skus"], **change)
        return Response(s.BulkResultSerializer({"dry_run": data["dry_run"], "skus": rows}).data)

    @extend_schema(request=s.BulkPriceSerializer, responses=s.BulkResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-price")
    def bulk_price(self, request, shop: int):
        """Change the price of the SKUs in ``skus``: set it, change it by a percentage or an amount, and set or
        clear the old price. Every SKU or none: a SKU the change cannot apply to (price not above zero, old price
        below the price) is a 400 naming it (``skus.<code>``), an unknown id a 404, a SKU outside your scope a
        403. ``dry_run`` answers what would change, changing nothing."""
        ser = s.BulkPriceSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        change = services.PriceChange(op=d["price_op"], value=d.get("price_value"), old_op=d["old_price_op"],
                                      old_value=d.get("old_price_value"))  # fmt: skip
        return self._bulk(ser, {"price": change})

    @extend_schema(request=s.BulkStockSerializer, responses=s.BulkResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-stock")
    def bulk_stock(self, request, shop: int):
        """Set the on-hand level of the SKUs in ``skus`` at one warehouse (an inventory count), or add to it or take
        from it (``reason``). Every SKU or none: a level below what is reserved is a 400 naming the SKU."""
        ser = s.BulkStockSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        warehouse = self._one(Warehouse, d["warehouse"], "catalog.manage_stock", "warehouse")
        change = services.StockChange(op=d["stock_op"], warehouse=warehouse, quantity=d["quantity"],
                                      reason=d["reason"], note=d["note"])  # fmt: skip
        return self._bulk(ser, {"stock": change})

    @extend_schema(responses={204: None})
    def destroy(self, request, shop: int, pk: int):
        """Remove a variant added by mistake: 409 for a product's last variant, while it holds stock,
        or once it has a stock history or orders (``last_variant``, ``sku_has_stock``, ``sku_in_use``)."""
        services.sku_delete(actor=self.actor, sku=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------- stock

STOCK_FILTERS = [_param("sku", description="SKU code or id"), _param("warehouse", int), _param("product", int),
                 _param("low_stock", bool), _param("search")]  # fmt: skip


class StockLevelPagination(CursorPagination):
    """The stock list's rows are SKUs (one per warehouse they are stocked in): the cursor runs on the SKU id,
    nearly unique, with the warehouse as the tie-break (DRF keeps an offset among rows sharing an id)."""

    ordering = ("-id", "wh_id")


@extend_schema_view(list=extend_schema(parameters=STOCK_FILTERS))
class StockViewSet(mixins.ListModelMixin, _CatalogViewSet):
    """Stock per SKU per warehouse: ``available = on_hand − reserved``; a SKU with no stock in the warehouses
    listed appears with zeros (``warehouse`` null unless the list is filtered by one). Changes go through
    ``adjustments``."""

    model = Stock
    serializer_class = s.StockLevelSerializer
    pagination_class = StockLevelPagination
    action_permissions = {"list": "catalog.view", "adjustments": "catalog.manage_stock", "export": "catalog.view"}

    def base_queryset(self):
        return selectors.stock_levels(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                      action=self.selector_action())  # fmt: skip

    @extend_schema(request=s.AdjustmentSerializer, responses={201: s.MovementSerializer})
    @action(detail=False, methods=["post"])
    def adjustments(self, request, shop: int):
        ser = s.AdjustmentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        sku = selectors.sku_get_by_code_or_id(shop=self.shop, actor=self.actor, value=data["sku"],
                                              action="catalog.manage_stock")  # fmt: skip
        if sku is None:
            raise ValidationFailed(_("Unknown SKU."), fields={"sku": [_("Not found in this shop.")]})
        warehouse = self._one(Warehouse, data["warehouse"], "catalog.manage_stock", "warehouse")
        movement = services.stock_adjust(actor=self.actor, sku=sku, warehouse=warehouse, delta=data["delta"],
                                         reason=data["reason"], note=data.get("note", ""))  # fmt: skip
        return Response(s.MovementSerializer(movement).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=STOCK_FILTERS, **EXPORT_DOC)
    @action(detail=False, methods=["post"])
    def export(self, request, shop: int):
        return self._export(request, ExportJob.Kind.STOCK)


@extend_schema_view(list=extend_schema(parameters=[
    _param("sku"), _param("warehouse", int), _param("kind", enum=[c for c, _l in StockMovement.Kind.choices])]))  # fmt: skip
class StockMovementViewSet(mixins.ListModelMixin, _CatalogViewSet):
    """The append-only history of stock changes."""

    model = StockMovement
    serializer_class = s.MovementSerializer
    action_permissions = {"list": "catalog.view"}

    def base_queryset(self):
        return selectors.movement_list(shop=self.shop, actor=self.actor, filters=self.request.query_params)


@extend_schema_view(list=extend_schema(parameters=[_param("status", enum=["open", "resolved", "all"])]))
class LowStockAlertViewSet(mixins.ListModelMixin, _CatalogViewSet):
    model = LowStockAlert
    serializer_class = s.AlertSerializer
    action_permissions = {"list": "catalog.view"}

    def base_queryset(self):
        return selectors.alert_list(shop=self.shop, actor=self.actor, filters=self.request.query_params)


# --------------------------------------------------------------------------------------------- imports and exports


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Bulk imports (CSV or XLSX) run in the background; poll ``progress``, download ``report``.
    Importing products needs ``catalog.edit``, stock levels ``catalog.manage_stock`` (the service checks)."""

    model = ImportJob
    serializer_class = s.ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    action_permissions = {"list": "catalog.view", "retrieve": "catalog.view", "create": "catalog.view",
                          "report": "catalog.view"}  # fmt: skip

    def initial(self, request, *args, **kwargs):
        if self.action == "create":  # refuse a too-large body before anything reads it (413)
            check_body_size(request, IMPORT_BODY_CAP)
        super().initial(request, *args, **kwargs)

    def base_queryset(self):
        return selectors.import_list(shop=self.shop, actor=self.actor)

    @extend_schema(request={"multipart/form-data": s.ImportCreateSerializer}, responses={201: s.ImportJobSerializer})
    def create(self, request, shop: int):
        ser = s.ImportCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        job = services.import_job_create(actor=self.actor, kind=ser.validated_data["kind"],
                                         upload=ser.validated_data["file"])  # fmt: skip
        job.refresh_from_db()
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def report(self, request, shop: int, pk: int):
        return stream_csv(*selectors.import_report(job=self.get_object()))


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Catalog exports built in the background (started by ``POST products/export/`` or
    ``POST stock/export/``): poll one, then ``download`` it. A file with cost prices downloads only for
    members who may see cost prices."""

    model = ExportJob
    serializer_class = s.CatalogExportSerializer
    action_permissions = {"list": "catalog.view", "retrieve": "catalog.view", "download": "catalog.view"}

    def base_queryset(self):
        return selectors.export_list(shop=self.shop, actor=self.actor)

    @extend_schema(responses=TABLE_FILE)
    @action(detail=True, methods=["get"])
    def download(self, request, shop: int, pk: int):
        job = selectors.export_for_download(shop=self.shop, actor=self.actor, pk=pk)
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_basename)


# --------------------------------------------------------------------------------------------- platform


class IsProductModerator(permissions.BasePermission):
    """What the admin asks of a moderator, asked here too (the "Platform moderators" group holds both):
    ``catalog.view_product`` to see the queue, ``catalog.change_product`` to decide. Any other action
    (a future one included) asks for the decision right: fail closed."""

    message = gettext_lazy("Only platform moderators may moderate products.")
    READS = frozenset({"list", "retrieve", "metadata"})

    def has_permission(self, request, view) -> bool:
        needed = VIEW_PERMISSION if view.action in self.READS else MODERATE_PERMISSION
        return bool(request.user and request.user.is_active and request.user.has_perm(needed))


@extend_schema_view(list=extend_schema(parameters=[_param("status", enum=[*(c for c, _l in Product.Status.choices),
                                                                             "all"])]))  # fmt: skip
class PlatformProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Platform moderators (staff in the "Platform moderators" group, as in the admin) moderate products of
    every shop: approve or reject (with reason). The services act as the system actor of the product's
    shop, for the staff user."""

    permission_classes = [IsPlatformStaff, IsProductModerator]
    serializer_class = s.ProductSerializer
    pagination_class = CursorPagination
    lookup_value_regex = "[0-9]+"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "actor": None}

    def get_queryset(self):
        if self.action != "list":
            return selectors.moderation_queue(status=None)
        status_filter = self.request.query_params.get("status", Product.Status.PENDING_REVIEW)
        return selectors.moderation_queue(status=None if status_filter == "all" else status_filter)

    def _platform(self, product):
        return system_actor(product.shop, user=self.request.user)

    @extend_schema(request=None, responses=s.ProductSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk: int):
        product = self.get_object()
        product = services.product_approve(actor=self._platform(product), product=product)
        return Response(s.ProductSerializer(product, context=self.get_serializer_context()).data)

    @extend_schema(request=s.RejectSerializer, responses=s.ProductSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk: int):
        ser = s.RejectSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        product = self.get_object()
        product = services.product_reject(actor=self._platform(product), product=product,
                                          reason=ser.validated_data["reason"])  # fmt: skip
        return Response(s.ProductSerializer(product, context=self.get_serializer_context()).data)
