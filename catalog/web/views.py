"""Browser pages for the catalog. Thin: forms check shape, selectors read, services write."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from backoffice.authz import can
from backoffice.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from backoffice.forms import apply_service_error
from backoffice.parsing import parse_ids
from backoffice.tabular import stream_csv
from backoffice.web import ShopPageMixin
from catalog import selectors, services
from catalog.models import SKU, Category, ExportJob, LowStockAlert, Product, StockMovement, Warehouse
from catalog.services.taxonomy import category_delete, warehouse_delete
from catalog.services.transfer import csv_format_label
from catalog.uploads import IMAGE_BODY_CAP, IMPORT_BODY_CAP, check_body_size
from catalog.web import forms as f

PAGE_SIZE = 25


class _BodyCapMixin:
    """A page that takes a file refuses a body over ``body_cap`` bytes (413) *before* it is read.

    Django's CSRF middleware reads a POST body to find the token, which would receive the whole
    upload first; so these views are exempt from the middleware and run the same CSRF check
    themselves, right after the size check (the header only) and before anything else."""

    body_cap = 0
    body_field = "file"

    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            try:
                check_body_size(request, self.body_cap, self.body_field)
            except ServiceError as exc:
                return render(request, "400.html", {"message": exc.message}, status=exc.status_code)
            check = CsrfViewMiddleware(lambda req: None)
            check.process_request(request)
            refused = check.process_view(request, None, (), {})
            if refused is not None:
                return refused
        return super().dispatch(request, *args, **kwargs)


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _querystring(request) -> str:
    return urlencode({k: v for k, v in request.GET.items() if k != "page"})


def _form_error(form, exc: ServiceError) -> None:
    """A refusal on the form's fields (400); a refusal of the action itself stays a 403/404."""
    if isinstance(exc, (Forbidden, NotFound)):
        raise exc
    apply_service_error(form, exc)


# --------------------------------------------------------------------------------------------- products


class ProductListView(ShopPageMixin, View):
    required_action = "catalog.view"

    def get(self, request, shop):
        qs = selectors.product_list(shop=self.shop, actor=self.actor, filters=request.GET,
                                    with_stock=True).order_by("-id")  # fmt: skip
        context = {
            "page": _page(request, qs),
            "filters": request.GET,
            "querystring": _querystring(request),
            "statuses": Product.Status.choices,
            "categories": selectors.category_list(shop=self.shop, actor=self.actor),
            "warehouses": selectors.warehouse_list(shop=self.shop, actor=self.actor),
            "export_url": reverse("catalog:product_export", kwargs={"shop": self.shop.pk}),
        }
        template = "catalog/_product_rows.html" if request.htmx else "catalog/product_list.html"
        return render(request, template, context)


class ProductBulkView(ShopPageMixin, View):
    """Bulk submit or archive of the ticked products. Each product in its own transaction: when some
    work the list says which did not (302); when none does, the page answers 4xx with every reason."""

    required_action = "catalog.publish"
    ACTIONS = {"submit": services.product_submit, "archive": services.product_archive}

    def refusal_back_url(self) -> str:
        return reverse("catalog:product_list", kwargs={"shop": self.shop.pk})

    def post(self, request, shop):
        op = self.ACTIONS.get(request.POST.get("action", ""))
        ids = parse_ids(request.POST.getlist("ids"), "ids")  # "²" or a 20-digit id: a 400 with the reason
        if op is None or not ids:
            raise ValidationFailed(_("Tick some products and choose an action."))
        products = {p.pk: p for p in self.scoped(Product).filter(pk__in=ids)}
        done = 0
        # An id that is not a product of this shop inside the member's scope reads as not found.
        failed: list[tuple[str, ServiceError]] = [
            (f"#{pk}", NotFound(_("Not found."))) for pk in ids if pk not in products
        ]
        for product in sorted(products.values(), key=lambda p: p.pk):
            try:
                op(actor=self.actor, product=product)
                done += 1
            except ServiceError as exc:
                failed.append((product.title, exc))
        lines = [f"{name}: {exc.message}" for name, exc in failed]
        if not done:
            # Nothing changed: one refusal, with the status every failure shares (else 400).
            kinds = {type(exc) for _name, exc in failed}
            refusal = kinds.pop() if len(kinds) == 1 else ValidationFailed
            raise refusal("; ".join(lines[:10]))
        messages.success(request, _("%(n)s product(s) updated.") % {"n": done})
        for line in lines[:10]:
            messages.warning(request, line)
        return redirect("catalog:product_list", shop=self.shop.pk)


