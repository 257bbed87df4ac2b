"""Writes for the catalog: one use case per function, one transaction each, one audit entry each.

Every service is keyword-only, takes ``actor`` (a member's :class:`~backoffice.authz.Actor`, or
``system_actor(shop, user=...)`` for platform code and tasks; the shop is ``actor.shop``) and checks
its own action with ``require`` (scope included) before anything else. By sub-domain:

- ``taxonomy``: categories and warehouses;
- ``products``: products, SKUs, moderation;
- ``stock``: receipts, adjustments, counts, reservations (used by orders);
- ``alerts``: the low-stock scan and its notices;
- ``transfer``: imports and exports (background jobs);
- ``images``: product photos.

Everything public is re-exported here, so callers write ``from catalog import services``.
"""

from catalog.services.alerts import low_stock_scan
from catalog.services.images import (
    MAX_IMAGES,
    image_add,
    image_move,
    image_remove,
    images_reorder,
    validate_image,
)
from catalog.services.products import (
    BULK_MAX,
    SKU_FIELDS,
    THRESHOLD_MAX,
    PriceChange,
    StockChange,
    clean_attributes,
    product_approve,
    product_archive,
    product_create,
    product_edit,
    product_reject,
    product_submit,
    product_unarchive,
    product_update,
    sku_bulk_edit,
    sku_bulk_plan,
    sku_create,
    sku_delete,
    sku_update,
)
from catalog.services.stock import (
    ADJUSTMENT_REASON_CODES,
    ADJUSTMENT_REASONS,
    STOCK_LEVEL_MAX,
    stock_adjust,
    stock_release,
    stock_reserve,
    stock_set_level,
    stock_ship,
)
from catalog.services.taxonomy import category_create, category_update, warehouse_create, warehouse_update
from catalog.services.transfer import (
    EXPORT_FILTER_KEYS,
    IMPORT_ACTIONS,
    PRODUCT_COLUMNS,
    STOCK_COLUMNS,
    export_build,
    export_create,
    import_job_create,
    import_job_run,
    open_table,
    read_table,
)

__all__ = [
    "BULK_MAX",
    "PriceChange",
    "StockChange",
    "clean_attributes",
    "sku_bulk_edit",
    "sku_bulk_plan",
    "ADJUSTMENT_REASONS",
    "ADJUSTMENT_REASON_CODES",
    "EXPORT_FILTER_KEYS",
    "IMPORT_ACTIONS",
    "MAX_IMAGES",
    "PRODUCT_COLUMNS",
    "SKU_FIELDS",
    "THRESHOLD_MAX",
    "STOCK_LEVEL_MAX",
    "STOCK_COLUMNS",
    "category_create",
    "category_update",
    "export_build",
    "export_create",
    "image_add",
    "image_move",
    "image_remove",
    "images_reorder",
    "import_job_create",
    "import_job_run",
    "low_stock_scan",
    "product_approve",
    "product_archive",
    "product_create",
    "product_edit",
    "product_reject",
    "product_submit",
    "product_unarchive",
    "product_update",
    "open_table",
    "read_table",
    "sku_create",
    "sku_delete",
    "sku_update",
    "stock_adjust",
    "stock_release",
    "stock_reserve",
    "stock_set_level",
    "stock_ship",
    "validate_image",
    "warehouse_create",
    "warehouse_update",
]
