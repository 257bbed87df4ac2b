"""Ad campaign pages: the list (state tabs, search, pagination), the create/edit form (products from the shop's
catalog), the detail with per-day figures and charts, and activate / pause / end behind a confirmation.
Thin: the form checks shape, ``promotions.services.ads`` the meaning, ``promotions.ads_selectors`` reads."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from backoffice.authz import can
from backoffice.charts import chart
from backoffice.errors import Conflict, Forbidden, NotFound, ServiceError
from backoffice.forms import apply_service_error
from backoffice.web import ShopPageMixin, reload_page
from catalog import selectors as catalog_selectors
from promotions import ads_selectors as sel
from promotions.models import AdCampaign
from promotions.services import ads as services

PAGE_SIZE = 25
DAYS_PER_PAGE = 31
MAX_PRODUCT_CHOICES = 500
OPS = {
    "activate": (gettext_lazy("Activate"), gettext_lazy("Campaign activated.")),
    "pause": (gettext_lazy("Pause"), gettext_lazy("Campaign paused.")),
    "end": (gettext_lazy("End"), gettext_lazy("Campaign ended.")),
}
STATUS_LABELS = {**dict(AdCampaign.State.choices), sel.RESTING: gettext_lazy("Daily budget spent")}


class CampaignForm(forms.Form):
    """Shape only; ``ad_campaign_create``/``update`` check the meaning and name the field."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    placement = forms.ChoiceField(label=gettext_lazy("Placement"), choices=AdCampaign.Placement.choices)
    products = forms.MultipleChoiceField(label=gettext_lazy("Products"), required=False,
                                         widget=forms.CheckboxSelectMultiple)  # fmt: skip
    daily_budget = forms.DecimalField(label=gettext_lazy("Daily budget"), max_digits=12, decimal_places=2,
                                      min_value=0)  # fmt: skip
    bid = forms.DecimalField(label=gettext_lazy("Bid per click"), max_digits=12, decimal_places=2, min_value=0)
    starts_at = forms.DateTimeField(label=gettext_lazy("Starts"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                               format="%Y-%m-%dT%H:%M"))  # fmt: skip
    ends_at = forms.DateTimeField(label=gettext_lazy("Ends"), required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                             format="%Y-%m-%dT%H:%M"))  # fmt: skip

    def __init__(self, *args, product_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].choices = product_choices

    def data_for_service(self) -> dict:
        d = self.cleaned_data
        return {"name": d["name"], "placement": d["placement"], "products": [int(p) for p in d["products"]],
                "daily_budget": d["daily_budget"], "bid": d["bid"], "starts_at": d["starts_at"],
                "ends_at": d["ends_at"]}  # fmt: skip


def _refuse_action(exc: ServiceError) -> None:
    """A refusal of the action itself is the kernel's 4xx page; only field problems go on the form."""
    if isinstance(exc, (Forbidden, NotFound)) or (isinstance(exc, Conflict) and not exc.fields):
        raise exc


class _CampaignPage(ShopPageMixin, View):
    def get_campaign(self, pk, action: str | None = None) -> AdCampaign:
        campaign = sel.campaign_get(shop=self.shop, actor=self.actor, pk=pk, action=action or self.required_action)
        if campaign is None:
            raise Http404
        return campaign

    def refusal_back_url(self) -> str:
        if "pk" in self.kwargs:
            return reverse("promotions:ad_campaign_detail", args=[self.shop.pk, self.kwargs["pk"]])
        return reverse("promotions:ad_campaign_list", args=[self.shop.pk])