class _ExportStartView(ShopPageMixin, View):
    """Start an export of what a list shows (its filters come with the form); it is built in the
    background and appears on the exports page. A refused export (a bad format or filter) is a 400
    with the reason."""

    required_action = "catalog.view"
    one_time_post = True  # the POST starts an export job
    kind = ""
    list_url = ""

    def refusal_back_url(self) -> str:
        return reverse(self.list_url, kwargs={"shop": self.shop.pk})

    def post(self, request, shop):
        services.export_create(actor=self.actor, kind=self.kind, fmt=request.POST.get("format", "csv"),
                               filters=request.POST)  # fmt: skip
        messages.success(request, _("Export started; it appears below when ready."))
        return redirect("catalog:exports", shop=self.shop.pk)


class ProductExportView(_ExportStartView):
    kind, list_url = ExportJob.Kind.PRODUCTS, "catalog:product_list"


class StockExportView(_ExportStartView):
    kind, list_url = ExportJob.Kind.STOCK, "catalog:stock"


def _variant_data(form_data: dict, show_cost: bool) -> dict:
    keys = ["code", "price", "old_price", "barcode", "weight", "low_stock_threshold", "attributes"]
    if show_cost:
        keys.append("cost")
    return {k: form_data.get(k) for k in keys}


class ProductFormMixin:
    template = "catalog/product_form.html"

    keep_category: int | None = None  # a product's own category stays offered while it is inactive

    def _categories(self):
        return selectors.category_choices(shop=self.shop, actor=self.actor, keep=self.keep_category)

    def _category(self, pk):
        return self._categories().filter(pk=pk).first() if pk else None

    def _show_cost(self) -> bool:
        return can(self.actor, "catalog.view_cost")

    def _render(self, request, form, formset, product=None, status=200, may_edit: bool = True):
        context = {"form": form, "formset": formset, "product": product, "show_cost": self._show_cost(),
                   "may_edit": may_edit}  # fmt: skip
        if not may_edit:
            # Read-only: the product as it is (its category by name, not an edit list the member has none of).
            skus = list(selectors.product_skus(shop=self.shop, product=product))
            for sku in skus:  # pairs, not ``attributes.items`` (an attribute named "items" would win the lookup)
                sku.attribute_pairs = sorted((sku.attributes or {}).items())
            context.update(skus=skus, attributes=sorted((product.attributes or {}).items()))
        if product is not None:
            context.update(
                images=selectors.image_list(shop=self.shop, product=product),
                image_form=f.ImageUploadForm(),
                stock=selectors.stock_list(shop=self.shop, actor=self.actor, filters={"product": product.pk}),
            )
        return render(request, self.template, context, status=status)

    def _formset(self, data=None, initial=None):
        return f.VariantFormSet(data, initial=initial, prefix="variants",
                                form_kwargs={"show_cost": self._show_cost()})  # fmt: skip

    @staticmethod
    def _variant_rows(formset) -> list[int]:
        """The formset rows sent to the service as variants (rows with a SKU code), in order: the service's
        ``variants.<i>`` is the i-th of them, not the i-th row of the form."""
        return [i for i, v in enumerate(formset.cleaned_data) if v and v.get("code")]

    def _place_errors(self, form, formset, exc: ServiceError, rows: list[int]) -> None:
        placed = False
        for key, msgs in (exc.fields or {}).items():
            parts = key.split(".")
            if parts[0] in ("variants", "skus") and len(parts) == 3 and parts[1].isdigit():
                index = int(parts[1])
                index = rows[index] if index < len(rows) else index
                if index < len(formset.forms) and parts[2] in formset.forms[index].fields:
                    for m in msgs:
                        formset.forms[index].add_error(parts[2], str(m))
                    placed = True
            elif key in ("variants", "skus") and formset.forms:
                # No variant at all: said beside the first row's SKU code.
                for m in msgs:
                    formset.forms[0].add_error("code", str(m))
                placed = True
            elif parts[-1] in form.fields:
                for m in msgs:
                    form.add_error(parts[-1], str(m))
                placed = True
            elif parts[-1] in ("code", "price", "old_price", "cost", "barcode") and formset.forms:
                for m in msgs:
                    formset.forms[0].add_error(parts[-1], str(m))
                placed = True
        if not placed:
            form.add_error(None, exc.message)


