"""Promotion pages: the list with status tabs, the form per kind with a quote preview, the detail with its
figures, and activate / pause / end behind a confirmation. Thin: forms check shape, services do the work."""

from __future__ import annotations

from urllib.parse import urlencode

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
from backoffice.errors import Conflict, Forbidden, NotFound, ServiceError
from backoffice.web import ShopPageMixin, reload_page
from promotions import selectors
from promotions.models import Promotion
from promotions.web import backend, codes
from promotions.web import forms as f
from promotions.web import simulate as simulations

PAGE_SIZE = 25
K = Promotion.Kind
KIND_TEXTS = {
    K.PERCENT_OFF: gettext_lazy("a percentage off each item in scope"),
    K.AMOUNT_OFF: gettext_lazy("a fixed amount off each unit in scope"),
    K.SPEND_THRESHOLD: gettext_lazy("spend tiers: spend 300, get 30 off; spend 500, get 60 off"),
    K.GIFT_WITH_PURCHASE: gettext_lazy("a free SKU with a minimum spend or with another SKU"),
    K.BUY_X_GET_Y: gettext_lazy("buy 2 get 1: the cheapest units free"),
}
OPS = {
    "activate": (gettext_lazy("Activate"), gettext_lazy("Promotion activated.")),
    "pause": (gettext_lazy("Pause"), gettext_lazy("Promotion paused.")),
    "end": (gettext_lazy("End"), gettext_lazy("Promotion ended.")),
}


def _field_errors(exc: ServiceError) -> None:
    """A refusal of the action itself (not allowed, not found, a state that does not allow it) is the
    kernel's 4xx page; only what concerns the fields goes on the form."""
    if isinstance(exc, (Forbidden, NotFound)) or (isinstance(exc, Conflict) and not exc.fields):
        raise exc


class PromotionListView(ShopPageMixin, View):
    required_action = "promotions.view"

    def get(self, request, shop):
        params = request.GET
        now = timezone.now()
        try:
            qs = selectors.promotion_page_list(shop=self.shop, actor=self.actor, filters=params)
            counts = selectors.promotion_status_counts(shop=self.shop, actor=self.actor, at=now)
        except ServiceError as exc:  # a bad tab or filter: back to the list, saying which and why
            named = [f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items()]
            messages.error(request, "; ".join(named) or exc.message)
            return reload_page(request, reverse("promotions:promotion_list", args=[self.shop.pk]))
        page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
        labels = dict(Promotion.Status.choices)
        for p in page:
            p.page_status = p.status_at(now)
            p.page_status_label = labels[p.page_status]
        context = {
            "page": page,
            "filters": params,
            "querystring": urlencode({k: v for k, v in params.items() if k != "page"}),
            "tab_query": urlencode({k: v for k, v in params.items() if k not in ("page", "status")}),
            "tabs": [(s, labels[s], counts[s]) for s in selectors.STATUSES],
            "count_all": sum(counts.values()),
            "may_manage": can(self.actor, "promotions.manage"),
            "kinds": K.choices,
        }
        template = "promotions/_promotion_list_update.html" if request.htmx else "promotions/promotion_list.html"
        return render(request, template, context)


class _PromotionPage(ShopPageMixin, View):
    def get_promotion(self, pk, action: str | None = None) -> Promotion:
        promotion = backend.promotion_get(shop=self.shop, actor=self.actor, pk=pk,
                                          action=action or self.required_action)  # fmt: skip
        if promotion is None:
            raise Http404
        return promotion

    def refusal_back_url(self) -> str:
        if "pk" in self.kwargs:
            return reverse("promotions:promotion_detail", args=[self.shop.pk, self.kwargs["pk"]])
        return reverse("promotions:promotion_list", args=[self.shop.pk])


