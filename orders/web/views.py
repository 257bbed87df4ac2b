"""Browser pages for orders and returns. Thin: forms check shape, services do the work."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views import View

from backoffice.authz import can
from backoffice.errors import Conflict, ServiceError
from backoffice.forms import apply_service_error
from backoffice.parsing import parse_ids
from backoffice.tenancy.refs import ref_in_shop
from backoffice.web import ShopPageMixin, reload_page
from catalog import selectors as catalog_selectors
from orders import selectors, services
from orders.models import DeliveryMethod, ExportJob, Order, Return, ReturnLine
from orders.web import forms as f

PAGE_SIZE = 25
TABS = ["awaiting_confirmation", "awaiting_packaging", "awaiting_deliver", "delivering", "delivered", "cancelled"]
# The catalog's warehouse model, reached through orders' own foreign key (orders imports the catalog
# only through its services and selectors).
Warehouse = ReturnLine._meta.get_field("warehouse").related_model


# The query-string filters of the orders pages, in the words the filter bar shows them.
# "From"/"To" carry a context: the same words label a warehouse elsewhere ("From" context "warehouse").
FILTER_LABELS = {"state": gettext_lazy("State"),
                 "date_from": pgettext_lazy("date range", "From"), "date_to": pgettext_lazy("date range", "To"),
                 "delivery_method": gettext_lazy("Delivery method"), "warehouse": gettext_lazy("Warehouse"),
                 "search": gettext_lazy("Search"), "sort": gettext_lazy("Sort"), "order": gettext_lazy("Order"),
                 "due": gettext_lazy("Ship by")}  # fmt: skip


def _filter_problems(exc: ServiceError) -> str:
    """A refused filter named in words ("From: Use a real date, …"): the list has no form field to put
    the error on, so the message must say which filter was wrong."""
    named = [f"{FILTER_LABELS.get(field, field)}: {' '.join(map(str, problems))}"
             for field, problems in (exc.fields or {}).items()]  # fmt: skip
    return "; ".join(named) or exc.message


def _without_csrf_token(request):
    """A page still open from before the bulk buttons changed may send the CSRF token in a GET: answer
    with the same address without it, so it stays out of the address bar and the history."""
    if "csrfmiddlewaretoken" not in request.GET:
        return None
    query = request.GET.copy()
    query.pop("csrfmiddlewaretoken")
    return redirect(f"{request.path}?{query.urlencode()}" if query else request.path)


class _OrderPage(ShopPageMixin, View):
    def get_order(self, pk) -> Order:
        order = selectors.order_get(shop=self.shop, actor=self.actor, pk=pk, action=self.required_action)
        if order is None:
            raise Http404
        return order

    def back(self, order: Order):
        return redirect("orders:order_detail", shop=self.shop.pk, pk=order.pk)

    def refusal_back_url(self) -> str:
        return reverse("orders:order_detail", args=[self.shop.pk, self.kwargs["pk"]])


def _named_failures(failed: dict[str, dict], numbers: dict[int, str]) -> dict[str, list[str]]:
    """A bulk service's failures keyed by order number (an order the member cannot see keeps its id)."""
    return {numbers.get(int(pk), pk): [failure["message"]] for pk, failure in failed.items()}


def _bulk_outcome(request, summary: str, result: dict, failures: dict[str, list[str]]) -> None:
    """Some orders done: the summary and one message per failure (the caller redirects). Nothing done:
    the service's refusal with every reason (``ShopPageMixin`` renders it), never a redirect."""
    if (refusal := services.bulk_refusal(result=result, summary=summary, fields=failures)) is not None:
        raise refusal
    (messages.warning if failures else messages.success)(request, summary)
    for number, reasons in failures.items():
        messages.error(request, f"{number}: {' '.join(reasons)}")


