from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import AuditEntry, Membership, Role, Shop, User


@admin.register(User)
class BackofficeUserAdmin(UserAdmin):
    pass


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "tier", "created_at"]
    list_filter = ["tier"]
    search_fields = ["name", "owner__username"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "user", "is_owner", "role", "is_active", "expires_at"]
    list_filter = ["is_active", "is_owner"]
    search_fields = ["user__username", "shop__name"]
    readonly_fields = [f.name for f in Membership._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "key", "name", "is_template"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "created_at", "actor", "action", "target_type", "target_id"]
    list_filter = ["action"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
