"""A promotion's batch of single-use codes on its pages: the "Codes" card of the detail page (the list, filtered
by used / unused and paginated; the generate form; the export links), the generate form's own page (where a
refused count or prefix is shown beside its field), and the CSV / XLSX download.

Codes are secrets: the card, the list and the download are for members who manage the promotion
(``selectors.promotion_codes_visible``); a view-only member sees none of them. Thin: the selectors read (and
refuse), the service generates."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from backoffice.authz import Actor
from backoffice.errors import ServiceError, ValidationFailed
from backoffice.forms import apply_service_error
from backoffice.tabular import CONTENT_TYPES, FORMATS, stream_csv, write_file
from backoffice.web import ShopPageMixin
from promotions import selectors, services
from promotions.models import Promotion
from promotions.services.promotions import MAX_BATCH

PAGE_SIZE = 25


class CodesGenerateForm(forms.Form):
    """Shape only: the service checks the count's range and the prefix's characters (and names them)."""

    count = forms.IntegerField(label=gettext_lazy("Number of codes"), min_value=1, max_value=MAX_BATCH,
                               help_text=gettext_lazy("From 1 to 10,000."))  # fmt: skip
    prefix = forms.CharField(label=gettext_lazy("Prefix"), required=False, max_length=16,
                             help_text=gettext_lazy("Optional: up to 16 letters, digits or dashes."))  # fmt: skip

    def __init__(self, *args, **kwargs):
        # "codes-count": the detail page holds other cards' forms; the ids must stay unique there.
        kwargs.setdefault("auto_id", "codes-%s")
        super().__init__(*args, **kwargs)


def _promotion(actor: Actor, pk: Any) -> Promotion:
    promotion = selectors.promotion_get(actor=actor, pk=pk, action="promotions.manage")
    if promotion is None:
        raise Http404
    return promotion


def codes_card(*, actor: Actor, promotion: Promotion, params) -> dict | None:
    """The detail page's "Codes" card (None when the member may not see the codes): a page of codes filtered by
    ``codes`` (``unused`` / ``used``), the counts per filter, the generate form (a promotion that has not ended)
    and the export links. A bad filter or page number is the selectors' 400, said on the page."""
    if not selectors.promotion_codes_visible(actor=actor, promotion=promotion):
        return None
    status = params.get("codes") or ""
    qs = selectors.promotion_codes(actor=actor, promotion=promotion, filters={"status": status})
    page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    counts = selectors.promotion_code_counts(actor=actor, promotion=promotion)
    export = reverse("promotions:promotion_codes_export", args=[promotion.shop_id, promotion.pk])
    query = {"format": None, **({"status": status} if status else {})}
    return {
        "page": page,
        "status": status,
        "querystring": urlencode({"codes": status}) if status else "",
        "filters": [
            ("", _("All"), counts["all"]),
            ("unused", _("Unused"), counts["unused"]),
            ("used", _("Used"), counts["used"]),
        ],
        "counts": counts,
        "form": CodesGenerateForm() if promotion.state != Promotion.State.ENDED else None,
        "exports": [(fmt.upper(), f"{export}?{urlencode({**query, 'format': fmt})}") for fmt in FORMATS],
    }


class PromotionCodesGenerateView(ShopPageMixin, View):
    """GET: the generate form alone; POST: makes the codes (one-time token: a resent form makes no second
    batch) and goes back to the detail page's Codes card. A refused count or prefix: the form again, 400."""

    required_action = "promotions.manage"
    one_time_post = True

    def refusal_back_url(self) -> str:
        return reverse("promotions:promotion_detail", args=[self.shop.pk, self.kwargs["pk"]])

    def page(self, request, promotion: Promotion, form: CodesGenerateForm, status: int = 200):
        return render(request, "promotions/promotion_codes_generate.html",
                      {"promotion": promotion, "form": form}, status=status)  # fmt: skip

    def get(self, request, shop, pk):
        return self.page(request, _promotion(self.actor, pk), CodesGenerateForm())

    def post(self, request, shop, pk):
        promotion = _promotion(self.actor, pk)
        form = CodesGenerateForm(request.POST)
        if form.is_valid():
            try:
                made = services.promotion_codes_generate(actor=self.actor, promotion=promotion,
                                                         count=form.cleaned_data["count"],
                                                         prefix=form.cleaned_data["prefix"])  # fmt: skip
            except ValidationFailed as exc:  # a refusal of the action itself goes to ShopPageMixin (403/409)
                apply_service_error(form, exc)
            else:
                messages.success(
                    request, ngettext("%(n)s code generated.", "%(n)s codes generated.", made) % {"n": made}
                )
                return redirect(reverse("promotions:promotion_detail", args=[shop, promotion.pk]) + "#codes")
        return self.page(request, promotion, form, status=400)


def codes_download(*, actor: Actor, promotion: Promotion, fmt: Any, status: Any = None) -> HttpResponse:
    """The codes as CSV (streamed) or XLSX (built in the request: 10,000 codes of four columns are a few hundred
    kilobytes, written in a fraction of a second) through the kernel's tabular writer. A bad ``format`` or
    ``status`` is a 400 naming it. The API's export answers with the same."""
    fmt = fmt or "csv"
    if fmt not in FORMATS:
        message = _("Choose one of: %(v)s") % {"v": ", ".join(FORMATS)}
        raise ValidationFailed(message, fields={"format": [message]})
    rows = selectors.promotion_code_rows(actor=actor, promotion=promotion, filters={"status": status})
    services.promotion_codes_exported(actor=actor, promotion=promotion, file_format=fmt, status=status or None)
    header = selectors.CODE_EXPORT_HEADER
    name = f"promotion-{promotion.pk}-codes.{fmt}"
    if fmt == "csv":
        return stream_csv(name, header, rows)
    content, _count = write_file(fmt, header, rows, sheet="codes")
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class PromotionCodesExportView(ShopPageMixin, View):
    """``…/codes/export/?format=csv|xlsx[&status=unused|used]``: the download (CSV when no format is named)."""

    required_action = "promotions.manage"

    def refusal_back_url(self) -> str:
        return reverse("promotions:promotion_detail", args=[self.shop.pk, self.kwargs["pk"]])

    def get(self, request, shop, pk):
        promotion = _promotion(self.actor, pk)
        try:
            return codes_download(actor=self.actor, promotion=promotion, fmt=request.GET.get("format"),
                                  status=request.GET.get("status"))  # fmt: skip
        except ServiceError as exc:
            # Not ShopPageMixin's answer to a refusal with a query string (back to the same address without it,
            # which here would start another download): the reason and the 4xx.
            named = [f"{field}: {' '.join(map(str, problems))}" for field, problems in (exc.fields or {}).items()]
            return render(request, "400.html", {"message": exc.message, "fields": named,
                                                "back": self.refusal_back_url()}, status=exc.status_code)  # fmt: skip
