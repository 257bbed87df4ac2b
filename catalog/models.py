"""Catalog and inventory: categories, warehouses, products and their SKUs, stock per SKU per
warehouse with its movement history, low-stock alerts and import jobs.

State lives in fields; every transition and every stock change happens in ``catalog.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import UserObjectPermissionBase

from backoffice.authz.scopes import scope_permission_meta
from backoffice.jobs import BackgroundJob
from backoffice.tenancy.models import ShopOwnedModel

MONEY = {"max_digits": 12, "decimal_places": 2}


class Category(ShopOwnedModel):
    """A node of the shop's category tree. Members may be limited to chosen categories."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    # An inactive category keeps its products but is no longer offered for new ones.
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"category": "pk"}

    class Meta:
        default_manager_name = "unscoped"
        permissions = [scope_permission_meta("category")]
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "parent", "name"], name="category_unique_name_per_parent"),
            models.UniqueConstraint(
                fields=["shop", "name"], condition=Q(parent__isnull=True), name="category_unique_root_name"
            ),
        ]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class CategoryUserObjectPermission(UserObjectPermissionBase):
    """Per-category scope grants (guardian direct foreign key)."""

    content_object = models.ForeignKey(Category, on_delete=models.CASCADE)


class Warehouse(ShopOwnedModel):
    """A place stock is kept. Members may be limited to chosen warehouses."""

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40)
    address = models.CharField(_("address"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"warehouse": "pk"}

    class Meta:
        default_manager_name = "unscoped"
        permissions = [scope_permission_meta("warehouse")]
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "code"], name="warehouse_unique_code_per_shop")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class WarehouseUserObjectPermission(UserObjectPermissionBase):
    """Per-warehouse scope grants (guardian direct foreign key)."""

    content_object = models.ForeignKey(Warehouse, on_delete=models.CASCADE)


class Product(ShopOwnedModel):
    """A product card. Its moderation status moves only through the services:
    draft → pending_review → approved | rejected; archived ↔ draft."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING_REVIEW = "pending_review", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ARCHIVED = "archived", _("Archived")

    # The fields whose change on an approved product sends it back to review.
    CONTENT_FIELDS = ("title", "description", "brand", "category", "attributes")

    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=120, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="products", verbose_name=_("category")
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # The key that groups import rows into one product (blank when created by hand).
    ref = models.CharField(_("reference"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_paths = {"category": "category_id"}

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "ref"], condition=~Q(ref=""), name="product_unique_ref_per_shop"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "pending_review", "approved", "rejected", "archived"]),
                name="product_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "-id"], name="product_shop_status"),
            models.Index(fields=["shop", "-id"], name="product_shop_list"),
        ]

    def __str__(self) -> str:
        return self.title


def _image_path(instance, filename: str) -> str:
    return f"catalog/{instance.shop_id}/products/{instance.product_id}/{filename}"


class ProductImage(ShopOwnedModel):
    """A product photo, validated by Pillow, with a generated thumbnail; shown in ``position`` order."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=_image_path, width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to=_image_path, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"category": "product__category_id"}

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"image {self.pk} of product {self.product_id}"


class SKU(ShopOwnedModel):
    """A variant of a product: what is stocked and sold. ``code`` is unique per shop."""

    # Fields whose change counts as a content edit (back to review); price, cost and threshold do not.
    CONTENT_FIELDS = ("code", "barcode", "attributes", "weight", "length", "width", "height")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=64)
    barcode = models.CharField(_("barcode"), max_length=64, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    price = models.DecimalField(_("price"), **MONEY)
    old_price = models.DecimalField(_("old price"), null=True, blank=True, **MONEY)
    cost = models.DecimalField(_("cost price"), null=True, blank=True, **MONEY)
    weight = models.DecimalField(_("weight, kg"), max_digits=9, decimal_places=3, null=True, blank=True)
    length = models.DecimalField(_("length, cm"), max_digits=9, decimal_places=1, null=True, blank=True)
    width = models.DecimalField(_("width, cm"), max_digits=9, decimal_places=1, null=True, blank=True)
    height = models.DecimalField(_("height, cm"), max_digits=9, decimal_places=1, null=True, blank=True)
    low_stock_threshold = models.PositiveIntegerField(_("low-stock threshold"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_paths = {"category": "product__category_id"}

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["id"]
        verbose_name = "SKU"
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="sku_unique_code_per_shop"),
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_not_negative"),
            models.CheckConstraint(condition=Q(old_price__isnull=True) | Q(old_price__gte=0), name="sku_old_price_ok"),
            models.CheckConstraint(condition=Q(cost__isnull=True) | Q(cost__gte=0), name="sku_cost_not_negative"),
        ]
        indexes = [models.Index(fields=["shop", "barcode"], name="sku_shop_barcode")]

    def __str__(self) -> str:
        return self.code


class Stock(ShopOwnedModel):
    """How many units of one SKU one warehouse holds. ``available = on_hand − reserved`` is a
    generated column; the check constraints keep ``0 ≤ reserved ≤ on_hand``, so it is never negative."""

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="stock")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    available = models.GeneratedField(
        expression=F("on_hand") - F("reserved"), output_field=models.IntegerField(), db_persist=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope_paths = {"warehouse": "warehouse_id", "category": "sku__product__category_id"}

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "sku", "warehouse"], name="stock_unique_sku_warehouse"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(on_hand__gte=F("reserved")), name="stock_available_not_negative"),
        ]
        indexes = [models.Index(fields=["shop", "-id"], name="stock_shop_list")]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}: {self.on_hand}/{self.reserved}"


