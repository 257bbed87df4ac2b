from django.urls import path

from payouts.web import pages, statements, withdrawals

app_name = "payouts"

S = "shops/<int:shop>/payouts"
urlpatterns = [
    # The balance and the ledger (payouts/web/pages.py)
    path(f"{S}/", pages.BalanceView.as_view(), name="balance"),
    path(f"{S}/ledger/", pages.LedgerView.as_view(), name="ledger"),
    # Withdrawals and the payout settings (payouts/web/withdrawals.py)
    path(f"{S}/withdrawals/", withdrawals.WithdrawalListView.as_view(), name="withdrawal_list"),
    path(f"{S}/withdrawals/new/", withdrawals.WithdrawalRequestView.as_view(), name="withdrawal_request"),
    path(f"{S}/withdrawals/<int:pk>/", withdrawals.WithdrawalDetailView.as_view(), name="withdrawal_detail"),
    path(f"{S}/withdrawals/<int:pk>/approve/", withdrawals.WithdrawalApproveView.as_view(), name="withdrawal_approve"),
    path(f"{S}/withdrawals/<int:pk>/cancel/", withdrawals.WithdrawalCancelView.as_view(), name="withdrawal_cancel"),
    path(f"{S}/settings/", withdrawals.PayoutSettingsView.as_view(), name="payout_settings"),
    # Statements and the reconciliation export (payouts/web/statements.py)
    path(f"{S}/statements/", statements.StatementsView.as_view(), name="statements"),
    path(f"{S}/statements/month/", statements.MonthDownloadView.as_view(), name="statement_month"),
    path(f"{S}/statements/payout/<int:withdrawal>/", statements.PayoutDownloadView.as_view(), name="statement_payout"),
    path(f"{S}/statements/reconciliation/", statements.ReconciliationDownloadView.as_view(), name="reconciliation"),
    path(
        f"{S}/statements/jobs/<int:pk>/download/", statements.JobDownloadView.as_view(), name="statement_job_download"
    ),
]