class AdCampaignListView(ShopPageMixin, View):
    required_action = "promotions.view"

    def get(self, request, shop):
        params = request.GET
        try:
            qs = sel.campaign_list(shop=self.shop, actor=self.actor, filters=params)
        except ServiceError as exc:  # a bad tab or filter: back to the list, saying which and why
            messages.error(request, "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items()))
            return reload_page(request, reverse("promotions:ad_campaign_list", args=[self.shop.pk]))
        page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
        today = sel.shop_today(self.shop)
        spent_today = sel.spend_of_day(shop=self.shop, campaign_ids=[c.pk for c in page], day=today)
        for c in page:
            c.page_status = sel.campaign_status(c, today=today)
            c.page_status_label = STATUS_LABELS[c.page_status]
            c.spent_today = spent_today.get(c.pk, 0)
        counts = sel.campaign_state_counts(shop=self.shop, actor=self.actor)
        return render(request, "promotions/ads/campaign_list.html", {
            "page": page, "filters": params,
            "querystring": urlencode({k: v for k, v in params.items() if k != "page"}),
            "tab_query": urlencode({k: v for k, v in params.items() if k not in ("page", "state")}),
            "tabs": [(s, label, counts[s]) for s, label in AdCampaign.State.choices],
            "count_all": sum(counts.values()), "may_manage": can(self.actor, "promotions.manage_ads"),
        })  # fmt: skip


class _CampaignFormView(_CampaignPage):
    required_action = "promotions.manage_ads"

    def product_choices(self) -> list[tuple[str, str]]:
        # The shop's catalog as the member may see it; a very large catalog offers its first products by title.
        products = catalog_selectors.product_list(shop=self.shop, actor=self.actor).order_by("title", "id")
        return [(str(p.pk), p.title) for p in products[:MAX_PRODUCT_CHOICES]]

    def make_form(self, data=None, initial=None) -> CampaignForm:
        return CampaignForm(data, initial=initial, product_choices=self.product_choices())

    def render_form(self, request, form, campaign=None, status=200):
        return render(request, "promotions/ads/campaign_form.html", {"form": form, "campaign": campaign},
                      status=status)  # fmt: skip

    def submitted(self, request, campaign: AdCampaign | None):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                if campaign is None:
                    campaign = services.ad_campaign_create(actor=self.actor, data=form.data_for_service())
                else:
                    campaign = services.ad_campaign_update(actor=self.actor, campaign=campaign,
                                                           data=form.data_for_service())  # fmt: skip
            except ServiceError as exc:
                _refuse_action(exc)
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("promotions:ad_campaign_detail", shop=self.shop.pk, pk=campaign.pk)
        return self.render_form(request, form, campaign, status=400)


class AdCampaignCreateView(_CampaignFormView):
    one_time_post = True

    def get(self, request, shop):
        initial = {"starts_at": timezone.localtime().replace(second=0, microsecond=0), "placement": "search"}
        return self.render_form(request, self.make_form(initial=initial))

    def post(self, request, shop):
        return self.submitted(request, None)


class AdCampaignEditView(_CampaignFormView):
    def get(self, request, shop, pk):
        c = self.get_campaign(pk)
        initial = {"name": c.name, "placement": c.placement, "products": [str(p.pk) for p in c.products.all()],
                   "daily_budget": c.daily_budget, "bid": c.bid, "starts_at": timezone.localtime(c.starts_at),
                   "ends_at": timezone.localtime(c.ends_at) if c.ends_at else None}  # fmt: skip
        return self.render_form(request, self.make_form(initial=initial), c)

    def post(self, request, shop, pk):
        return self.submitted(request, self.get_campaign(pk))


def _charts(rows: list, totals_label: str) -> list[dict]:
    days = [r.day.isoformat() for r in rows]
    col = lambda name: [getattr(r, name) for r in rows]  # noqa: E731
    return [
        chart(id="chart-traffic", title=_("Impressions and clicks"), labels=days, label_heading=totals_label,
              series=[{"label": _("Impressions"), "values": col("impressions")},
                      {"label": _("Clicks"), "values": col("clicks"), "axis": "y1"}]),
        chart(id="chart-spend", title=_("Spend and revenue"), labels=days, kind="bar", label_heading=totals_label,
              series=[{"label": _("Spend"), "values": col("spend")}, {"label": _("Revenue"), "values": col("revenue")}]),
        chart(id="chart-ratios", title=_("CTR, CPC and ROAS"), labels=days, label_heading=totals_label,
              series=[{"label": _("CTR, %"), "values": col("ctr")}, {"label": _("CPC"), "values": col("cpc")},
                      {"label": _("ROAS"), "values": col("roas"), "axis": "y1"}]),
    ]  # fmt: skip


class AdCampaignDetailView(_CampaignPage):
    required_action = "promotions.view"

    def get(self, request, shop, pk):
        c = self.get_campaign(pk)
        today = sel.shop_today(self.shop)
        status = 200
        try:
            date_from, date_to = sel.parse_stat_range(request.GET, today=today)
        except ServiceError as exc:
            # A bad range: the page still opens (last 30 days), the error named beside the filter, and 400.
            range_errors, status = exc.fields, 400
            date_from, date_to = sel.parse_stat_range({}, today=today)
        else:
            range_errors = {}
        rows = list(sel.campaign_stats(shop=self.shop, campaign=c, date_from=date_from, date_to=date_to))
        page = Paginator(rows, DAYS_PER_PAGE).get_page(request.GET.get("page"))
        totals = sel.campaign_stat_totals(shop=self.shop, campaign=c, date_from=date_from, date_to=date_to)
        state = sel.campaign_status(c, today=today)
        return render(request, "promotions/ads/campaign_detail.html", {
            "campaign": c, "status": state, "status_label": STATUS_LABELS[state],
            "may": sel.campaign_actions(actor=self.actor, campaign=c), "totals": totals, "page": page,
            "date_from": date_from, "date_to": date_to, "range_errors": range_errors,
            "querystring": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
            "charts": _charts(rows, _("Day")) if rows else [],
        }, status=status)  # fmt: skip


class AdCampaignTransitionView(_CampaignPage):
    """GET: what the step does, and a button; POST: does it (a step the state does not allow is a 409)."""

    required_action = "promotions.manage_ads"

    def get(self, request, shop, pk, op):
        c = self.get_campaign(pk)
        return render(request, "promotions/ads/campaign_confirm.html", {"campaign": c, "op": op,
                                                                        "op_label": OPS[op][0]})  # fmt: skip

    def post(self, request, shop, pk, op):
        c = self.get_campaign(pk)
        step = {"activate": services.ad_campaign_activate, "pause": services.ad_campaign_pause,
                "end": services.ad_campaign_end}[op]  # fmt: skip
        step(actor=self.actor, campaign=c)
        messages.success(request, str(OPS[op][1]))
        return redirect("promotions:ad_campaign_detail", shop=self.shop.pk, pk=c.pk)
