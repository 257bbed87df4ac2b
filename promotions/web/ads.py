"""Ad campaign pages: the list (state tabs, search, pagination), the create/edit form (products from the shop's
catalog), the detail with per-day figures and charts, and activate / pause / end behind a confirmation.
Thin: the form checks shape, ``promotions.services.ads`` the meaning, ``promotions.ads_selectors`` reads."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
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
MAX_PRODUCT_CHOICES = 500  # products matching the picker's search offered at once (the chosen ones come on top)
MAX_CODES_SHOWN = 3
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


def _product_label(title: str, codes: str | None) -> str:
    """A picker box's text: the title and its first SKU codes (what a search by code found, and which of two
    products with one title this is)."""
    codes = (codes or "").split()
    if not codes:
        return title
    shown = ", ".join(codes[:MAX_CODES_SHOWN]) + (", …" if len(codes) > MAX_CODES_SHOWN else "")
    return format_html('{} <span class="muted">{}</span>', title, shown)


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
            # A tab replaces the dashboard cards' filters (status, spent today) rather than narrowing them to nothing.
            "tab_query": urlencode({k: v for k, v in params.items()
                                    if k not in ("page", "state", "status", "spent_today")}),
            "tabs": [(s, label, counts[s]) for s, label in AdCampaign.State.choices],
            "count_all": sum(counts.values()), "may_manage": can(self.actor, "promotions.manage_ads"),
        })  # fmt: skip


class _CampaignFormView(_CampaignPage):
    """The form, with a product picker that works for any catalog size: the chosen products are always offered
    (so an edit never drops one beyond the first page of the catalog), plus at most ``MAX_PRODUCT_CHOICES``
    of the products matching the picker's search (title or SKU code). The search is the form's own
    "Find products" button (``find_products``): the page comes back with everything typed kept, saving nothing."""

    required_action = "promotions.manage_ads"
    FIND = "find_products"
    SEARCH = "product_search"

    def needs_one_time_token(self) -> bool:
        # A find saves nothing: it must not use up the token the Save button will need.
        return self.one_time_post and self.FIND not in self.request.POST

    def product_picker(self, *, chosen: list, search: str, campaign: AdCampaign | None) -> dict:
        """The products' choices (title and SKU codes) and what the picker says about them (shown and matching)."""
        ids = list(dict.fromkeys(pk for pk in map(catalog_selectors.maybe_id, chosen) if pk is not None))[
            : services.MAX_PRODUCTS * 2
        ]

        def rows(filters: dict) -> QuerySet:
            # Names (and codes, below) only: the catalog selector's prefetches (SKUs, images) are not needed.
            qs = catalog_selectors.product_list(shop=self.shop, actor=self.actor, filters=filters)
            return qs.prefetch_related(None).select_related(None)

        def with_codes(qs: QuerySet) -> list[tuple[int, str, str]]:
            found = list(qs.values_list("pk", "title"))
            codes = catalog_selectors.sku_codes_by_product(shop=self.shop, product_ids=[pk for pk, _t in found])
            return [(pk, title, " ".join(codes.get(pk, ()))) for pk, title in found]

        labels = {pk: _product_label(title, codes) for pk, title, codes in
                  with_codes(rows({"ids": ids}))} if ids else {}  # fmt: skip
        if campaign is not None:
            # A product already in the campaign stays offered even beyond the member's catalog scope (the campaign
            # page shows it to them anyway): an edit must not drop what the member cannot tick again.
            labels.update({p.pk: p.title for p in campaign.products.all() if p.pk in ids and p.pk not in labels})
        picked = [(str(pk), labels[pk]) for pk in ids if pk in labels]
        matching = rows({"search": search}).exclude(pk__in=list(labels)).order_by("title", "id")
        found = with_codes(matching[: MAX_PRODUCT_CHOICES + 1])
        total = len(found) if len(found) <= MAX_PRODUCT_CHOICES else matching.count()
        found = found[:MAX_PRODUCT_CHOICES]
        return {"choices": picked + [(str(pk), _product_label(title, codes)) for pk, title, codes in found],
                "shown": len(found), "total": total, "search": search}  # fmt: skip

    def make_form(self, data=None, initial=None, *, campaign: AdCampaign | None = None) -> tuple[CampaignForm, dict]:
        source = data if data is not None else {}
        chosen = data.getlist("products") if data is not None else (initial or {}).get("products", [])
        search = str(source.get(self.SEARCH) or "").strip()[:200]
        picker = self.product_picker(chosen=chosen, search=search, campaign=campaign)
        return CampaignForm(data, initial=initial, product_choices=picker["choices"]), picker

    def render_form(self, request, form, picker, campaign=None, status=200):
        return render(request, "promotions/ads/campaign_form.html", {"form": form, "campaign": campaign,
                                                                     "picker": picker}, status=status)  # fmt: skip

    def submitted(self, request, campaign: AdCampaign | None):
        form, picker = self.make_form(request.POST, campaign=campaign)
        if self.FIND in request.POST:
            # The same values, unbound (a find is not a save: no "required" errors on what is not filled in yet).
            kept = {name: form[name].data for name in form.fields}
            form = CampaignForm(initial=kept, product_choices=picker["choices"])
            return self.render_form(request, form, picker, campaign)
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
        return self.render_form(request, form, picker, campaign, status=400)


class AdCampaignCreateView(_CampaignFormView):
    one_time_post = True

    def get(self, request, shop):
        initial = {"starts_at": timezone.localtime().replace(second=0, microsecond=0), "placement": "search"}
        return self.render_form(request, *self.make_form(initial=initial))

    def post(self, request, shop):
        return self.submitted(request, None)


class AdCampaignEditView(_CampaignFormView):
    def get(self, request, shop, pk):
        c = self.get_campaign(pk)
        initial = {"name": c.name, "placement": c.placement, "products": [str(p.pk) for p in c.products.all()],
                   "daily_budget": c.daily_budget, "bid": c.bid, "starts_at": timezone.localtime(c.starts_at),
                   "ends_at": timezone.localtime(c.ends_at) if c.ends_at else None}  # fmt: skip
        return self.render_form(request, *self.make_form(initial=initial, campaign=c), c)

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