class ProductCreateView(ProductFormMixin, ShopPageMixin, View):
    required_action = "catalog.edit"
    one_time_post = True

    def get(self, request, shop):
        return self._render(request, f.ProductForm(categories=self._categories()), self._formset())

    def post(self, request, shop):
        form = f.ProductForm(request.POST, categories=self._categories())
        formset = self._formset(request.POST)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            rows = self._variant_rows(formset)
            variants = [_variant_data(formset.cleaned_data[i], self._show_cost()) for i in rows]
            try:
                product = services.product_create(
                    actor=self.actor, title=data["title"], description=data["description"], brand=data["brand"],
                    category=self._category(data["category"]), attributes=data["attributes"], skus=variants,
                )  # fmt: skip
            except ServiceError as exc:
                self._place_errors(form, formset, exc, rows)
            else:
                messages.success(request, _("Product created."))
                return redirect("catalog:product_detail", shop=self.shop.pk, pk=product.pk)
        return self._render(request, form, formset, status=400)


class ProductDetailView(ProductFormMixin, ShopPageMixin, View):
    """View a product (anyone with catalog.view); edit it with its variants (catalog.edit)."""

    required_action = "catalog.view"
    required_actions_by_method = {"POST": "catalog.edit"}

    def _product(self, pk) -> Product:
        product = get_object_or_404(self.scoped(Product).select_related("category"), pk=pk)
        self.keep_category = product.category_id
        return product

    def _initial(self, product):
        form = f.ProductForm(
            initial={"title": product.title, "brand": product.brand, "category": product.category_id,
                     "description": product.description, "attributes": product.attributes},
            categories=self._categories(),
        )  # fmt: skip
        skus = selectors.product_skus(shop=self.shop, product=product)
        formset = self._formset(initial=[
            {"id": s.pk, "code": s.code, "price": s.price, "old_price": s.old_price, "cost": s.cost,
             "barcode": s.barcode, "weight": s.weight, "low_stock_threshold": s.low_stock_threshold,
             "attributes": s.attributes} for s in skus
        ])  # fmt: skip
        return form, formset

    def get(self, request, shop, pk):
        product = self._product(pk)
        if not can(self.actor, "catalog.edit", product):
            # Viewer, support, finance: the product's real values, no form (a form of disabled inputs showed
            # "—" for the category, whose edit list they have none of, and told them to Save).
            return self._render(request, None, None, product, may_edit=False)
        form, formset = self._initial(product)
        return self._render(request, form, formset, product)

    def post(self, request, shop, pk):
        product = self._product(pk)
        form = f.ProductForm(request.POST, categories=self._categories())
        formset = self._formset(request.POST)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            rows = self._variant_rows(formset)
            variants = [{"id": formset.cleaned_data[i].get("id"),
                         **_variant_data(formset.cleaned_data[i], self._show_cost())} for i in rows]  # fmt: skip
            stored = {sku.pk: sku.attributes for sku in selectors.product_skus(shop=self.shop, product=product)}
            for variant in variants:
                variant["attributes"] = f.AttributeLineField.keep_types(
                    variant["attributes"], stored.get(variant["id"])
                )
            fields = {k: data[k] for k in ("title", "brand", "description", "attributes")}
            fields["category"] = self._category(data["category"])
            try:
                services.product_edit(actor=self.actor, product=product, fields=fields, variants=variants)
            except ServiceError as exc:
                self._place_errors(form, formset, exc, rows)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("catalog:product_detail", shop=self.shop.pk, pk=product.pk)
        return self._render(request, form, formset, product, status=400)


class _ProductActionMixin:
    """A POST action on one product (``pk`` in the URL): a refusal page's Back button leads to it."""

    def refusal_back_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"shop": self.shop.pk, "pk": self.kwargs["pk"]})


