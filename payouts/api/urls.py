from django.urls import path
from rest_framework.routers import SimpleRouter

from payouts.api import statements, views, withdrawals

router = SimpleRouter()
SHOP = r"shops/(?P<shop>\d+)"
router.register(rf"{SHOP}/ledger", views.LedgerViewSet, basename="ledger")
router.register(rf"{SHOP}/statement-exports", statements.StatementExportViewSet, basename="statement-exports")
router.register(rf"{SHOP}/withdrawals", withdrawals.WithdrawalViewSet, basename="withdrawals")
router.register(r"platform/withdrawals", withdrawals.PlatformWithdrawalViewSet, basename="platform-withdrawals")

urlpatterns = [
    *router.urls,
    path("shops/<int:shop>/balance/", views.BalanceView.as_view({"get": "retrieve"}), name="balance"),
    # Statements and the reconciliation export (payouts/api/statements.py)
    path("shops/<int:shop>/statements/", statements.MonthStatementView.as_view({"get": "retrieve"}), name="statements"),
    path(
        "shops/<int:shop>/statements/payout/<int:withdrawal>/",
        statements.PayoutStatementView.as_view({"get": "retrieve"}),
        name="statement-payout",
    ),
    path(
        "shops/<int:shop>/reconciliation/",
        statements.ReconciliationView.as_view({"get": "retrieve"}),
        name="reconciliation",
    ),
    path(
        "shops/<int:shop>/payout-settings/",
        withdrawals.PayoutSettingsView.as_view({"get": "retrieve", "put": "update"}),
        name="payout-settings",
    ),  # fmt: skip
]
