"""How the orders app's audit entries read (found by ``backoffice.audit.sentences.discover``): "Anna (Operator)
packed order #1042 — tracking 123 (Cainiao)"."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.audit.sentences import (
    Entry,
    changed_fields,
    choice_label,
    field_labels,
    register_action,
    register_target,
)
from orders.models import TrackingStatus


def _order_name(number) -> str:
    return _("order #%(number)s") % {"number": number}


def _order_recorded(words: str) -> str:
    # recorded as "Order <number>"
    return _order_name(words.removeprefix("Order "))


def _return_recorded(words: str) -> str:
    # recorded as "Return <id> of order <order id>" (the order's id, not its number)
    match = re.match(r"^Return (\d+)", words)
    return _("return #%(id)s") % {"id": match[1]} if match else words


def _refund_recorded(words: str) -> str:
    return _("a refund")


register_target(
    "orders.order", label=gettext_lazy("order"), model="orders.Order", view_action="orders.view",
    name=lambda o: _order_name(o.number), recorded=_order_recorded,
    url=lambda o: reverse("orders:order_detail", kwargs={"shop": o.shop_id, "pk": o.pk}),
)  # fmt: skip
register_target(
    "orders.return", label=gettext_lazy("return"), model="orders.Return", view_action="orders.view", related=("order",),
    name=lambda r: _("return #%(id)s of order #%(number)s") % {"id": r.pk, "number": r.order.number},
    recorded=_return_recorded, url=lambda r: reverse("orders:return_detail", kwargs={"shop": r.shop_id, "pk": r.pk}),
)  # fmt: skip
register_target(
    "orders.refund", label=gettext_lazy("refund"), model="orders.Refund", view_action="orders.view", related=("order",),
    name=lambda r: _("a refund on order #%(number)s") % {"number": r.order.number}, recorded=_refund_recorded,
    url=lambda r: reverse("orders:order_detail", kwargs={"shop": r.shop_id, "pk": r.order_id}),
)  # fmt: skip
register_target(
    "orders.exportjob", label=gettext_lazy("order export"), model="orders.ExportJob", view_action="orders.view",
    name=lambda j: _("order export #%(id)s") % {"id": j.pk},
    recorded=lambda words: _("order export #%(id)s") % {"id": words.split()[2]},  # "<fmt> export <id> (<status>)"
    url=lambda j: reverse("orders:export_list", kwargs={"shop": j.shop_id}),
)  # fmt: skip
register_target(
    "orders.carrier", label=gettext_lazy("carrier"), model="orders.Carrier", view_action=None, name=lambda c: c.name,
    recorded=lambda words: words,
)  # fmt: skip


def _packed_text(e: Entry):
    if e.after("tracking_number"):
        return gettext_lazy("%(actor)s packed %(target)s — tracking %(tracking)s (%(carrier)s)")
    return gettext_lazy("%(actor)s packed %(target)s")


def _return_state(e: Entry) -> dict:
    return {"note": e.after("resolution") or ""}


def _with_note(with_note, without):
    return lambda e: with_note if e.after("resolution") else without


register_action("order.created", gettext_lazy("Order received"), gettext_lazy("%(actor)s recorded the new %(target)s (%(total)s)"),
                values=lambda e: {"total": e.after("total") or "—"})  # fmt: skip
register_action("order.confirmed", gettext_lazy("Order confirmed"), gettext_lazy("%(actor)s confirmed %(target)s"))
register_action("order.packed", gettext_lazy("Order packed"), _packed_text,
                values=lambda e: {"tracking": e.after("tracking_number"), "carrier": e.after("carrier") or "—"})  # fmt: skip
register_action(
    "order.shipped", gettext_lazy("Order handed over"), gettext_lazy("%(actor)s handed %(target)s over to the carrier")
)
register_action(
    "order.delivered", gettext_lazy("Order delivered"), gettext_lazy("%(actor)s marked %(target)s as delivered")
)
register_action(
    "order.cancelled", gettext_lazy("Order cancelled"), gettext_lazy("%(actor)s cancelled %(target)s (%(reason)s)"),
    values=lambda e: {"reason": choice_label("orders.Order", "cancel_reason", e.after("cancel_reason"))},
)  # fmt: skip
register_action(
    "order.tracking_event", gettext_lazy("Carrier update"), gettext_lazy("Carrier update for %(target)s: %(status)s"),
    values=lambda e: {"status": str(dict(TrackingStatus.choices).get(e.after("tracking"), e.after("tracking")))},
)  # fmt: skip
register_action(
    "order.tracking_corrected", gettext_lazy("Tracking number corrected"),
    gettext_lazy("%(actor)s corrected the tracking number of %(target)s from %(old)s to %(new)s"),
    values=lambda e: {"old": e.before("tracking_number") or "—", "new": e.after("tracking_number") or "—"},
)  # fmt: skip
register_action("return.requested", gettext_lazy("Return opened"), gettext_lazy("%(actor)s opened %(target)s"))
register_action("return.approved", gettext_lazy("Return approved"),
                _with_note(gettext_lazy("%(actor)s approved %(target)s: %(note)s"), gettext_lazy("%(actor)s approved %(target)s")),
                values=_return_state)  # fmt: skip
register_action("return.rejected", gettext_lazy("Return rejected"), gettext_lazy("%(actor)s rejected %(target)s: %(note)s"),
                values=_return_state)  # fmt: skip
register_action(
    "return.received", gettext_lazy("Return received"), gettext_lazy("%(actor)s received the parcel of %(target)s")
)
register_action(
    "return.exchanged", gettext_lazy("Return exchanged"), gettext_lazy("%(actor)s settled %(target)s with an exchange")
)
register_action(
    "return.refunded", gettext_lazy("Return refunded"), gettext_lazy("%(actor)s settled %(target)s with a refund")
)
register_action("refund.created", gettext_lazy("Refund"), gettext_lazy("%(actor)s refunded %(amount)s: %(target)s"),
                values=lambda e: {"amount": e.after("amount")})  # fmt: skip
register_action(
    "order_export.created", gettext_lazy("Order export started"), gettext_lazy("%(actor)s started %(target)s")
)
register_action(
    "order_export.finished", gettext_lazy("Order export finished"), gettext_lazy("%(target)s ended %(status)s: %(rows)s rows"),
    values=lambda e: {"status": choice_label("orders.ExportJob", "status", e.after("status")).lower(),
                      "rows": e.after("rows") or 0},
)  # fmt: skip
register_action(
    "carrier.created", gettext_lazy("Carrier added"), gettext_lazy("%(actor)s added the carrier %(target)s")
)
register_action("carrier.updated", gettext_lazy("Carrier changed"), gettext_lazy("%(actor)s changed %(fields)s of the carrier %(target)s"),
                values=lambda e: {"fields": changed_fields(e, field_labels("orders.Carrier"))})  # fmt: skip
register_action(
    "carrier.deactivated",
    gettext_lazy("Carrier deactivated"),
    gettext_lazy("%(actor)s deactivated the carrier %(target)s"),
)