class ProductTransitionView(_ProductActionMixin, ShopPageMixin, View):
    """Submit for review, archive, or restore from the archive. A transition the product's status does
    not allow is a 409 with the reason (a product without variants cannot be submitted: 400)."""

    required_action = "catalog.publish"
    OPS = {"submit": services.product_submit, "archive": services.product_archive,
           "unarchive": services.product_unarchive}  # fmt: skip

    def post(self, request, shop, pk, op):
        product = get_object_or_404(self.scoped(Product), pk=pk)
        product = self.OPS[op](actor=self.actor, product=product)
        messages.success(request, _("Status: %(s)s") % {"s": product.get_status_display()})
        return redirect("catalog:product_detail", shop=self.shop.pk, pk=pk)


class ProductImagesView(_ProductActionMixin, _BodyCapMixin, ShopPageMixin, View):
    """Upload an image (``image``), delete one (``delete=<id>``), or move one (``move=<id>``, ``dir=up|down``).
    A refused upload (not an image, too many) is a 400 with the reason; an unknown image a 404."""

    required_action = "catalog.edit"
    body_cap, body_field = IMAGE_BODY_CAP, "image"

    def post(self, request, shop, pk):
        product = get_object_or_404(self.scoped(Product), pk=pk)
        if request.POST.get("delete") or request.POST.get("move"):
            image = selectors.image_get(shop=self.shop, product=product,
                                        pk=request.POST.get("delete") or request.POST.get("move"))  # fmt: skip
            if image is None:
                raise NotFound(_("No such image."))
            if request.POST.get("delete"):
                services.image_remove(actor=self.actor, image=image)
            else:
                services.image_move(actor=self.actor, product=product, image=image,
                                    up=request.POST.get("dir") == "up")  # fmt: skip
        else:
            form = f.ImageUploadForm(request.POST, request.FILES)
            if not form.is_valid():
                raise ValidationFailed(_("Choose an image file."))
            services.image_add(actor=self.actor, product=product, upload=form.cleaned_data["image"])
            messages.success(request, _("Image added."))
        return redirect(reverse("catalog:product_detail", kwargs={"shop": self.shop.pk, "pk": pk}) + "#images")


# --------------------------------------------------------------------------------------------- stock


class StockView(ShopPageMixin, View):
    """Stock per warehouse (filter), with the adjustment form for members who manage stock."""

    required_action = "catalog.view"
    required_actions_by_method = {"POST": "catalog.manage_stock"}
    one_time_post = True  # a resent adjustment would move the stock twice
    template = "catalog/stock.html"

    def _warehouses(self, action="catalog.view"):
        return selectors.warehouse_list(shop=self.shop, actor=self.actor, action=action)

    def _render(self, request, form, status=200):
        qs = selectors.stock_levels(shop=self.shop, actor=self.actor, filters=request.GET)
        context = {
            "page": _page(request, qs),
            "filters": request.GET,
            "querystring": _querystring(request),
            "warehouses": self._warehouses(),
            "form": form,
            "may_adjust": can(self.actor, "catalog.manage_stock"),
            "export_url": reverse("catalog:stock_export", kwargs={"shop": self.shop.pk}),
        }
        template = "catalog/_stock_rows.html" if request.htmx and request.method == "GET" else self.template
        return render(request, template, context, status=status)

    def get(self, request, shop):
        # ``?sku=&warehouse=&reason=`` (the Restock link of a low-stock alert) both narrow the list to that level
        # and fill the adjustment form, the cursor in the quantity.
        form = f.AdjustmentForm(initial={"warehouse": request.GET.get("warehouse"), "sku": request.GET.get("sku"),
                                         "reason": request.GET.get("reason")},
                                warehouses=selectors.warehouse_choices(shop=self.shop, actor=self.actor))  # fmt: skip
        # The form offers open warehouses only; a POST naming a closed one gets the service's reason.
        return self._render(request, form)

    def post(self, request, shop):
        form = f.AdjustmentForm(request.POST, warehouses=self._warehouses("catalog.manage_stock"))
        if form.is_valid():
            data = form.cleaned_data
            sku = selectors.sku_get_by_code_or_id(shop=self.shop, actor=self.actor, value=data["sku"],
                                                  action="catalog.manage_stock")  # fmt: skip
            warehouse = self._warehouses("catalog.manage_stock").filter(pk=data["warehouse"]).first()
            if sku is None:
                form.add_error("sku", _("Unknown SKU."))
            else:
                try:
                    services.stock_adjust(actor=self.actor, sku=sku, warehouse=warehouse, delta=data["delta"],
                                          reason=data["reason"], note=data["note"])  # fmt: skip
                except ServiceError as exc:
                    _form_error(form, exc)
                else:
                    messages.success(
                        request, _("Stock of %(sku)s changed by %(d)+d.") % {"sku": sku.code, "d": data["delta"]}
                    )
                    return redirect(
                        reverse("catalog:stock", kwargs={"shop": self.shop.pk}) + f"?warehouse={warehouse.pk}"
                    )
        return self._render(request, form, status=400)