class OrderListView(ShopPageMixin, View):
    """State tabs with counts, filters, overdue flags, bulk confirm."""

    required_action = "orders.view"

    def get(self, request, shop):
        params = request.GET
        try:
            qs = selectors.order_list(shop=self.shop, actor=self.actor, filters=params)
            qs = qs.order_by(*selectors.order_sort(value=params.get("sort")))
            counts = selectors.state_counts(shop=self.shop, actor=self.actor, filters=params)
        except ServiceError as exc:  # a bad filter: back to the list, saying which filter and why
            messages.error(request, _filter_problems(exc))
            return reload_page(request, reverse("orders:order_list", args=[self.shop.pk]))
        page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
        tab_query = urlencode({k: v for k, v in params.items() if k not in ("page", "state")})
        context = {
            "page": page,
            "filters": params,
            "querystring": urlencode({k: v for k, v in params.items() if k != "page"}),
            "tab_query": tab_query,
            "tabs": [(state, Order.State(state).label, counts[state]) for state in TABS],
            "count_all": counts["all"],
            "contact_visible": selectors.may_see_contact(actor=self.actor),
            "methods": DeliveryMethod.choices,
            "dues": [("today", _("Due today")), ("overdue", _("Overdue"))],
            "warehouses": catalog_selectors.warehouse_list(shop=self.shop, actor=self.actor, action="orders.view"),
            "may_process": can(self.actor, "orders.process"),
            "may_export": can(self.actor, "orders.export"),
            "sorts": [("-id", _("Newest")), ("id", _("Oldest")), ("ship_by", _("Ship-by soonest")),
                      ("-total", _("Largest total"))],
        }  # fmt: skip
        template = "orders/_order_list_update.html" if request.htmx else "orders/order_list.html"
        return render(request, template, context)


class OrderBulkView(ShopPageMixin, View):
    """Bulk confirm the ticked orders (each in its own transaction; failures are reported)."""

    required_action = "orders.process"

    def post(self, request, shop):
        ids = parse_ids(request.POST.getlist("ids"), "ids", limit=200)
        result = services.order_confirm_many(actor=self.actor, ids=ids)
        counts = {"done": len(result["done"]), "failed": len(result["failed"])}
        visible = selectors.order_list(shop=self.shop, actor=self.actor, prefetch=False)
        numbers = dict(visible.filter(pk__in=[int(pk) for pk in result["failed"]]).values_list("pk", "number"))
        _bulk_outcome(request, _("%(done)s confirmed, %(failed)s skipped.") % counts, result,
                      _named_failures(result["failed"], numbers))  # fmt: skip
        return redirect("orders:order_list", shop=self.shop.pk)


class OrderDetailView(_OrderPage):
    required_action = "orders.view"

    def get(self, request, shop, pk):
        order = self.get_order(pk)
        carrier = order.carrier_ref
        return render(request, "orders/order_detail.html", {
            "order": order,
            "buyer": selectors.buyer_of(order=order, visible=selectors.may_see_contact(actor=self.actor)),
            "may": selectors.order_actions(actor=self.actor, order=order),
            "tracking_link": carrier.tracking_link(order.tracking_number) if carrier else "",
        })  # fmt: skip


class _TransitionView(_OrderPage):
    required_action = "orders.process"
    verb = ""

    def run(self, order):
        raise NotImplementedError

    def post(self, request, shop, pk):
        order = self.get_order(pk)
        # A refusal (409 for a move the order's state does not allow) goes up to ShopPageMixin, which
        # answers with the reason and a 4xx: a redirect would read like success.
        self.run(order)
        return self.back(order)


class OrderConfirmView(_TransitionView):
    def run(self, order):
        services.order_confirm(actor=self.actor, order=order)
        messages.success(self.request, _("Order confirmed."))


class OrderShipView(_OrderPage):
    """Hand over to the carrier, after a confirmation page that shows the order, the carrier and the
    tracking number: a POST without ``confirm=yes`` (a stale button, a crawler) changes nothing."""

    required_action = "orders.process"

    def _confirm_page(self, request, order, status=200):
        return render(request, "orders/order_ship.html", {"order": order}, status=status)

    def get(self, request, shop, pk):
        order = self.get_order(pk)
        if not selectors.order_actions(actor=self.actor, order=order)["ship"]:
            # Said as the service says it (409), rather than a confirmation that could only fail.
            raise Conflict(_("Cannot %(verb)s an order that is %(state)s.")
                           % {"verb": _("ship"), "state": order.get_state_display().lower()}, code="invalid_transition")  # fmt: skip
        return self._confirm_page(request, order)

    def post(self, request, shop, pk):
        order = self.get_order(pk)
        if request.POST.get("confirm") != "yes":
            return self._confirm_page(request, order, status=400)
        services.order_ship(actor=self.actor, order=order)
        messages.success(self.request, _("Order handed over to the carrier."))
        return self.back(order)


class OrderDeliverView(_TransitionView):
    def run(self, order):
        services.order_deliver(actor=self.actor, order=order)
        messages.success(self.request, _("Order marked delivered."))


