"""The statements page (``shops/<shop>/payouts/statements/``): a month's opening and closing balances with its
downloads, the paid payouts with theirs, the reconciliation export, and the statements being built in the
background (the page polls them). The files come from ``payouts.statements``; a period too big to stream
(``STREAM_MAX_ROWS`` entries) gets a page offering to prepare it in the background (``StatementJob``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View

from backoffice.errors import ServiceError, ValidationFailed
from backoffice.tenancy.zones import local_today, shop_zone
from backoffice.web import ShopPageMixin
from payouts import services, statements
from payouts.api.statements import file_response
from payouts.models import Account, StatementJob

VIEW = "payouts.view"
PAGE_SIZE = 20
SHOWN_ACCOUNTS = [Account.PENDING, Account.AVAILABLE, Account.IN_TRANSIT, Account.DEBT, Account.SALES,
                  Account.COMMISSION, Account.REFUNDS, Account.ADS, Account.PAYOUTS, Account.ADJUSTMENTS]  # fmt: skip


def _fields_text(exc: ServiceError) -> str:
    named = [f"{field}: {' '.join(map(str, problems))}" for field, problems in (exc.fields or {}).items()]
    return "; ".join(named) or exc.message


class StatementsView(ShopPageMixin, View):
    """GET: the page (``?month=YYYY-MM``, default this month; ``?page=`` pages the payouts). POST: prepare a
    statement in the background (``kind``, ``format`` and ``month`` / ``withdrawal`` / ``from`` + ``to``)."""

    required_action = VIEW
    one_time_post = True  # the POST starts a statement job

    def refusal_back_url(self) -> str:
        return reverse("payouts:statements", kwargs={"shop": self.shop.pk})

    def get(self, request, shop):
        status = 200
        month_text = request.GET.get("month") or local_today(shop_zone(self.shop)).strftime("%Y-%m")
        month_error = ""
        summary = None
        try:
            statement = statements.month_statement(shop=self.shop, actor=self.actor, month=month_text)
            summary = statements.summary(statement)
        except ValidationFailed as exc:
            month_error, status = _fields_text(exc), 400
        payouts = Paginator(statements.payout_list(shop=self.shop, actor=self.actor), PAGE_SIZE)
        page = payouts.get_page(request.GET.get("page"))
        details = statements.payout_details(shop=self.shop, withdrawal_ids=[p.withdrawal_id for p in page])
        for p in page:
            w = details.get(p.withdrawal_id)
            p.bank_reference = w.bank_reference if w else ""
        jobs = Paginator(statements.statement_job_list(shop=self.shop, actor=self.actor), PAGE_SIZE)
        jobs = jobs.get_page(request.GET.get("jobs_page"))
        rows = []
        if summary is not None:
            rows = [(a, Account(a).label, summary["opening"][a], summary["closing"][a]) for a in SHOWN_ACCOUNTS]
        today = local_today(shop_zone(self.shop))
        return render(request, "payouts/statements.html", {
            "month": month_text, "month_error": month_error, "summary": summary, "balance_rows": rows,
            "by_kind": [(kind, [moves[a] for a in SHOWN_ACCOUNTS])
                        for kind, moves in sorted((summary or {}).get("by_kind", {}).items())],
            "account_labels": [Account(a).label for a in SHOWN_ACCOUNTS],
            "page": page, "querystring": urlencode({"month": month_text}), "jobs": jobs,
            "jobs_querystring": urlencode({k: v for k, v in request.GET.items() if k != "jobs_page"}),
            "busy": any(not j.is_finished for j in jobs), "limit": statements.STREAM_MAX_ROWS,
            "rec_from": request.GET.get("from") or today.replace(day=1).isoformat(),
            "rec_to": request.GET.get("to") or today.isoformat(),
        }, status=status)  # fmt: skip

    def post(self, request, shop):
        data = request.POST
        params = {key: data.get(key) for key in ("month", "withdrawal", "from", "to") if data.get(key)}
        services.statement_export_create(actor=self.actor, kind=data.get("kind", ""), fmt=data.get("format", "csv"),
                                         params=params)  # fmt: skip
        messages.success(request, _("The statement is being prepared; it appears below when ready."))
        return redirect("payouts:statements", shop=self.shop.pk)


class _DownloadView(ShopPageMixin, View):
    """A statement file straight away, or (too big to stream) a page offering to prepare it in the background.
    A bad parameter is a 400 page naming it."""

    required_action = VIEW
    kind = ""

    def statement(self, request, **kwargs) -> statements.Statement:
        raise NotImplementedError

    def params(self, request, **kwargs) -> dict:
        raise NotImplementedError

    def get(self, request, shop, **kwargs):
        try:
            fmt = statements.parse_format(request.GET.get("format"))
            statement = self.statement(request, **kwargs)
            if statement.count() > statements.STREAM_MAX_ROWS:
                context = {"kind": self.kind, "fmt": fmt, "params": self.params(request, **kwargs),
                           "limit": statements.STREAM_MAX_ROWS, "name": statement.name}  # fmt: skip
                return render(request, "payouts/statements_prepare.html", context, status=409)
            return file_response(statement, fmt)
        except ValidationFailed as exc:
            back = reverse("payouts:statements", kwargs={"shop": self.shop.pk})
            return render(request, "400.html", {"message": exc.message, "back": back,
                          "fields": [_fields_text(exc)]}, status=400)  # fmt: skip


class MonthDownloadView(_DownloadView):
    kind = StatementJob.Kind.MONTH

    def statement(self, request, **kwargs):
        return statements.month_statement(shop=self.shop, actor=self.actor, month=request.GET.get("month"))

    def params(self, request, **kwargs):
        return {"month": request.GET.get("month")}


class PayoutDownloadView(_DownloadView):
    kind = StatementJob.Kind.PAYOUT

    def statement(self, request, withdrawal):
        return statements.payout_statement(shop=self.shop, actor=self.actor, withdrawal=withdrawal)

    def params(self, request, withdrawal):
        return {"withdrawal": withdrawal}


class ReconciliationDownloadView(_DownloadView):
    kind = StatementJob.Kind.RECONCILIATION

    def statement(self, request, **kwargs):
        return statements.reconciliation(shop=self.shop, actor=self.actor, date_from=request.GET.get("from"),
                                         date_to=request.GET.get("to"))  # fmt: skip

    def params(self, request, **kwargs):
        return {"from": request.GET.get("from"), "to": request.GET.get("to")}


class JobDownloadView(ShopPageMixin, View):
    required_action = VIEW

    def get(self, request, shop, pk):
        job = statements.statement_job_list(shop=self.shop, actor=self.actor).filter(pk=pk).first()
        if job is None or job.status != StatementJob.Status.DONE or not job.file:
            raise Http404
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_basename)