class MovementListView(ShopPageMixin, View):
    required_action = "catalog.view"

    def get(self, request, shop):
        qs = selectors.movement_list(shop=self.shop, actor=self.actor, filters=request.GET).order_by("-id")
        return render(request, "catalog/movements.html", {
            "page": _page(request, qs), "filters": request.GET, "querystring": _querystring(request),
            "warehouses": selectors.warehouse_list(shop=self.shop, actor=self.actor),
            "kinds": StockMovement.Kind.choices,
        })  # fmt: skip


class LowStockView(ShopPageMixin, View):
    required_action = "catalog.view"

    def get(self, request, shop):
        status = request.GET.get("status", "open")
        qs = selectors.alert_list(shop=self.shop, actor=self.actor, filters={"status": status},
                                  restock_for=self.actor).order_by("-id")  # fmt: skip
        return render(request, "catalog/low_stock.html", {
            "page": _page(request, qs), "status": status, "querystring": _querystring(request),
            "statuses": LowStockAlert.Status.choices,
        })  # fmt: skip


# --------------------------------------------------------------------------------------------- imports


class ImportListView(_BodyCapMixin, ShopPageMixin, View):
    required_action = "catalog.view"
    body_cap = IMPORT_BODY_CAP

    def _render(self, request, form, status=200):
        qs = selectors.import_list(shop=self.shop, actor=self.actor).order_by("-id")
        return render(request, "catalog/imports.html", {"page": _page(request, qs), "form": form,
                                                        "querystring": _querystring(request)}, status=status)  # fmt: skip

    def get(self, request, shop):
        return self._render(request, f.ImportForm())

    def post(self, request, shop):
        form = f.ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = services.import_job_create(actor=self.actor, kind=form.cleaned_data["kind"],
                                                 upload=form.cleaned_data["file"])  # fmt: skip
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                return redirect("catalog:import_detail", shop=self.shop.pk, pk=job.pk)
        return self._render(request, form, status=400)


class ImportDetailView(ShopPageMixin, View):
    """A job's progress (the page polls its partial while the job runs) and its error list."""

    required_action = "catalog.view"

    def get(self, request, shop, pk):
        job = get_object_or_404(selectors.import_list(shop=self.shop, actor=self.actor), pk=pk)
        template = "catalog/_import_progress.html" if request.htmx else "catalog/import_detail.html"
        return render(request, template, {"job": job, "errors": job.errors[:100],
                                          "file_format": csv_format_label(job.file_encoding, job.file_delimiter)})  # fmt: skip


class ImportReportView(ShopPageMixin, View):
    required_action = "catalog.view"

    def get(self, request, shop, pk):
        job = get_object_or_404(selectors.import_list(shop=self.shop, actor=self.actor), pk=pk)
        return stream_csv(*selectors.import_report(job=job))


class ExportListView(ShopPageMixin, View):
    """The catalog exports this member may see, newest first; the list polls while one is being built."""

    required_action = "catalog.view"

    def get(self, request, shop):
        page = _page(request, selectors.export_list(shop=self.shop, actor=self.actor).order_by("-id"))
        for job in page:
            job.may_download = selectors.export_may_download(actor=self.actor, job=job)
        return render(request, "catalog/exports.html", {
            "page": page, "querystring": _querystring(request),
            "busy": any(not j.is_finished for j in page),
        })  # fmt: skip


class ExportDownloadView(ShopPageMixin, View):
    required_action = "catalog.view"

    def get(self, request, shop, pk):
        job = selectors.export_for_download(shop=self.shop, actor=self.actor, pk=pk)
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_basename)


# --------------------------------------------------------------------------------------------- categories, warehouses