class _FormView(_OrderPage):
    template = ""
    form_class = None

    def form_kwargs(self, order) -> dict:
        return {}

    def get(self, request, shop, pk):
        order = self.get_order(pk)
        return render(request, self.template, {"order": order, "form": self.form_class(**self.form_kwargs(order))})

    def post(self, request, shop, pk):
        order = self.get_order(pk)
        form = self.form_class(request.POST, **self.form_kwargs(order))
        if form.is_valid():
            try:
                self.done(order, form)
                return self.back(order)
            except ServiceError as exc:
                apply_service_error(form, exc)
        return render(request, self.template, {"order": order, "form": form}, status=400)


class OrderPackView(_FormView):
    """The ship form: carrier and tracking number (packs the order)."""

    required_action = "orders.process"
    template = "orders/order_pack.html"
    form_class = f.PackForm

    def form_kwargs(self, order) -> dict:
        return {"carriers": selectors.carrier_choices(shop=self.shop)}

    def done(self, order, form):
        services.order_pack(actor=self.actor, order=order, **form.service_kwargs())
        messages.success(self.request, _("Order packed."))


class OrderTrackingCorrectView(_FormView):
    """Correct the tracking number after packing (audited: the old and the new number)."""

    required_action = "orders.process"
    template = "orders/order_tracking.html"
    form_class = f.TrackingCorrectForm

    def done(self, order, form):
        services.order_tracking_correct(actor=self.actor, order=order, **form.cleaned_data)
        messages.success(self.request, _("Tracking number corrected."))


class OrderCancelView(_FormView):
    required_action = "orders.cancel"
    template = "orders/order_cancel.html"
    form_class = f.CancelForm

    def done(self, order, form):
        services.order_cancel(actor=self.actor, order=order, **form.cleaned_data)
        messages.success(self.request, _("Order cancelled."))


class OrderRefundView(_FormView):
    required_action = "orders.refund"
    one_time_post = True  # a resent refund form must not refund twice
    template = "orders/order_refund.html"
    form_class = f.RefundForm

    def done(self, order, form):
        services.refund_create(actor=self.actor, order=order, **form.cleaned_data)
        messages.success(self.request, _("Refund recorded."))


class OrderReturnCreateView(_FormView):
    required_action = "orders.manage_returns"
    one_time_post = True
    template = "orders/return_create.html"
    form_class = f.ReturnCreateForm

    def form_kwargs(self, order) -> dict:
        return {"lines": list(order.lines.all())}

    def done(self, order, form):
        ret = services.return_request(actor=self.actor, order=order, lines=form.line_quantities(),
                                      reason=form.cleaned_data["reason"])  # fmt: skip
        messages.success(self.request, _("Return %(n)s requested.") % {"n": ret.pk})


def _ticked_ids(request) -> list[int]:
    """``?ids=1,2,3`` or ``?ids=1&ids=2`` (the list's buttons send the ticked boxes); at most 200."""
    source = request.POST if request.method == "POST" else request.GET
    return parse_ids(",".join(source.getlist("ids")).replace(" ", ""), "ids", limit=200)


