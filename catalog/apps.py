from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog and inventory")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from backoffice.authz.scopes import register_scope
        from catalog.models import Category, CategoryUserObjectPermission, Warehouse, WarehouseUserObjectPermission

        # A member may be limited to chosen warehouses and/or categories (SPEC §1 per-object scope).
        register_scope("warehouse", Warehouse, WarehouseUserObjectPermission)
        register_scope("category", Category, CategoryUserObjectPermission)