class CategoryListView(ShopPageMixin, View):
    required_action = "catalog.view"
    required_actions_by_method = {"POST": "catalog.edit"}
    one_time_post = True  # the POST adds a category

    def _render(self, request, form, status=200):
        qs = selectors.category_list(shop=self.shop, actor=self.actor, filters=request.GET).select_related("parent")
        return render(request, "catalog/categories.html", {"page": _page(request, qs), "form": form,
                      "may_edit": can(self.actor, "catalog.edit"), "querystring": _querystring(request),
                      "active": request.GET.get("active", "")}, status=status)  # fmt: skip

    def _form(self, data=None):
        # A new category goes under an active one.
        return f.CategoryForm(data, categories=selectors.category_choices(shop=self.shop, actor=self.actor))

    def get(self, request, shop):
        return self._render(request, self._form())

    def post(self, request, shop):
        form = self._form(request.POST)
        if form.is_valid():
            parent = None
            if form.cleaned_data["parent"]:
                parent = self.scoped(Category, "catalog.edit").filter(pk=form.cleaned_data["parent"]).first()
            try:
                services.category_create(actor=self.actor, name=form.cleaned_data["name"], parent=parent)
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Category added."))
                return redirect("catalog:categories", shop=self.shop.pk)
        return self._render(request, form, status=400)


class WarehouseListView(ShopPageMixin, View):
    required_action = "catalog.view"
    required_actions_by_method = {"POST": "catalog.manage_stock"}
    one_time_post = True  # the POST opens a warehouse

    def _render(self, request, form, status=200):
        qs = selectors.warehouse_list(shop=self.shop, actor=self.actor, filters=request.GET)
        may_add = selectors.warehouse_may_create(actor=self.actor)
        return render(request, "catalog/warehouses.html", {"page": _page(request, qs), "form": form,
                      "may_add": may_add, "may_manage": can(self.actor, "catalog.manage_stock"),
                      "querystring": _querystring(request), "active": request.GET.get("active", "")},
                      status=status)  # fmt: skip

    def get(self, request, shop):
        return self._render(request, f.WarehouseForm())

    def post(self, request, shop):
        form = f.WarehouseForm(request.POST)
        if form.is_valid():
            try:
                services.warehouse_create(actor=self.actor, **form.cleaned_data)
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Warehouse added."))
                return redirect("catalog:warehouses", shop=self.shop.pk)
        return self._render(request, form, status=400)


class CategoryEditView(ShopPageMixin, View):
    """Rename a category or move it under another (or to the root). The service refuses a move under the
    category itself or one of its descendants (a cycle): the form shows why, 400, and the tree is unchanged."""

    required_action = "catalog.edit"

    def _category(self, pk) -> Category:
        return get_object_or_404(self.scoped(Category).select_related("parent"), pk=pk)

    def _form(self, data=None, initial=None, keep=None):
        # Under an active category, or where it already is.
        return f.CategoryForm(data, initial=initial, categories=selectors.category_choices(
            shop=self.shop, actor=self.actor, keep=keep))  # fmt: skip

    def _render(self, request, form, category, status=200):
        return render(request, "catalog/category_form.html", {"form": form, "category": category}, status=status)

    def get(self, request, shop, pk):
        category = self._category(pk)
        return self._render(request, self._form(initial={"name": category.name, "parent": category.parent_id},
                                                keep=category.parent_id), category)  # fmt: skip

    def post(self, request, shop, pk):
        category = self._category(pk)
        form = self._form(request.POST, keep=category.parent_id)
        if form.is_valid():
            parent = None
            if form.cleaned_data["parent"]:
                parent = self.scoped(Category).filter(pk=form.cleaned_data["parent"]).first()
            try:
                services.category_update(actor=self.actor, category=category, name=form.cleaned_data["name"],
                                         parent=parent)  # fmt: skip
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("catalog:categories", shop=self.shop.pk)
        return self._render(request, form, category, status=400)


class WarehouseEditView(ShopPageMixin, View):
    """Edit a warehouse (name, code, address) or close it (``is_active`` off: no more stock changes
    there). A code another warehouse of the shop holds is a 400 on the form."""

    required_action = "catalog.manage_stock"

    def _warehouse(self, pk) -> Warehouse:
        return get_object_or_404(self.scoped(Warehouse), pk=pk)

    def _render(self, request, form, warehouse, status=200):
        return render(request, "catalog/warehouse_form.html", {"form": form, "warehouse": warehouse}, status=status)

    def get(self, request, shop, pk):
        warehouse = self._warehouse(pk)
        initial = {k: getattr(warehouse, k) for k in ("name", "code", "address", "is_active")}
        return self._render(request, f.WarehouseEditForm(initial=initial), warehouse)

    def post(self, request, shop, pk):
        warehouse = self._warehouse(pk)
        form = f.WarehouseEditForm(request.POST)
        if form.is_valid():
            try:
                services.warehouse_update(actor=self.actor, warehouse=warehouse, **form.cleaned_data)
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("catalog:warehouses", shop=self.shop.pk)
        return self._render(request, form, warehouse, status=400)


