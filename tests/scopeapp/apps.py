from django.apps import AppConfig


class ScopeAppConfig(AppConfig):
    """A test-only domain app that uses the kernel's per-object scope mechanism the way the
    catalog (warehouses, categories) and support (conversations) apps will."""

    name = "tests.scopeapp"
    label = "scopeapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from backoffice.authz.scopes import register_scope
        from tests.scopeapp.models import Depot, DepotUserObjectPermission

        register_scope("depot", Depot, DepotUserObjectPermission)