class StockMovement(ShopOwnedModel):
    """One change of a stock row, append-only: who, when, why, and the numbers after it."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        ADJUSTMENT = "adjustment", _("Adjustment")
        RESERVATION = "reservation", _("Reservation")
        RELEASE = "release", _("Release")
        SHIPMENT = "shipment", _("Shipment")
        RETURN = "return", _("Return")

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    on_hand_after = models.IntegerField()
    reserved_after = models.IntegerField()
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    scope_paths = {"warehouse": "warehouse_id", "category": "sku__product__category_id"}

    class Meta:
        default_manager_name = "unscoped"
        indexes = [
            models.Index(fields=["shop", "-id"], name="movement_shop_list"),
            models.Index(fields=["shop", "sku", "-id"], name="movement_shop_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.on_hand_delta:+}/{self.reserved_delta:+} of {self.sku_id}@{self.warehouse_id}"


class LowStockAlert(ShopOwnedModel):
    """Open while a SKU's available stock (all warehouses) is at or below its threshold; one open per SKU."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("low-stock alert status", "Open")
        RESOLVED = "resolved", _("Resolved")

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="low_stock_alerts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    available_at_open = models.IntegerField()
    threshold = models.PositiveIntegerField()
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    scope_paths = {"category": "sku__product__category_id"}

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "sku"], condition=Q(status="open"), name="alert_one_open_per_sku")
        ]
        indexes = [models.Index(fields=["shop", "status", "-id"], name="alert_shop_status")]

    def __str__(self) -> str:
        return f"low stock {self.sku_id} ({self.status})"


def _import_path(instance, filename: str) -> str:
    return f"catalog/{instance.shop_id}/imports/{filename}"


class ImportJob(BackgroundJob):
    """A bulk import running in the background: status, progress and a row-level error list."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("Products and SKUs")
        STOCK = "stock", _("Stock levels")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to=_import_path)
    file_name = models.CharField(max_length=255)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    unchanged_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    # [{"row": 7, "field": "price", "message": "..."}]
    errors = models.JSONField(default=list, blank=True)
    # How a CSV file was read (blank for XLSX): "utf-8", "utf-8-sig", "cp1251" or "utf-16"; "," ";" or tab.
    file_encoding = models.CharField(max_length=16, blank=True, default="")
    file_delimiter = models.CharField(max_length=1, blank=True, default="")

    class Meta(BackgroundJob.Meta):
        indexes = [models.Index(fields=["shop", "-id"], name="import_shop_list")]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.status})"

    @property
    def progress(self) -> int:
        """Percent done (0-100)."""
        if self.status == self.Status.DONE:
            return 100
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0


def _export_path(instance, filename: str) -> str:
    return f"catalog/{instance.shop_id}/exports/{filename}"


class ExportJob(BackgroundJob):
    """A catalog export (products and SKUs, or stock levels; CSV or XLSX) built in the background with
    the scope of the member who asked; cost prices only when they could see them."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("Products and SKUs")
        STOCK = "stock", _("Stock levels")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    fmt = models.CharField(max_length=4, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_export_path, blank=True)
    # Whether the file holds cost prices (its creator could see them): then only members who may see
    # cost prices may download it.
    with_cost = models.BooleanField(default=False)

    class Meta(BackgroundJob.Meta):
        indexes = [models.Index(fields=["shop", "-id"], name="catalog_export_list")]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} ({self.status})"

    @property
    def progress(self) -> int:
        """Percent done (0-100)."""
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(self.processed_rows * 100 / self.total_rows)) if self.total_rows else 0

    @property
    def file_basename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""
