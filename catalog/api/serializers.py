"""Shapes of the catalog API. Serializers check shape only; the services check meaning."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice.authz import can
from backoffice.parsing import BIGINT_MAX
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
from catalog.services import ADJUSTMENT_REASON_CODES, BULK_MAX, STOCK_LEVEL_MAX, THRESHOLD_MAX
from catalog.services.products import OLD_PRICE_OPS, PRICE_OPS, STOCK_OPS

# Shape only: the services say which amounts are allowed (a price above zero, an old price not below it, no
# negative cost), with one message for the API, the pages and the imports.
MONEY = {"max_digits": 12, "decimal_places": 2}
# Every id in a body is a positive bigint: a 20-digit number is a 400 on its field, never a 500.
ID = {"min_value": 1, "max_value": BIGINT_MAX}


def _may_see_cost(context) -> bool:
    actor = context.get("actor")
    return can(actor, "catalog.view_cost")


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="parent_id", allow_null=True, required=False, **ID)

    class Meta:
        model = Category
        fields = ["id", "name", "parent", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "name", "code", "address", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]


class SKUSerializer(serializers.ModelSerializer):
    """A variant. ``cost`` is present only for members holding ``catalog.view_cost``."""

    class Meta:
        model = SKU
        fields = ["id", "product", "code", "barcode", "attributes", "price", "old_price", "cost", "weight", "length",
                  "width", "height", "low_stock_threshold", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        if not _may_see_cost(self.context):
            fields.pop("cost", None)
        return fields


class SKUInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    price = serializers.DecimalField(**MONEY)
    barcode = serializers.CharField(max_length=64, required=False, allow_blank=True)
    attributes = serializers.DictField(required=False)
    old_price = serializers.DecimalField(required=False, allow_null=True, **MONEY)
    cost = serializers.DecimalField(required=False, allow_null=True, **MONEY)
    weight = serializers.DecimalField(max_digits=9, decimal_places=3, min_value=0, required=False, allow_null=True)
    length = serializers.DecimalField(max_digits=9, decimal_places=1, min_value=0, required=False, allow_null=True)
    width = serializers.DecimalField(max_digits=9, decimal_places=1, min_value=0, required=False, allow_null=True)
    height = serializers.DecimalField(max_digits=9, decimal_places=1, min_value=0, required=False, allow_null=True)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=THRESHOLD_MAX, required=False,
                                                   allow_null=True)  # fmt: skip


class SKUCreateSerializer(SKUInputSerializer):
    product = serializers.IntegerField(**ID)


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "thumbnail_url", "width", "height", "position"]

    def get_url(self, obj) -> str:
        return obj.image.url if obj.image else ""

    def get_thumbnail_url(self, obj) -> str:
        return obj.thumbnail.url if obj.thumbnail else ""


class ProductSerializer(serializers.ModelSerializer):
    skus = SKUSerializer(many=True, read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)
    category_name = serializers.CharField(source="category.name", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Product
        fields = ["id", "title", "description", "brand", "category", "category_name", "attributes", "status",
                  "rejection_reason", "submitted_at", "reviewed_at", "created_at", "updated_at", "skus", "images"]  # fmt: skip
        read_only_fields = fields


class ProductCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True)
    brand = serializers.CharField(max_length=120, required=False, allow_blank=True)
    category = serializers.IntegerField(required=False, allow_null=True, **ID)
    attributes = serializers.DictField(required=False)
    skus = SKUInputSerializer(many=True, required=False)


class ProductUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    brand = serializers.CharField(max_length=120, required=False, allow_blank=True)
    category = serializers.IntegerField(required=False, allow_null=True, **ID)
    attributes = serializers.DictField(required=False)


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField()


class ImageOrderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(**ID), allow_empty=False, max_length=1000)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class StockSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code", read_only=True)
    sku_id = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="sku.product_id", read_only=True)
    product_title = serializers.CharField(source="sku.product.title", read_only=True)
    warehouse = serializers.IntegerField(source="warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)

    class Meta:
        model = Stock
        fields = ["id", "sku", "sku_id", "product", "product_title", "warehouse", "warehouse_code", "on_hand",
                  "reserved", "available", "updated_at"]  # fmt: skip
        read_only_fields = fields


class StockLevelSerializer(serializers.Serializer):
    """A row of the stock list (``catalog.selectors.stock_levels``): a SKU's level in one warehouse, or, for
    a SKU with no stock in the warehouses listed, zeros with ``warehouse`` null (``id`` is the stock row's,
    null when there is none)."""

    id = serializers.IntegerField(source="stock_id", allow_null=True, read_only=True)
    sku = serializers.CharField(source="code", read_only=True)
    sku_id = serializers.IntegerField(source="pk", read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True)
    product_title = serializers.CharField(source="product.title", read_only=True)
    warehouse = serializers.IntegerField(source="wh_id", allow_null=True, read_only=True)
    warehouse_code = serializers.CharField(source="wh_code", allow_null=True, read_only=True)
    on_hand = serializers.IntegerField(read_only=True)
    reserved = serializers.IntegerField(read_only=True)
    available = serializers.IntegerField(read_only=True)
    updated_at = serializers.DateTimeField(source="stock_updated_at", allow_null=True, read_only=True)


class AdjustmentSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text=_("SKU code or id"))
    warehouse = serializers.IntegerField(**ID)
    delta = serializers.IntegerField(min_value=-STOCK_LEVEL_MAX, max_value=STOCK_LEVEL_MAX)
    reason = serializers.ChoiceField(choices=ADJUSTMENT_REASON_CODES)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)

    def validate_delta(self, value):
        if value == 0:
            raise serializers.ValidationError(_("Must not be zero."))
        return value


class MovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code", read_only=True)
    sku_id = serializers.IntegerField(read_only=True)
    warehouse = serializers.IntegerField(source="warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    # None for a movement nobody made by hand (no user recorded).
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = StockMovement
        fields = ["id", "sku", "sku_id", "warehouse", "warehouse_code", "kind", "on_hand_delta", "reserved_delta",
                  "on_hand_after", "reserved_after", "reason", "note", "reference", "actor", "created_at"]  # fmt: skip
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code", read_only=True)
    sku_id = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="sku.product_id", read_only=True)
    product_title = serializers.CharField(source="sku.product.title", read_only=True)

    class Meta:
        model = LowStockAlert
        fields = ["id", "sku", "sku_id", "product", "product_title", "status", "available_at_open", "threshold",
                  "opened_at", "resolved_at"]  # fmt: skip
        read_only_fields = fields


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = ["id", "kind", "file_name", "status", "progress", "total_rows", "processed_rows", "created_rows",
                  "updated_rows", "unchanged_rows", "error_rows", "message", "created_by", "created_at",
                  "started_at", "finished_at", "report_url", "file_encoding", "file_delimiter"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_report_url(self, obj) -> str | None:
        if not obj.error_rows:
            return None
        return reverse("api:catalog_api:imports-report", kwargs={"shop": obj.shop_id, "pk": obj.pk})


class ImportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    file = serializers.FileField()


class CatalogExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=ExportJob.Format.choices, required=False, help_text=_("csv (the default) or xlsx")
    )
    filters = serializers.DictField(
        required=False,
        help_text=_("The list's filters (default: those of the query string), as the list takes them."),
    )


class CatalogExportSerializer(serializers.ModelSerializer):
    """A catalog export built in the background: poll ``status``/``progress``, then fetch ``download_url``."""

    format = serializers.CharField(source="fmt", read_only=True)
    progress = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "format", "filters", "status", "progress", "total_rows", "processed_rows",
                  "with_cost", "message", "created_by", "created_at", "started_at", "finished_at", "url",
                  "download_url"]  # fmt: skip
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return reverse("api:catalog_api:catalog-exports-detail", kwargs={"shop": obj.shop_id, "pk": obj.pk})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, obj) -> str | None:
        if obj.status != ExportJob.Status.DONE or not obj.file:
            return None
        return reverse("api:catalog_api:catalog-exports-download", kwargs={"shop": obj.shop_id, "pk": obj.pk})


# --------------------------------------------------------------------------------------------- bulk edit


class _BulkSerializer(serializers.Serializer):
    skus = serializers.ListField(child=serializers.IntegerField(**ID), min_length=1, max_length=BULK_MAX,
                                 help_text="SKU ids")  # fmt: skip
    dry_run = serializers.BooleanField(default=False, help_text="Only answer what would change (the confirmation).")


class BulkPriceSerializer(_BulkSerializer):
    price_op = serializers.ChoiceField(choices=["", *PRICE_OPS], required=False, default="")
    price_value = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    old_price_op = serializers.ChoiceField(choices=["", *OLD_PRICE_OPS], required=False, default="")
    old_price_value = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)


class BulkStockSerializer(_BulkSerializer):
    stock_op = serializers.ChoiceField(choices=list(STOCK_OPS))
    warehouse = serializers.IntegerField(**ID)
    quantity = serializers.IntegerField(min_value=-STOCK_LEVEL_MAX, max_value=STOCK_LEVEL_MAX)
    reason = serializers.ChoiceField(choices=ADJUSTMENT_REASON_CODES, required=False, default="correction",
                                     help_text="for stock_op=add (set is an inventory count)")  # fmt: skip
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class BulkRowSerializer(serializers.Serializer):
    """One SKU of a bulk edit: each changed value as [before, after]."""

    id = serializers.IntegerField(source="sku.pk")
    code = serializers.CharField(source="sku.code")
    price = serializers.ListField(child=serializers.DecimalField(max_digits=12, decimal_places=2))
    old_price = serializers.ListField(child=serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    warehouse = serializers.IntegerField(source="warehouse.pk", required=False)
    on_hand = serializers.ListField(child=serializers.IntegerField(), required=False)
    reserved = serializers.IntegerField(required=False)


class BulkResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    skus = BulkRowSerializer(many=True)
