"""Withdrawals in the API: the shop's side under /api/v1/shops/{shop}/ (request, list, second approval, cancel,
the payout settings) and the platform's under /api/v1/platform/withdrawals/ (approve, pay, fail). Thin: the
services hold the state machine and the money; requesting (and changing the threshold) asks for a fresh
re-authentication first (``backoffice.reauth``: 403 ``reauth_required``), after the permission check."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from backoffice.api.pagination import CursorPagination
from backoffice.api.views import IsPlatformStaff, ShopViewSet
from backoffice.reauth import require_recent_reauth
from payouts import selectors
from payouts.api import serializers as s
from payouts.models import PayoutSettings, Withdrawal
from payouts.services import withdrawals as services

STATUSES = " | ".join(Withdrawal.Status.values)


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("status", str, description=STATUSES)]))
class WithdrawalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """The shop's withdrawals, newest first. ``POST`` requests one (``payouts.withdraw`` and a fresh
    re-authentication); above the shop's threshold it waits for a second member's ``approve``."""

    model = Withdrawal
    serializer_class = s.WithdrawalSerializer
    action_permissions = {"list": "payouts.view", "retrieve": "payouts.view", "create": "payouts.withdraw",
                          "approve": "payouts.approve", "cancel": "payouts.withdraw"}  # fmt: skip

    def base_queryset(self):
        if self.action == "list":
            return selectors.withdrawal_list(shop=self.shop, actor=self.actor, filters=self.request.query_params)
        return super().base_queryset()  # the kernel narrows it by the action's own permission

    @extend_schema(request=s.WithdrawalRequestSerializer, responses={201: s.WithdrawalSerializer})
    def create(self, request, shop: int):
        require_recent_reauth(request)
        ser = s.WithdrawalRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_request(actor=self.actor, amount=ser.validated_data["amount"])
        return Response(s.WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.WithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, shop: int, pk: int):
        withdrawal = services.withdrawal_second_approve(actor=self.actor, withdrawal=self.get_object())
        return Response(s.WithdrawalSerializer(withdrawal).data)

    @extend_schema(request=None, responses=s.WithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, shop: int, pk: int):
        withdrawal = services.withdrawal_cancel(actor=self.actor, withdrawal=self.get_object())
        return Response(s.WithdrawalSerializer(withdrawal).data)


class PayoutSettingsView(ShopViewSet):
    """Withdrawals above ``second_approval_above`` need a second approver (null: never). Changing it needs
    ``payouts.withdraw`` and a fresh re-authentication."""

    model = PayoutSettings
    action_permissions = {"retrieve": "payouts.view", "update": "payouts.withdraw"}

    @staticmethod
    def _answer(row: PayoutSettings | None) -> Response:
        value = row.second_approval_above if row else None
        return Response({"second_approval_above": None if value is None else str(value)})

    @extend_schema(responses=s.PayoutSettingsSerializer)
    def retrieve(self, request, shop: int):
        return self._answer(selectors.payout_settings(shop=self.shop))

    @extend_schema(request=s.PayoutSettingsSerializer, responses=s.PayoutSettingsSerializer)
    def update(self, request, shop: int):
        require_recent_reauth(request)
        ser = s.PayoutSettingsSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        value = ser.validated_data["second_approval_above"]
        return self._answer(services.payout_settings_update(actor=self.actor, second_approval_above=value))


# --------------------------------------------------------------------------------------------- platform
class IsWithdrawalOperator(permissions.BasePermission):
    """What the admin asks of the marketplace's payout staff, asked here too: ``payouts.view_withdrawal`` to see
    the queue, ``payouts.change_withdrawal`` to decide (any other action asks for the decision right: fail
    closed)."""

    message = gettext_lazy("Only the marketplace's payout staff may decide on withdrawals.")
    READS = frozenset({"list", "retrieve", "metadata"})

    def has_permission(self, request, view) -> bool:
        needed = "payouts.view_withdrawal" if view.action in self.READS else services.PLATFORM_PERMISSION
        return bool(request.user and request.user.is_active and request.user.has_perm(needed))


class _Oldest(CursorPagination):
    ordering = "id"


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter(
    "status", str, description="requested (default) | approved | paid | failed | cancelled | all")]))  # fmt: skip
class PlatformWithdrawalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """The marketplace's queue of withdrawals of every shop (never one still awaiting its second approval),
    oldest first: approve, pay (with the bank's reference) or fail (with a reason: the money returns)."""

    permission_classes = [IsPlatformStaff, IsWithdrawalOperator]
    serializer_class = s.PlatformWithdrawalSerializer
    pagination_class = _Oldest
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if self.action != "list":
            return selectors.withdrawal_platform_queue(status=None)
        wanted = self.request.query_params.get("status", Withdrawal.Status.REQUESTED)
        return selectors.withdrawal_platform_queue(status=None if wanted == "all" else wanted)

    def _answer(self, withdrawal: Withdrawal) -> Response:
        return Response(s.PlatformWithdrawalSerializer(withdrawal).data)

    @extend_schema(request=None, responses=s.PlatformWithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk: int):
        return self._answer(services.withdrawal_platform_approve(platform_user=request.user,
                                                                 withdrawal=self.get_object()))  # fmt: skip

    @extend_schema(request=s.BankReferenceSerializer, responses=s.PlatformWithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk: int):
        ser = s.BankReferenceSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._answer(services.withdrawal_mark_paid(platform_user=request.user, withdrawal=self.get_object(),
                                                          bank_reference=ser.validated_data["bank_reference"]))  # fmt: skip

    @extend_schema(request=s.FailureSerializer, responses=s.PlatformWithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request, pk: int):
        ser = s.FailureSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._answer(services.withdrawal_mark_failed(platform_user=request.user, withdrawal=self.get_object(),
                                                            reason=ser.validated_data["reason"]))  # fmt: skip
