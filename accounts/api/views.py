"""REST endpoints for accounts. Thin: shape in serializers, meaning in services/selectors."""

from __future__ import annotations

from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import security, selectors, services
from accounts.api import serializers as s
from accounts.models import ApiToken, AuditEntry, Membership, Notification, Role
from backoffice.api.views import ANY_MEMBER, IdempotentPostMixin, ShopViewSet
from backoffice.authz import load_actor
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.parsing import parse_id
from backoffice.reauth import require_recent_reauth
from backoffice.tabular import stream_csv
from backoffice.tenancy.refs import ref_in_shop


class SignupView(IdempotentPostMixin, APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=s.SignupSerializer, responses={201: s.MeSerializer})
    def post(self, request):
        ser = s.SignupSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user, shop = services.shop_signup(**ser.validated_data)
        return Response(_me(user), status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Exchange username + password (+ OTP when 2FA is on) for a personal token. Locked out like the browser."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "token"

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenResponseSerializer})
    def post(self, request):
        ser = s.TokenRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        django_request = request._request
        user = authenticate(request=django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return security.lockout_response(django_request)
        if user is None:
            raise ValidationFailed(_("Wrong username or password."), code="invalid_credentials")
        if security.has_2fa(user) and not security.verify_otp(user, data.get("otp")):
            user_login_failed.send(sender=__name__, credentials={"username": data["username"]}, request=django_request)
            raise ValidationFailed(
                _("A valid one-time code is required."), code="otp_required", fields={"otp": [_("Required.")]}
            )
        if user.must_change_password:  # the owner chose this password: its holder chooses their own first
            raise Forbidden(
                _("Choose your own password first: log in on the website."), code="password_change_required"
            )
        token, key = services.token_create(user=user, name=data.get("name") or "api", expires_at=data.get("expires_at"))
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        return Response({"token": key, "id": token.pk, "expires_at": token.expires_at})


class ReauthView(APIView):
    """Confirm it is really you (password or OTP) before granting permissions or withdrawing money."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.ReauthSerializer, responses={204: None})
    def post(self, request):
        if security.reauth_locked(request._request, request.user):
            return security.lockout_response(request._request)
        ser = s.ReauthSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        outcome = security.attempt_reauth(request, user=request.user, **ser.validated_data)
        if outcome is None:
            return security.lockout_response(request._request)
        if not outcome:
            raise ValidationFailed(_("Password or code is wrong."), code="reauth_failed")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _me(user) -> dict:
    memberships = []
    for m in selectors.membership_list_for_user(user=user):
        actor = load_actor(user, m.shop)
        memberships.append(
            {
                "shop": {"id": m.shop_id, "name": m.shop.name},
                "role": "owner" if m.is_owner else (m.role.key if m.role_id else None),
                "is_owner": m.is_owner,
                "permissions": sorted(actor.permissions) if actor else [],
            }
        )
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "two_factor_enabled": security.has_2fa(user),
        "memberships": memberships,
    }


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        return Response(_me(request.user))


class PasswordChangeView(APIView):
    @extend_schema(request=s.PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        ser = s.PasswordChangeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        # The old password is a guess like a login's: counted, and refused while locked out (else a stolen
        # token could try passwords here without limit).
        if security.attempt_reauth(request, user=request.user, password=ser.validated_data["old_password"]) is None:
            return security.lockout_response(request._request)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        session = getattr(request._request, "session", None)
        services.password_change(
            user=request.user, keep_token_id=token.pk if token else None,
            keep_session_key=session.session_key if session is not None and token is None else None,
            **ser.validated_data,
        )  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)


class _OwnListView(generics.ListAPIView):
    """The signed-in user's own rows, from ``own_rows(user=...)``."""

    own_rows = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.serializer_class.Meta.model.objects.none()
        return self.own_rows(user=self.request.user)


class _OwnRevokeView(APIView):
    """Ends one of the signed-in user's own rows through ``revoke(user, pk)``."""

    revoke = None

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        self.revoke(request.user, parse_id(pk, "id"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyTokensView(_OwnListView):
    """Your own personal API tokens (keys are never shown again)."""

    serializer_class = s.ApiTokenSerializer
    own_rows = staticmethod(selectors.token_list)


class MyTokenRevokeView(_OwnRevokeView):
    revoke = staticmethod(lambda user, pk: services.token_revoke(user=user, token_id=pk))


class MySessionsView(_OwnListView):
    """Your own browser sessions."""

    serializer_class = s.UserSessionSerializer
    own_rows = staticmethod(selectors.session_list)


class MySessionRevokeView(_OwnRevokeView):
    """Ending another session needs a fresh re-authentication (a stolen token must not sign the owner out)."""

    revoke = staticmethod(lambda user, pk: services.session_revoke(user=user, session_id=pk))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        require_reauth(request)
        return super().delete(request, pk)


def require_reauth(request) -> None:
    require_recent_reauth(request)  # the kernel's hook: settings.REAUTH_CHECK is accounts.security's check


class ShopView(ShopViewSet):
    """The shop itself and its settings."""

    serializer_class = s.ShopSerializer
    action_permissions = {"retrieve": ANY_MEMBER, "partial_update": "accounts.manage_settings"}

    def retrieve(self, request, shop: int):
        return Response(s.ShopSerializer(self.shop).data)

    def partial_update(self, request, shop: int):
        ser = s.ShopSerializer(self.shop, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        updated = services.shop_update(actor=self.actor, **ser.validated_data)
        return Response(s.ShopSerializer(updated).data)


def _role_from(shop, value, field="role") -> Role:
    role = selectors.role_get_by_key_or_id(shop=shop, value=value)
    if role is None:
        message = _("Unknown role: %(role)s") % {"role": value}
        raise ValidationFailed(message, fields={field: [message]})
    return role


def _manager_from(actor, value) -> Membership | None:
    return ref_in_shop(Membership, actor=actor, value=value, field="manager", message=_("Unknown manager."))


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("search", str), OpenApiParameter("role", str),
            OpenApiParameter("status", str, enum=["active", "inactive"]), OpenApiParameter("temporary", bool),
        ]
    )
)  # fmt: skip
class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Staff sub-accounts. There is no DELETE: members are deactivated, never deleted."""

    model = Membership
    serializer_class = s.MembershipSerializer
    action_permissions = dict.fromkeys(
        ("list", "retrieve", "create", "partial_update", "update", "deactivate", "reactivate", "access"),
        "accounts.manage_staff",
    )
    filterset_fields = {"is_active": ["exact"], "role__key": ["exact"], "manager": ["exact"]}
    ordering = "id"

    def base_queryset(self):
        return selectors.staff_list(shop=self.shop, actor=self.actor, filters=self.request.query_params).order_by("id")

    @extend_schema(request=s.StaffCreateSerializer, responses={201: s.MembershipSerializer})
    def create(self, request, shop: int):
        ser = s.StaffCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        require_reauth(request)
        membership = services.staff_create(
            actor=self.actor,
            username=data["username"],
            email=data["email"],
            password=data["password"],
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            role=_role_from(self.shop, data["role"]),
            manager=_manager_from(self.actor, data.get("manager")),
            expires_at=data.get("expires_at"),
            extra_grants=data.get("extra_grants", []),
            scopes=data.get("scope"),
            password_change_required=True,
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.StaffUpdateSerializer, responses=s.MembershipSerializer)
    def partial_update(self, request, shop: int, pk: int):
        membership = self.get_object()
        ser = s.StaffUpdateSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        kwargs = {k: data[k] for k in ("email", "first_name", "last_name", "expires_at", "extra_grants") if k in data}
        if "role" in data:
            kwargs["role"] = _role_from(self.shop, data["role"])
        if "manager" in data:
            kwargs["manager"] = _manager_from(self.actor, data["manager"])
        if "scope" in data:
            kwargs["scopes"] = data["scope"]
        if {"role", "extra_grants", "scopes"} & set(kwargs):
            require_reauth(request)
        membership = services.staff_update(actor=self.actor, membership=membership, **kwargs)
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(exclude=True)
    def update(self, request, shop: int, pk: int):
        return self.partial_update(request, shop, pk)

    @extend_schema(request=None, responses=s.MembershipSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, shop: int, pk: int):
        membership = services.staff_deactivate(actor=self.actor, membership=self.get_object())
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(request=s.ReactivateSerializer, responses=s.MembershipSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request, shop: int, pk: int):
        ser = s.ReactivateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        require_reauth(request)
        kwargs = {"expires_at": ser.validated_data["expires_at"]} if "expires_at" in ser.validated_data else {}
        membership = services.staff_reactivate(actor=self.actor, membership=self.get_object(), **kwargs)
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(responses=s.MemberAccessSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def access(self, request, shop: int, pk: int):
        membership = self.get_object()
        return Response({"member": s.MembershipSerializer(membership).data, "permissions": selectors.access_explained(membership=membership),
                         "scopes": {k: sorted(v) for k, v in selectors.member_scopes(membership=membership).items()}})  # fmt: skip


class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    model = Role
    serializer_class = s.RoleSerializer
    action_permissions = dict.fromkeys(("list", "retrieve", "create", "partial_update"), "accounts.manage_staff")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "shop", None) is not None:
            context["role_permissions"] = {r.pk: p for r, p in selectors.roles_with_permissions(shop=self.shop)}
        return context

    @extend_schema(request=s.RoleSerializer, responses={201: s.RoleSerializer})
    def create(self, request, shop: int):
        ser = s.RoleSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        require_reauth(request)
        role = services.role_create(actor=self.actor, **ser.validated_data)
        return Response(
            s.RoleSerializer(role, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.RoleSerializer, responses=s.RoleSerializer)
    def partial_update(self, request, shop: int, pk: int):
        role = self.get_object()
        ser = s.RoleSerializer(role, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        data = {k: v for k, v in ser.validated_data.items() if k in ("name", "description", "permissions")}
        if "permissions" in data:
            require_reauth(request)
        role = services.role_update(actor=self.actor, role=role, **data)
        return Response(s.RoleSerializer(role, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(n, str) for n in ("actor", "action", "target_type", "target_id", "date_from", "date_to")
        ]
    )
)
class AuditLogViewSet(mixins.ListModelMixin, ShopViewSet):
    """The append-only audit trail. Filters: actor (username or id), action (prefix), target_type, target_id, date_from, date_to."""

    model = AuditEntry
    serializer_class = s.AuditEntrySerializer
    action_permissions = {"list": "accounts.view_audit", "export": "accounts.view_audit"}

    def base_queryset(self):
        return selectors.audit_list(shop=self.shop, actor=self.actor, filters=self.request.query_params)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "actor", None) is not None:
            context["redact"] = selectors.audit_redactor(actor=self.actor)
        return context

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"])
    def export(self, request, shop: int):
        rows = selectors.audit_rows(entries=self.get_queryset(), actor=self.actor)
        return stream_csv(f"audit-shop-{self.shop.pk}.csv", selectors.AUDIT_COLUMNS, rows)


class NotificationViewSet(mixins.ListModelMixin, ShopViewSet):
    """Your own in-app notifications in this shop, newest first; ``unread`` counts the unread ones.
    ``?unread=1`` lists only those."""

    model = Notification
    serializer_class = s.NotificationSerializer
    action_permissions = {"list": ANY_MEMBER, "read": ANY_MEMBER, "preferences": ANY_MEMBER}

    def base_queryset(self):
        unread_only = self.request.query_params.get("unread") in ("1", "true")
        return selectors.notification_list(shop=self.shop, actor=self.actor, unread_only=unread_only)

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = selectors.notification_unread_count(shop=self.shop, actor=self.actor)
        return response

    @extend_schema(request=s.MarkReadSerializer, responses={200: s.MarkReadResultSerializer})
    @action(detail=False, methods=["post"])
    def read(self, request, shop: int):
        """Mark the given notifications read (``{"ids": [...]}``), or all of them (``{}``)."""
        ser = s.MarkReadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(actor=self.actor, ids=ser.validated_data.get("ids"))
        return Response({"marked": marked})

    @extend_schema(request=s.NotificationPreferencesSerializer, responses={200: s.NotificationPreferencesSerializer})
    @action(detail=False, methods=["get", "put"])
    def preferences(self, request, shop: int):
        """Which kinds of notification you get here, in the app and by email (all of them until you
        choose). ``PUT`` the kinds to change; kinds left out keep their setting."""
        if request.method == "PUT":
            ser = s.NotificationPreferencesSerializer(data=request.data)
            ser.is_valid(raise_exception=True)
            services.notification_preferences_set(
                actor=self.actor,
                choices={p["kind"]: {k: p[k] for k in ("in_app", "email") if k in p}
                         for p in ser.validated_data["preferences"]},
            )  # fmt: skip
        rows = selectors.notification_preferences(actor=self.actor).values()
        return Response(s.NotificationPreferencesSerializer({"preferences": list(rows)}).data)