class OrderBulkPackView(ShopPageMixin, View):
    """Pack the ticked orders at once: one carrier for the batch, a tracking number per parcel.
    Nothing is packed while any row is incomplete; then each order is packed in its own transaction
    and the ones that could not be (say, cancelled meanwhile) are named."""

    required_action = "orders.process"

    def _orders(self, ids: list[int]) -> list[Order]:
        qs = selectors.order_list(shop=self.shop, actor=self.actor, action=self.required_action)
        return list(qs.filter(pk__in=ids, state=Order.State.AWAITING_PACKAGING).order_by("id"))

    def _render(self, request, ids, orders, *, carrier="", tracking=None, errors=None, status=200):
        visible = selectors.may_see_contact(actor=self.actor)
        tracking, errors = tracking or {}, errors or {}
        rows = [{"order": o, "buyer": selectors.buyer_of(order=o, visible=visible), "tracking": tracking.get(o.pk, ""),
                 "error": errors.get(o.pk)} for o in orders]  # fmt: skip
        return render(request, "orders/bulk_pack.html", {
            "rows": rows, "ids": ",".join(str(o.pk) for o in orders), "carrier": carrier,
            "carriers": selectors.carrier_choices(shop=self.shop),
            "carrier_error": errors.get("carrier"), "left_out": len(ids) - len(orders),
        }, status=status)  # fmt: skip

    def _carrier(self, value: str) -> tuple[object, str, str | None]:
        """(what the service takes, the carrier's name, a problem): one of the shop's active carriers by id
        when the shop keeps a list, else the typed name."""
        choices = {str(c.pk): c for c in selectors.carrier_choices(shop=self.shop)}
        if not choices and not selectors.shop_has_carriers(shop=self.shop):
            return value, value, None if value else _("Name the carrier.")
        chosen = choices.get(value)
        if chosen is None:
            return None, "", _("Choose one of the shop's carriers.")
        return chosen, chosen.name, None

    def get(self, request, shop):
        if stale := _without_csrf_token(request):
            return stale
        ids = _ticked_ids(request)
        return self._render(request, ids, self._orders(ids))

    def post(self, request, shop):
        ids = _ticked_ids(request)
        orders = self._orders(ids)
        typed = request.POST.get("carrier", "").strip()[:80]
        carrier, name, problem = self._carrier(typed)
        tracking = {o.pk: request.POST.get(f"tracking_{o.pk}", "").strip()[:80] for o in orders}
        errors: dict = {o.pk: _("Enter the tracking number.") for o in orders if not tracking[o.pk]}
        if problem:
            errors["carrier"] = problem
        else:
            errors.update(self._tracking_problems(name, orders, tracking, skip=errors))
        if errors or not orders:
            return self._render(request, ids, orders, carrier=typed, tracking=tracking, errors=errors, status=400)
        items = [{"id": o.pk, "carrier": carrier, "tracking_number": tracking[o.pk]} for o in orders]
        result = services.order_pack_many(actor=self.actor, items=items)
        _bulk_outcome(request, _("%(done)s packed.") % {"done": len(result["done"])}, result,
                      _named_failures(result["failed"], {o.pk: o.number for o in orders}))  # fmt: skip
        return redirect(reverse("orders:order_list", args=[self.shop.pk]) + "?state=awaiting_deliver")

    def _tracking_problems(self, carrier: str, orders: list[Order], tracking: dict[int, str], *,
                           skip: dict) -> dict[int, str]:  # fmt: skip
        """Rows whose tracking number is typed twice in the batch or already used with this carrier in
        the shop: named on their row before anything is packed (the service checks again, under a lock)."""
        typed = {o.pk: tracking[o.pk] for o in orders if o.pk not in skip}
        repeated = Counter(selectors.tracking_key(carrier, t) for t in typed.values())
        taken = selectors.tracking_numbers_taken(shop=self.shop, pairs=[(carrier, t) for t in typed.values()])
        problems = {}
        for pk, number in typed.items():
            key = selectors.tracking_key(carrier, number)
            if repeated[key] > 1:
                problems[pk] = _("Each package needs its own tracking number.")
            elif key in taken:
                problems[pk] = services.tracking_number_taken("tracking_number", carrier=carrier,
                                                              tracking_number=number).message  # fmt: skip
        return problems


class PackingSlipView(ShopPageMixin, View):
    """Printable packing slips and labels: one order (``pk``) or a batch (``?ids=1,2,3``)."""

    required_action = "orders.process"

    def get(self, request, shop, pk=None):
        if stale := _without_csrf_token(request):
            return stale
        ids = [pk] if pk is not None else _ticked_ids(request)
        orders = list(
            selectors.order_detail_queryset(shop=self.shop, actor=self.actor, action=self.required_action)
            .filter(pk__in=ids).order_by("id")
        )  # fmt: skip
        if pk is not None and not orders:
            raise Http404
        visible = selectors.may_see_contact(actor=self.actor)
        slips = [{"order": o, "buyer": selectors.buyer_of(order=o, visible=visible)} for o in orders]
        return render(request, "orders/packing_slips.html", {"slips": slips})


# -- carriers ---------------------------------------------------------------------------------


