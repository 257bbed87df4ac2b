"""Sellers, shops, staff memberships, roles, tokens, sessions and the audit trail."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from backoffice.authz.actions import shop_permissions
from backoffice.tenancy.models import ShopOwnedModel, ShopScopedManager


class User(AbstractUser):
    """A person who logs in. Shop access comes only from memberships, never from global permissions."""

    email = models.EmailField(_("email address"))
    # Set when someone else chose the password (the owner adding a sub-account): the login flow asks the
    # person to choose their own before anything else, and clears it then.
    must_change_password = models.BooleanField(default=False)


class Shop(models.Model):
    """The tenant. Shop-wide grants of every catalog action are guardian permissions on this row."""

    class Tier(models.TextChoices):
        BASIC = "basic", _("Basic")
        SILVER = "silver", _("Silver")
        GOLD = "gold", _("Gold")
        PLATINUM = "platinum", _("Platinum")

    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_shops")
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.BASIC)
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Moscow")
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    low_stock_default = models.PositiveIntegerField(_("default low-stock threshold"), default=5)
    return_window_days = models.PositiveIntegerField(_("return window (days)"), default=14)
    auto_confirm_orders = models.BooleanField(_("confirm incoming orders automatically"), default=True)
    require_2fa_roles = models.JSONField(_("roles that must use 2FA"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = shop_permissions()
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


class ShopUserObjectPermission(UserObjectPermissionBase):
    """Extra shop-wide grants to one user (direct foreign key: guardian's fast path)."""

    content_object = models.ForeignKey(Shop, on_delete=models.CASCADE)


class ShopGroupObjectPermission(GroupObjectPermissionBase):
    """A shop role's grants: the role's group holds the permission on the Shop row."""

    content_object = models.ForeignKey(Shop, on_delete=models.CASCADE)


class Role(ShopOwnedModel):
    """A shop's role: a copy of a built-in template or a custom one. Its grants live on its Group."""

    key = models.SlugField(_("key"), max_length=40)
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=255, blank=True)
    is_template = models.BooleanField(default=False)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="shop_role")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="role_unique_key_per_shop")]
        ordering = ["-is_template", "name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """Built-in roles are stored in English and shown in the reader's language."""
        return gettext(self.name) if self.is_template else self.name


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def counted_in_quota(self):
        return self.filter(is_active=True, is_owner=False, expires_at__isnull=True)


class Membership(ShopOwnedModel):
    """A user's place in one shop: the owner or a staff sub-account. Never deleted, only deactivated."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    is_owner = models.BooleanField(default=False)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, null=True, blank=True, related_name="members")
    manager = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    is_active = models.BooleanField(default=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the member and their managers were told the expiry is near (cleared when the expiry changes).
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    # Scope keys (e.g. "warehouse") on which this member is limited to the objects granted to them.
    scope_types = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    unscoped = MembershipQuerySet.as_manager()
    objects = ShopScopedManager.from_queryset(MembershipQuerySet)()

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "user"], name="membership_unique_user_per_shop"),
            models.UniqueConstraint(fields=["shop"], condition=Q(is_owner=True), name="membership_one_owner_per_shop"),
        ]
        indexes = [models.Index(fields=["shop", "is_active", "id"], name="membership_shop_list")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop_id}"

    @property
    def is_temporary(self) -> bool:
        return self.expires_at is not None

    @property
    def role_label(self) -> str:
        if self.is_owner:
            return str(_("Owner"))
        return self.role.display_name if self.role_id else "—"


class ApiToken(models.Model):
    """A personal API token. Only a hash of the key is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, default="api")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    reauthenticated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class UserSession(models.Model):
    """A browser login, so people can see and end their own sessions."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} from {self.ip or '?'}"


class AuditEntry(ShopOwnedModel):
    """One state change. Append-only: rows are never updated or deleted (a PostgreSQL trigger enforces it)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        default_manager_name = "unscoped"
        indexes = [models.Index(fields=["shop", "-id"], name="audit_shop_list")]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise RuntimeError("Audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit entries are append-only")


class Notification(ShopOwnedModel):
    """One in-app notice for one user in one shop (low stock, new complaint, report ready, ...).

    Every domain sends through ``accounts.services.notifications_send``; the header shows the unread count."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=255, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        indexes = [models.Index(fields=["shop", "recipient", "-id"], name="accounts_notification_inbox")]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(ShopOwnedModel):
    """A member's choice for one kind of notification in one shop. No row: in the app and by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "user", "kind"], name="notification_preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: app={self.in_app} email={self.email}"
