"""Order export files (CSV, XLSX), written with the masking of the member who asked."""

from __future__ import annotations

import csv
import io

from django.core.files.base import ContentFile
from django.utils import timezone

from backoffice.authz import Actor
from orders import selectors

HEADER = ["number", "external_id", "created_at", "state", "delivery_method", "ship_by", "overdue", "buyer_name",
          "buyer_phone", "buyer_address", "lines", "total", "refunded", "currency", "carrier", "tracking_number"]  # fmt: skip


def export_rows(*, shop, actor: Actor, filters, contact_visible: bool):
    visible = contact_visible and selectors.may_see_contact(actor)
    qs = selectors.order_list(shop=shop, actor=actor, filters=filters).order_by("-id")
    for order in qs.iterator(chunk_size=2000):
        buyer = selectors.buyer_of(order, visible)
        lines = "; ".join(f"{line.sku_code} x{line.quantity} @ {line.unit_price}" for line in order.lines.all())
        yield [order.number, order.external_id, timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M"),
               order.state, order.delivery_method, timezone.localtime(order.ship_by).strftime("%Y-%m-%d %H:%M"),
               "yes" if order.is_overdue else "", buyer["name"], buyer["phone"], buyer["address"], lines,
               str(order.total), str(order.refunded_total), order.currency, order.carrier, order.tracking_number]  # fmt: skip


def write_export(*, shop, actor: Actor, fmt: str, filters, contact_visible: bool) -> tuple[str, ContentFile, int]:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    rows = 0
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(HEADER)
        for row in export_rows(shop=shop, actor=actor, filters=filters, contact_visible=contact_visible):
            writer.writerow(row)
            rows += 1
        return f"orders-{shop.pk}-{stamp}.csv", ContentFile(buf.getvalue().encode("utf-8")), rows
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("orders")
    ws.append(HEADER)
    for row in export_rows(shop=shop, actor=actor, filters=filters, contact_visible=contact_visible):
        ws.append(row)
        rows += 1
    out = io.BytesIO()
    wb.save(out)
    return f"orders-{shop.pk}-{stamp}.xlsx", ContentFile(out.getvalue()), rows
