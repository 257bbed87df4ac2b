"""Admin base for platform staff: every shop row changes only through the services (and their audit
entries), so models are shown read-only, and the platform's own acts are admin actions calling a service
with ``system_actor(shop, user=request.user)``."""

from django.contrib import admin


class _ReadOnly:
    """Shown, never added, edited or deleted here: the services own these rows."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(_ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(_ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False
