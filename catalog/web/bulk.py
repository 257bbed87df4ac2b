"""Bulk price and stock edit of selected SKUs: tick them (the product list's SKU boxes), fill one form,
check the before → after table, apply: every SKU or none, through ``services.sku_bulk_edit``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from backoffice.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from backoffice.forms import apply_service_error
from backoffice.parsing import parse_ids
from backoffice.web import ShopPageMixin
from catalog import selectors, services
from catalog.web import forms as f


class SKUBulkEditView(ShopPageMixin, View):
    """Prices (``op`` "price", ``catalog.edit``) or stock (``op`` "stock", ``catalog.manage_stock``) of the SKUs
    in ``skus``.

    A POST without ``step`` (the product list's selection) or with ``step=edit`` shows the form; ``step=preview``
    shows what would change, SKU by SKU, with the same checks as the edit; ``step=apply`` (one-time token) changes
    it. A SKU the change cannot apply to is named on the form (400) and nothing changes; an unknown SKU is a 404,
    one outside the member's scope a 403."""

    ACTIONS = {"price": "catalog.edit", "stock": "catalog.manage_stock"}
    op = ""  # "price" or "stock", given by the URL (``as_view(op=...)``)
    required_action = "catalog.edit"  # the op's, set in dispatch
    one_time_post = True  # the apply step (see needs_one_time_token)
    template = "catalog/sku_bulk_edit.html"

    def dispatch(self, request, *args, **kwargs):
        self.required_action = self.ACTIONS.get(self.op, "catalog.edit")
        return super().dispatch(request, *args, **kwargs)

    def needs_one_time_token(self) -> bool:
        # Only applying changes anything; the selection, the form and the preview may be sent again freely.
        return self.request.POST.get("step") == "apply"

    def refusal_back_url(self) -> str:
        return reverse("catalog:product_list", kwargs={"shop": self.shop.pk})

    @staticmethod
    def _ids(data) -> list[int]:
        values = data.getlist("skus")
        if len(values) == 1:
            values = values[0]  # ?skus=1,2,3
        return parse_ids(values, "skus", limit=services.BULK_MAX)

    def _form(self, data=None):
        if self.op == "price":
            return f.BulkPriceForm(data)
        warehouses = selectors.warehouse_choices(shop=self.shop, actor=self.actor)
        return f.BulkStockForm(data, warehouses=warehouses, initial={"reason": "correction"})

    def _change(self, form) -> dict:
        d = form.cleaned_data
        if self.op == "price":
            return {"price": services.PriceChange(op=d["price_op"], value=d["price_value"], old_op=d["old_price_op"],
                                                  old_value=d["old_price_value"])}  # fmt: skip
        warehouse = selectors.warehouse_get(actor=self.actor, pk=d["warehouse"], action="catalog.manage_stock")
        return {"stock": services.StockChange(op=d["stock_op"], warehouse=warehouse, quantity=d["quantity"],
                                              reason=d["reason"] or "correction", note=d["note"])}  # fmt: skip

    def _edit(self, request, ids: list[int], form, *, status: int = 200, problems: dict | None = None):
        skus = selectors.sku_bulk_selection(shop=self.shop, actor=self.actor, ids=ids, actions=[self.required_action])
        if not skus and request.method == "POST":
            message = _("Select at least one SKU.")
            raise ValidationFailed(message, fields={"skus": [message]})
        for sku in skus:
            sku.problems = (problems or {}).get(sku.code, [])
        context = {"op": self.op, "form": form, "ids": ids, "skus": skus}
        return render(request, self.template, context, status=status)

    def get(self, request, shop):
        return self._edit(request, self._ids(request.GET), self._form())

    def post(self, request, shop):
        ids = self._ids(request.POST)
        step = request.POST.get("step", "")
        if step not in ("preview", "apply"):
            return self._edit(request, ids, self._form(request.POST) if step == "edit" else self._form())
        form = self._form(request.POST)
        if not form.is_valid():
            return self._edit(request, ids, form, status=400)
        change = self._change(form)
        try:
            if step == "preview":
                plan = services.sku_bulk_plan(actor=self.actor, sku_ids=ids, **change)
                context = {"op": self.op, "form": form, "ids": ids, "plan": plan}
                return render(request, self.template, context)
            rows = services.sku_bulk_edit(actor=self.actor, sku_ids=ids, **change)
        except (Forbidden, NotFound):
            raise  # the action itself refused: the refusal page, 403/404
        except ServiceError as exc:
            apply_service_error(form, exc)
            problems = {k.removeprefix("skus."): v for k, v in exc.fields.items() if k.startswith("skus.")}
            return self._edit(request, ids, form, status=exc.status_code, problems=problems)
        messages.success(request, ngettext("%(n)s SKU changed.", "%(n)s SKUs changed.", len(rows)) % {"n": len(rows)})
        return redirect("catalog:product_list", shop=self.shop.pk)