class _TaxonomyActionView(ShopPageMixin, View):
    """Deactivate, activate or delete a category or warehouse: GET is the confirmation page (what the step
    does, and for a delete what still uses it), POST does it. A refusal (a used one cannot be deleted) is
    the service's 409 with its reason."""

    model: type = Category
    list_url = ""
    template = "catalog/taxonomy_confirm.html"

    def refusal_back_url(self) -> str:
        return reverse(self.list_url, kwargs={"shop": self.shop.pk})

    def _object(self, pk):
        return get_object_or_404(self.scoped(self.model, self.required_action), pk=pk)

    def usage(self, obj) -> dict:
        raise NotImplementedError

    def perform(self, op: str, obj) -> str:
        raise NotImplementedError

    def get(self, request, shop, pk, op):
        obj = self._object(pk)
        usage = self.usage(obj) if op == "delete" else {}
        return render(request, self.template, {
            "object": obj, "op": op, "kind": self.model._meta.model_name, "usage": usage,
            "in_use": any(usage.values()), "back_url": self.refusal_back_url(),
        })  # fmt: skip

    def post(self, request, shop, pk, op):
        messages.success(request, self.perform(op, self._object(pk)))
        return redirect(self.list_url, shop=self.shop.pk)


class CategoryActionView(_TaxonomyActionView):
    required_action = "catalog.edit"
    model, list_url = Category, "catalog:categories"

    def usage(self, obj) -> dict:
        return selectors.category_usage(category=obj)

    def perform(self, op: str, obj) -> str:
        if op == "delete":
            category_delete(actor=self.actor, category=obj)
            return _("Category %(name)s deleted.") % {"name": obj.name}
        services.category_update(actor=self.actor, category=obj, is_active=op == "activate")
        if op == "activate":
            return _("Category %(name)s activated.") % {"name": obj.name}
        return _("Category %(name)s deactivated.") % {"name": obj.name}


class WarehouseActionView(_TaxonomyActionView):
    required_action = "catalog.manage_stock"
    model, list_url = Warehouse, "catalog:warehouses"

    def usage(self, obj) -> dict:
        return selectors.warehouse_usage(warehouse=obj)

    def perform(self, op: str, obj) -> str:
        if op == "delete":
            warehouse_delete(actor=self.actor, warehouse=obj)
            return _("Warehouse %(name)s deleted.") % {"name": obj.name}
        services.warehouse_update(actor=self.actor, warehouse=obj, is_active=op == "activate")
        if op == "activate":
            return _("Warehouse %(name)s reopened.") % {"name": obj.name}
        return _("Warehouse %(name)s closed.") % {"name": obj.name}


class SKUDeleteView(ShopPageMixin, View):
    """Remove a variant added by mistake, after confirming; when it may not go (the product's last
    variant, stock, a history) the page answers 409 with the service's reason."""

    required_action = "catalog.edit"
    product_id: int | None = None

    def refusal_back_url(self) -> str:
        if self.product_id is None:
            return reverse("catalog:product_list", kwargs={"shop": self.shop.pk})
        return reverse("catalog:product_detail", kwargs={"shop": self.shop.pk, "pk": self.product_id})

    def _sku(self, pk) -> SKU:
        sku = get_object_or_404(self.scoped(SKU).select_related("product"), pk=pk)
        self.product_id = sku.product_id
        return sku

    def get(self, request, shop, pk):
        return render(request, "catalog/sku_delete.html", {"sku": self._sku(pk)})

    def post(self, request, shop, pk):
        sku = self._sku(pk)
        services.sku_delete(actor=self.actor, sku=sku)
        messages.success(request, _("Variant %(code)s removed.") % {"code": sku.code})
        return redirect("catalog:product_detail", shop=self.shop.pk, pk=sku.product_id)
