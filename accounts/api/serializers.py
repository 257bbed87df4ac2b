from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import ApiToken, AuditEntry, Membership, Notification, Role, Shop, UserSession
from accounts.selectors import audit_redact_all
from accounts.services import SHOP_SETTINGS_FIELDS, normalize_username
from backoffice.authz.actions import ACTION_CODES
from backoffice.parsing import BIGINT_MAX, parse_ids


class SignupSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=4096, style={"input_type": "password"})
    shop_name = serializers.CharField(max_length=120)


class TokenRequestSerializer(serializers.Serializer):
    # Bounded before authentication: the lockout log stores what was tried.
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, max_length=4096)
    otp = serializers.CharField(required=False, allow_blank=True, max_length=16)

    def validate_username(self, value):
        return normalize_username(value)

    name = serializers.CharField(required=False, max_length=80)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    id = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ReauthSerializer(serializers.Serializer):
    password = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=4096)
    otp = serializers.CharField(required=False, allow_blank=True, max_length=16)

    def validate(self, attrs):
        if not attrs.get("password") and not attrs.get("otp"):
            raise serializers.ValidationError(_("Give your password or a one-time code."))
        return attrs


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, max_length=4096)
    new_password = serializers.CharField(write_only=True, max_length=4096)


class ShopBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shop
        fields = ["id", "name"]


class ShopSerializer(serializers.ModelSerializer):
    require_2fa_roles = serializers.ListField(child=serializers.CharField(max_length=40), required=False)

    class Meta:
        model = Shop
        fields = ["id", *SHOP_SETTINGS_FIELDS, "tier", "created_at"]
        read_only_fields = ["id", "tier", "created_at"]


class RoleBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "key", "name"]


class RoleSerializer(serializers.ModelSerializer):
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=ACTION_CODES), write_only=True)

    class Meta:
        model = Role
        fields = ["id", "key", "name", "description", "is_template", "permissions"]
        read_only_fields = ["id", "is_template"]
        extra_kwargs = {"key": {"required": False, "validators": []}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        perms = self.context.get("role_permissions", {}).get(instance.pk)
        data["permissions"] = sorted(perms) if perms is not None else []
        return data


class MembershipSerializer(serializers.ModelSerializer):
    """A staff member as clients see it."""

    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    role = RoleBriefSerializer(read_only=True, allow_null=True)  # the owner has no role
    manager = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = [
            "id", "username", "email", "first_name", "last_name", "is_owner", "role", "manager",
            "is_active", "expires_at", "scope_types", "created_at", "deactivated_at",
        ]  # fmt: skip
        read_only_fields = fields


class StaffCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")
    role = serializers.CharField(help_text="Role key (e.g. operator) or id")
    manager = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX, help_text="Membership id"
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    extra_grants = serializers.ListField(
        child=serializers.ChoiceField(choices=ACTION_CODES), required=False, default=list
    )
    scope = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)), required=False
    )


class StaffUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    role = serializers.CharField(required=False)
    manager = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    extra_grants = serializers.ListField(child=serializers.ChoiceField(choices=ACTION_CODES), required=False)
    scope = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)), required=False
    )


class ReactivateSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class AccessRowSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    sources = serializers.ListField(child=serializers.CharField())


class MemberAccessSerializer(serializers.Serializer):
    """What a member may do and why (role, extra grants), with the objects their scopes allow."""

    member = MembershipSerializer(read_only=True)
    permissions = AccessRowSerializer(many=True, read_only=True)
    scopes = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()), read_only=True)


class AuditEntrySerializer(serializers.ModelSerializer):
    # None for what the platform or a background task did (no person acted).
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id", "created_at", "actor", "membership", "action", "target_type", "target_id",
            "target_repr", "changes", "ip", "request_id",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        redact = self.context.get("redact")
        # Fields the reader may not see elsewhere (cost, buyer contact) are hidden here too; with no
        # reader known, every such field is hidden (fail closed).
        data["changes"] = (redact or audit_redact_all)(data["changes"])
        return data


class MembershipInfoSerializer(serializers.Serializer):
    shop = ShopBriefSerializer()
    role = serializers.CharField()
    is_owner = serializers.BooleanField()
    permissions = serializers.ListField(child=serializers.CharField())


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    two_factor_enabled = serializers.BooleanField()
    memberships = MembershipInfoSerializer(many=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class UserSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "ip", "user_agent", "created_at", "current"]
        read_only_fields = fields

    def get_current(self, obj) -> bool:
        request = self.context.get("request")
        session = getattr(request, "session", None)
        return bool(session is not None and obj.session_key == session.session_key)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "read_at", "created_at"]
        read_only_fields = fields


class NotificationPreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=32)
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class NotificationPreferencesSerializer(serializers.Serializer):
    preferences = NotificationPreferenceSerializer(many=True)

    def validate_preferences(self, value):
        kinds = [p["kind"] for p in value]
        if len(set(kinds)) != len(kinds):
            raise serializers.ValidationError(_("Give each kind once."))
        return value


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(required=False, max_length=1000)

    def validate_ids(self, value):
        return parse_ids(value, "ids")


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