class CarrierListView(ShopPageMixin, View):
    """The shop's carriers (paginated) and the form to add one. Anyone who sees orders may read the list;
    keeping it is a shop setting (``accounts.manage_settings``)."""

    required_action = "orders.view"
    required_actions_by_method = {"POST": "accounts.manage_settings"}
    one_time_post = True  # the POST adds a carrier

    def _render(self, request, form, status=200):
        qs = selectors.carrier_list(shop=self.shop, actor=self.actor)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "orders/carrier_list.html", {
            "page": page, "form": form, "may_manage": can(self.actor, "accounts.manage_settings"), "querystring": "",
        }, status=status)  # fmt: skip

    def get(self, request, shop):
        return self._render(request, f.CarrierForm())

    def post(self, request, shop):
        form = f.CarrierForm(request.POST)
        if form.is_valid():
            try:
                carrier = services.carrier_create(actor=self.actor, **form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Carrier %(name)s added.") % {"name": carrier.name})
                return redirect("orders:carrier_list", shop=self.shop.pk)
        return self._render(request, form, status=400)


class _CarrierPage(ShopPageMixin, View):
    required_action = "accounts.manage_settings"

    def get_carrier(self, pk):
        carrier = selectors.carrier_get(shop=self.shop, actor=self.actor, pk=pk, action=self.required_action)
        if carrier is None:
            raise Http404
        return carrier

    def refusal_back_url(self) -> str:
        return reverse("orders:carrier_list", args=[self.shop.pk])


class CarrierEditView(_CarrierPage):
    """Rename a carrier, change its code or tracking page, or activate it again."""

    def _render(self, request, form, carrier, status=200):
        return render(request, "orders/carrier_form.html", {"form": form, "carrier": carrier}, status=status)

    def get(self, request, shop, pk):
        carrier = self.get_carrier(pk)
        initial = {k: getattr(carrier, k) for k in ("name", "code", "tracking_url", "is_active")}
        return self._render(request, f.CarrierEditForm(initial=initial), carrier)

    def post(self, request, shop, pk):
        carrier = self.get_carrier(pk)
        form = f.CarrierEditForm(request.POST)
        if form.is_valid():
            try:
                services.carrier_update(actor=self.actor, carrier=carrier, **form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("orders:carrier_list", shop=self.shop.pk)
        return self._render(request, form, carrier, status=400)


class CarrierDeactivateView(_CarrierPage):
    """Take a carrier off the pack forms, after confirming (orders packed with it keep it)."""

    def get(self, request, shop, pk):
        return render(request, "orders/carrier_deactivate.html", {"carrier": self.get_carrier(pk)})

    def post(self, request, shop, pk):
        carrier = services.carrier_deactivate(actor=self.actor, carrier=self.get_carrier(pk))
        messages.success(request, _("Carrier %(name)s deactivated.") % {"name": carrier.name})
        return redirect("orders:carrier_list", shop=self.shop.pk)


# -- returns ----------------------------------------------------------------------------------


class ReturnListView(ShopPageMixin, View):
    required_action = "orders.view"

    def get(self, request, shop):
        try:
            qs = selectors.return_list(shop=self.shop, actor=self.actor, filters=request.GET).order_by("-id")
        except ServiceError as exc:
            messages.error(request, _filter_problems(exc))
            return redirect("orders:return_list", shop=self.shop.pk)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "orders/return_list.html", {
            "page": page, "filters": request.GET, "states": Return.State.choices,
            "querystring": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
        })  # fmt: skip


class _ReturnPage(ShopPageMixin, View):
    def get_return(self, pk) -> Return:
        ret = selectors.return_list(shop=self.shop, actor=self.actor, action=self.required_action).filter(pk=pk).first()
        if ret is None:
            raise Http404
        return ret

    def refusal_back_url(self) -> str:
        return reverse("orders:return_detail", args=[self.shop.pk, self.kwargs["pk"]])


class ReturnDetailView(_ReturnPage):
    required_action = "orders.view"

    def get(self, request, shop, pk):
        ret = self.get_return(pk)
        may = selectors.return_actions(actor=self.actor, ret=ret)
        warehouses = ()
        if may["receive"]:
            warehouses = catalog_selectors.warehouse_list(shop=self.shop, actor=self.actor,
                                                          action="orders.manage_returns").filter(is_active=True)  # fmt: skip
        return render(request, "orders/return_detail.html", {
            "ret": ret, "note_form": f.NoteForm(), "receive_form": f.ReceiveForm(warehouses=warehouses), "may": may,
        })  # fmt: skip


class _ReturnActionView(_ReturnPage):
    required_action = "orders.manage_returns"
    one_time_post = True  # each decision is sent once (a return refund moves money)

    def post(self, request, shop, pk):
        ret = self.get_return(pk)
        # A refusal (409 for a move the return's state does not allow, 400 for a missing note or an
        # unknown warehouse, 403 out of scope) goes up to ShopPageMixin: the reason and a 4xx.
        self.run(ret, request.POST)
        return redirect("orders:return_detail", shop=self.shop.pk, pk=ret.pk)


class ReturnApproveView(_ReturnActionView):
    def run(self, ret, data):
        services.return_approve(actor=self.actor, ret=ret, note=data.get("note", "")[:500])
        messages.success(self.request, _("Return approved."))


class ReturnRejectView(_ReturnActionView):
    def run(self, ret, data):
        services.return_reject(actor=self.actor, ret=ret, note=data.get("note", "")[:500])
        messages.success(self.request, _("Return rejected."))


class ReturnReceiveView(_ReturnActionView):
    def run(self, ret, data):
        # A member limited to chosen warehouses is offered (and may name) only theirs.
        warehouse = ref_in_shop(Warehouse, actor=self.actor, value=data.get("warehouse") or None, field="warehouse",
                                action="orders.manage_returns")  # fmt: skip
        services.return_receive(actor=self.actor, ret=ret, warehouse=warehouse)
        messages.success(self.request, _("Return received."))


class ReturnExchangeView(_ReturnActionView):
    def run(self, ret, data):
        services.return_exchange(actor=self.actor, ret=ret, note=data.get("note", "")[:500])
        messages.success(self.request, _("Return closed as an exchange."))


class ReturnRefundView(_ReturnActionView):
    required_action = "orders.refund"

    def run(self, ret, data):
        _ret, refund = services.return_refund(actor=self.actor, ret=ret, reason=data.get("note", "")[:500])
        messages.success(self.request, _("Refunded %(amount)s.") % {"amount": refund.amount})


# -- exports ----------------------------------------------------------------------------------


class ExportListView(ShopPageMixin, View):
    """Start an export of the orders matching the list's filters (whatever the format, the filters go
    with it and stay on the page after it started); see the jobs, with their filters in words, and
    download them."""

    required_action = "orders.export"
    one_time_post = True  # the POST starts an export job

    def _filters(self, source) -> dict[str, str]:
        return {k: source.get(k, "") for k in services.EXPORT_FILTER_KEYS if source.get(k, "")}

    def _render(self, request, form, filters: dict[str, str], status=200):
        jobs = Paginator(selectors.export_list(shop=self.shop, actor=self.actor).order_by("-id"), PAGE_SIZE)
        page = jobs.get_page(request.GET.get("page"))
        filters_text, *texts = selectors.order_filters_texts(shop=self.shop, actor=self.actor,
                                                             filter_sets=[filters, *(j.filters for j in page)])  # fmt: skip
        return render(request, "orders/export_list.html", {
            "form": form, "page": page, "rows": [{"job": j, "filters": t} for j, t in zip(page, texts, strict=True)],
            "filters": filters, "filters_text": filters_text,
            "querystring": urlencode(filters),
            "contact_visible": selectors.may_see_contact(actor=self.actor),
            "busy": any(j.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING) for j in page),
        }, status=status)  # fmt: skip

    def get(self, request, shop):
        filters = self._filters(request.GET)
        # The filters are checked when the page opens, as the list checks them: an impossible date is
        # refused now (the message names it), not after the member has chosen a format.
        try:
            selectors.order_list(shop=self.shop, actor=self.actor, filters=filters, prefetch=False)
        except ServiceError as exc:
            messages.error(request, _filter_problems(exc))
            return redirect("orders:export_list", shop=self.shop.pk)
        return self._render(request, f.ExportForm(), filters)

    def post(self, request, shop):
        form = f.ExportForm(request.POST)
        filters = self._filters(request.POST)
        if form.is_valid():
            try:
                services.export_create(actor=self.actor, fmt=form.cleaned_data["format"], filters=filters)
                messages.success(request, _("Export started; it appears below when ready."))
                # Back to the same filters: a second export (say, XLSX after CSV) exports the same orders.
                url = reverse("orders:export_list", args=[self.shop.pk])
                return redirect(f"{url}?{urlencode(filters)}" if filters else url)
            except ServiceError as exc:
                if set(exc.fields) <= set(form.fields):
                    apply_service_error(form, exc)
                else:
                    form.add_error(None, _filter_problems(exc))
        return self._render(request, form, filters, status=400)


class ExportDownloadView(ShopPageMixin, View):
    required_action = "orders.export"

    def get(self, request, shop, pk):
        job = selectors.export_get(shop=self.shop, actor=self.actor, pk=pk)
        if job is None or job.status != ExportJob.Status.DONE or not job.file:
            raise Http404
        if job.contact_visible and not selectors.may_see_contact(actor=self.actor):
            raise PermissionDenied
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
