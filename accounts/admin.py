"""Django admin for platform staff. Every row here changes only through the services (and their audit
entries), so the admin shows it read-only; the platform's own acts on a shop are admin actions that call
a service with ``system_actor(shop, user=<the staff user>)``: changing the plan (tier)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import AuditEntry, Membership, Role, Shop, User
from backoffice.admin import ReadOnlyAdmin
from backoffice.authz import system_actor
from backoffice.errors import ServiceError


@admin.register(User)
class BackofficeUserAdmin(UserAdmin):
    pass


class TierForm(forms.Form):
    tier = forms.ChoiceField(label=_("New plan"), choices=Shop.Tier.choices)


@admin.register(Shop)
class ShopAdmin(ReadOnlyAdmin):
    """Shops are opened by sellers; their settings are the owner's (audited); the plan is the platform's
    (the "change plan" action)."""

    list_display = ["id", "name", "owner", "tier", "created_at"]
    list_filter = ["tier"]
    search_fields = ["name", "owner__username"]
    actions = ["change_tier"]

    def has_platform_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.action(description=_("Change the plan of the selected shops"), permissions=["platform"])
    def change_tier(self, request, queryset):
        form = TierForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for shop in queryset:
                try:
                    services.shop_set_tier(actor=system_actor(shop, user=request.user), tier=form.cleaned_data["tier"])
                    done += 1
                except ServiceError as exc:
                    self.message_user(request, f"{shop}: {exc.message}", messages.WARNING)
            self.message_user(request, _("%(n)s shop(s) moved to the new plan.") % {"n": done}, messages.SUCCESS)
            return None
        return render(
            request,
            "admin/accounts/shop/change_tier.html",
            {**self.admin_site.each_context(request), "form": form, "shops": queryset, "title": _("Change plan"),
             "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "opts": self.model._meta},
        )  # fmt: skip


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["id", "shop", "user", "is_owner", "role", "is_active", "expires_at"]
    list_filter = ["is_active", "is_owner"]
    search_fields = ["user__username", "shop__name"]


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ["id", "shop", "key", "name", "is_template"]
    search_fields = ["key", "name", "shop__name"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "shop", "created_at", "actor", "action", "target_type", "target_id"]
    list_filter = ["action"]
