"""Payouts pages a seller reads: the balance (what is available, what is pending and when each part matures, what
is in transit, a debt, the next settlement, the balance over time) and the ledger (every entry, filtered, with
cursor pages). Both need ``payouts.view``; withdrawals and statements have their own pages.

Thin: ``payouts.selectors`` reads and checks the filters; a bad filter is shown beside its field with a 400,
never a 500. The ledger pages with ``backoffice.keyset`` (newest first, "Newer"/"Older" carry a cursor), so a
posting that lands between two page loads does not shift the rows of the older pages."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from backoffice.charts import chart
from backoffice.errors import ServiceError
from backoffice.keyset import CursorPage, cursor_page
from backoffice.web import ShopPageMixin
from payouts import selectors
from payouts.models import Account, Kind

LEDGER_PAGE_SIZE = 50
LEDGER_FILTERS = ("kind", "account", "date_from", "date_to", "order")

ACCOUNT_LABELS = {
    Account.SALES: gettext_lazy("Sales"),
    Account.PENDING: gettext_lazy("Pending"),
    Account.AVAILABLE: gettext_lazy("Available"),
    Account.IN_TRANSIT: gettext_lazy("In transit"),
    Account.DEBT: gettext_lazy("Debt"),
    Account.COMMISSION: gettext_lazy("Commission"),
    Account.REFUNDS: gettext_lazy("Refunds"),
    Account.ADS: gettext_lazy("Ads"),
    Account.PAYOUTS: gettext_lazy("Payouts"),
    Account.ADJUSTMENTS: gettext_lazy("Adjustments"),
}
KIND_LABELS = {
    Kind.SALE: gettext_lazy("Sale"),
    Kind.SETTLE: gettext_lazy("Settlement"),
    Kind.REFUND: gettext_lazy("Refund"),
    Kind.AD_SPEND: gettext_lazy("Ad spend"),
    Kind.AD_SPEND_FIX: gettext_lazy("Ad spend correction"),
    Kind.WITHDRAWAL: gettext_lazy("Withdrawal"),
    Kind.ADJUSTMENT: gettext_lazy("Adjustment"),
}


class BalanceView(ShopPageMixin, View):
    required_action = "payouts.view"

    def get(self, request, shop):
        status, errors = 200, {}
        try:
            days = selectors.parse_chart_days(request.GET.get("days"))
        except ServiceError as exc:  # the page still opens (the default window), the error named, and 400
            status, errors, days = 400, exc.fields, selectors.CHART_DAYS[0]
        groups = selectors.pending_by_maturity(shop=self.shop, actor=self.actor)
        series = selectors.balance_series(shop=self.shop, actor=self.actor, days=days)
        balance_chart = chart(
            id="balance-chart", title=_("Available and pending at the end of each day"), label_heading=_("Day"),
            labels=[day.isoformat() for day in series["days"]],
            series=[{"label": ACCOUNT_LABELS[Account.AVAILABLE], "values": series[Account.AVAILABLE]},
                    {"label": ACCOUNT_LABELS[Account.PENDING], "values": series[Account.PENDING]}],
        )  # fmt: skip
        return render(request, "payouts/balance.html", {
            "balance": selectors.balance_summary(shop=self.shop), "groups": groups,
            "next_settlement": selectors.next_settlement(shop=self.shop, groups=groups),
            "chart": balance_chart, "days": days, "day_choices": selectors.CHART_DAYS, "errors": errors,
        }, status=status)  # fmt: skip


class LedgerView(ShopPageMixin, View):
    required_action = "payouts.view"

    def get(self, request, shop):
        filters = {name: request.GET.get(name, "").strip() for name in LEDGER_FILTERS}
        status, errors = 200, {}
        try:
            qs = selectors.ledger_list(shop=self.shop, actor=self.actor, filters=filters)
            page = cursor_page(qs, request.GET.get("cursor"), size=LEDGER_PAGE_SIZE)
        except ServiceError as exc:  # the filter named beside its field, no rows, and 400
            status, errors, page = 400, exc.fields or {"cursor": [exc.message]}, CursorPage([], None, None)
        refs = selectors.ledger_references(shop=self.shop, actor=self.actor, entries=page.items)
        rows = [_row(entry, refs) for entry in page.items]
        query = urlencode({k: v for k, v in filters.items() if v})
        return render(request, "payouts/ledger.html", {
            "page": page, "rows": rows, "filters": filters, "errors": errors, "filtered": bool(query),
            "newer_url": _page_url(query, page.newer), "older_url": _page_url(query, page.older),
            "kinds": list(KIND_LABELS.items()), "accounts": list(ACCOUNT_LABELS.items()),
        }, status=status)  # fmt: skip


def _page_url(query: str, cursor: str | None) -> str:
    if cursor is None:
        return ""
    return "?" + "&".join(part for part in (query, urlencode({"cursor": cursor})) if part)


def _row(entry, refs: dict) -> dict:
    """One ledger line as the template shows it: labels, and what it refers to (the order, the campaign)."""
    order = refs["orders"].get(entry.order_id) if entry.order_id else None
    return {
        "entry": entry,
        "kind": KIND_LABELS.get(entry.kind, entry.kind),
        "account": ACCOUNT_LABELS.get(entry.account, entry.account),
        "order": order,
        "campaign_name": refs["campaigns"].get(entry.campaign_id) if entry.campaign_id else None,
    }