class _PromotionFormView(_PromotionPage):
    """Create and edit share the form, the tier rows, the placing of the service's field errors and the
    quote preview (a POST with ``preview``: nothing is saved; htmx gets the preview alone)."""

    required_action = "promotions.manage"
    template = "promotions/promotion_form.html"

    def make_form(self, kind: str, data=None, initial=None) -> f.PromotionForm:
        # The products already chosen (saved or posted) stay offered beyond the list's first PRODUCT_CHOICES_MAX.
        keep = [*(data.getlist("products") if data is not None else ()), *(initial or {}).get("products", ())]
        choices = backend.scope_choices(shop=self.shop, actor=self.actor, keep=keep)
        return f.PromotionForm(data, initial=initial, kind=kind, **choices)

    def make_tiers(self, kind: str, data=None, initial=None):
        if kind != K.SPEND_THRESHOLD:
            return None
        return f.TierFormSet(data, initial=initial, prefix="tiers")

    def render_page(self, request, *, kind, form, tiers, promotion=None, status=200, **extra):
        cart = extra.pop("cart", None) or f.PreviewFormSet(prefix="cart")
        context = {"form": form, "tiers": tiers, "kind": kind, "kind_label": K(kind).label,
                   "promotion": promotion, "cart": cart, **extra}  # fmt: skip
        if tiers is not None and tiers.is_bound:
            context.setdefault("tier_errors", [e for e in tiers.non_form_errors()])
        return render(request, self.template, context, status=status)

    def submitted(self, request, kind: str, promotion: Promotion | None):
        form = self.make_form(kind, request.POST)
        tiers = self.make_tiers(kind, request.POST)
        if "preview" in request.POST:
            return self.preview(request, kind=kind, form=form, tiers=tiers, promotion=promotion)
        tier_errors: list[str] = []
        if form.is_valid() and (tiers is None or tiers.is_valid()):
            try:
                saved = backend.promotion_save(actor=self.actor, promotion=promotion, kind=kind,
                                               fields=self.fields_of(form, tiers))  # fmt: skip
            except ServiceError as exc:
                _field_errors(exc)
                tier_errors = self.place_errors(form, tiers, exc)
            else:
                messages.success(request, _("Promotion saved."))
                return redirect("promotions:promotion_detail", shop=self.shop.pk, pk=saved.pk)
        return self.render_page(request, kind=kind, form=form, tiers=tiers, promotion=promotion, status=400,
                                tier_errors=tier_errors)  # fmt: skip

    @staticmethod
    def fields_of(form: f.PromotionForm, tiers) -> dict:
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("categories", "products", "skus")}
        data["scope"] = form.scope()
        if tiers is not None:
            data["tiers"] = [{"min_spend": t["min_spend"], "discount": t["discount"]}
                             for t in tiers.cleaned_data if t and t.get("min_spend") is not None]  # fmt: skip
        return data

    @staticmethod
    def place_errors(form, tiers, exc: ServiceError) -> list[str]:
        """The service names fields as its parameters ("value", "scope.skus", "tiers.1.discount"): each
        message goes beside its field, a tier's on its row; what fits no field goes on top."""
        tier_errors: list[str] = []
        placed = False
        for key, msgs in (exc.fields or {}).items():
            msgs = [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            parts = key.split(".")
            if parts[0] == "tiers" and tiers is not None:
                row = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                name = parts[2] if len(parts) > 2 else None
                if row is not None and row < len(tiers.forms) and name in tiers.forms[row].fields:
                    for m in msgs:
                        tiers.forms[row].add_error(name, m)
                else:
                    tier_errors.extend(msgs)
                placed = True
            elif name := next((part for part in parts if part in form.fields), None):
                # "scope.skus.2" goes beside the SKU codes, "value" beside the value
                for m in msgs:
                    form.add_error(name, m)
                placed = True
        if not placed:
            form.add_error(None, exc.message)
        return tier_errors

    def preview(self, request, *, kind, form, tiers, promotion):
        cart = f.PreviewFormSet(request.POST, prefix="cart")
        if request.POST.get("preview") == "simulate":  # its own button: the draft over past orders, not the cart
            result = simulations.preview_simulation(actor=self.actor, kind=kind, form=form, tiers=tiers,
                                                    promotion=promotion, fields_of=self.fields_of,
                                                    days=request.POST.get("simulate_days"))  # fmt: skip
        else:
            result = backend.preview_quote(actor=self.actor, kind=kind, form=form, tiers=tiers, cart=cart,
                                           promotion=promotion, fields_of=self.fields_of)  # fmt: skip
        if request.htmx:  # the quote or the simulation alone, for its place in the preview card
            return render(request, "promotions/_preview_update.html", result)
        return self.render_page(request, kind=kind, form=form, tiers=tiers, promotion=promotion, cart=cart,
                                **result)  # fmt: skip


class PromotionCreateView(_PromotionFormView):
    one_time_post = True

    def needs_one_time_token(self) -> bool:
        # A preview saves nothing: it must not use up the token the Save button will need.
        return "preview" not in self.request.POST

    @staticmethod
    def kind_of(value) -> str | None:
        return value if value in K.values else None

    def get(self, request, shop):
        kind = self.kind_of(request.GET.get("kind"))
        if kind is None:
            kinds = [(k, K(k).label, KIND_TEXTS[k]) for k in K.values]
            status = 400 if request.GET.get("kind") else 200
            return render(request, "promotions/promotion_kind.html", {"kinds": kinds}, status=status)
        initial = {"starts_at": timezone.localtime().replace(second=0, microsecond=0), "priority": 0}
        return self.render_page(request, kind=kind, form=self.make_form(kind, initial=initial),
                                tiers=self.make_tiers(kind))  # fmt: skip

    def post(self, request, shop):
        kind = self.kind_of(request.POST.get("kind"))
        if kind is None:
            kinds = [(k, K(k).label, KIND_TEXTS[k]) for k in K.values]
            messages.error(request, _("Choose a kind of promotion."))
            return render(request, "promotions/promotion_kind.html", {"kinds": kinds}, status=400)
        return self.submitted(request, kind, None)


class PromotionEditView(_PromotionFormView):
    def initial(self, p: Promotion) -> dict:
        scope = p.scope or {}
        return {
            "name": p.name, "value": p.value, "gift_sku": p.gift_sku.code if p.gift_sku else "",
            "gift_quantity": p.gift_quantity, "trigger_sku": p.trigger_sku.code if p.trigger_sku else "",
            "buy_quantity": p.buy_quantity or None, "get_quantity": p.get_quantity or None,
            "starts_at": timezone.localtime(p.starts_at),
            "ends_at": timezone.localtime(p.ends_at) if p.ends_at else None,
            "categories": [str(pk) for pk in scope.get("categories", [])],
            "products": [str(pk) for pk in scope.get("products", [])],
            "skus": backend.sku_codes(shop=self.shop, actor=self.actor, ids=scope.get("skus", [])),
            "min_spend": p.min_spend, "usage_limit": p.usage_limit, "per_buyer_limit": p.per_buyer_limit,
            "budget": p.budget, "priority": p.priority, "exclusive": p.exclusive, "code": p.code,
        }  # fmt: skip

    def get(self, request, shop, pk):
        p = self.get_promotion(pk)
        if p.state == Promotion.State.ENDED:
            # Said before the member fills in a form the service would refuse (its words, its 409).
            raise Conflict(_("An ended promotion cannot be changed."), code="promotion_ended")
        form = self.make_form(p.kind, initial=self.initial(p))
        return self.render_page(request, kind=p.kind, form=form, promotion=p,
                                tiers=self.make_tiers(p.kind, initial=p.tiers or None))  # fmt: skip

    def post(self, request, shop, pk):
        p = self.get_promotion(pk)
        return self.submitted(request, p.kind, p)


class PromotionDetailView(_PromotionPage):
    required_action = "promotions.view"

    def get(self, request, shop, pk):
        p = self.get_promotion(pk)
        status = p.status
        return render(request, "promotions/promotion_detail.html", {
            "promotion": p, "status": status, "status_label": dict(Promotion.Status.choices)[status],
            "may": backend.promotion_actions(actor=self.actor, promotion=p),
            "effect": backend.promotion_effect(actor=self.actor, promotion=p),
            "scope": backend.scope_names(shop=self.shop, actor=self.actor, scope=p.scope or {}),
            "codes": codes.codes_card(actor=self.actor, promotion=p, params=request.GET),
            "simulation": simulations.simulation_card(actor=self.actor, promotion=p, status=status, params=request.GET),
        })  # fmt: skip


class PromotionTransitionView(_PromotionPage):
    """GET: what the step does, and a button; POST: does it. A step the promotion's state does not allow
    is the service's 409 with the reason."""

    required_action = "promotions.manage"

    def get(self, request, shop, pk, op):
        p = self.get_promotion(pk)
        return render(request, "promotions/promotion_confirm.html", {
            "promotion": p, "op": op, "op_label": OPS[op][0],
        })  # fmt: skip

    def post(self, request, shop, pk, op):
        p = self.get_promotion(pk)
        backend.promotion_transition(actor=self.actor, promotion=p, op=op)
        messages.success(request, str(OPS[op][1]))
        return redirect("promotions:promotion_detail", shop=self.shop.pk, pk=p.pk)
