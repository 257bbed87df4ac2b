"""The orders app's rows of the one probe table (permission matrix + isolation sweep).

The world is built once per test process and every test rolls back, so each probe may move its object on:
each state-changing probe has an object in the state it needs, and declares that object's state as its effect."""

from __future__ import annotations

import itertools

from django.forms.models import model_to_dict

from backoffice.authz import load_actor, system_actor
from backoffice.jobs import job_fields
from orders import services
from orders.models import Carrier, ExportJob, Order, OrderEvent, Refund, Return
from orders.tests.factories import make_carrier, make_sku, order_in, return_in
from tests.shop_routes import Probe, count_of, fields_of


def extend_world(world) -> None:
    shop = world.shop
    sku, wh = make_sku(shop, stock=50)
    S = Order.State
    o = world.objects
    # The shop keeps a carrier list: the packs below name CDEK (by id on the pages, by name in the API).
    o["carrier_cdek"] = make_carrier(shop, "CDEK", code="cdek", tracking_url="https://cdek.example/track/{tracking}")
    o["carrier_edit"] = make_carrier(shop, "Probe Post", code="probe-post", tracking_url="")
    o["order_sku"], o["order_wh"] = sku, wh
    o["order_confirm"] = order_in(shop, S.AWAITING_CONFIRMATION, sku=sku)
    o["order_pack"] = order_in(shop, S.AWAITING_PACKAGING, sku=sku)
    o["order_ship"] = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    o["order_deliver"] = order_in(shop, S.DELIVERING, sku=sku)
    o["order_delivered"] = order_in(shop, S.DELIVERED, sku=sku, quantity=3)
    o["return_requested"] = return_in(shop, Return.State.REQUESTED, order=order_in(shop, S.DELIVERED, sku=sku))
    o["return_approved"] = return_in(shop, Return.State.APPROVED, order=order_in(shop, S.DELIVERED, sku=sku))
    o["return_received"] = return_in(shop, Return.State.RECEIVED, order=order_in(shop, S.DELIVERED, sku=sku))
    o["refund"] = services.refund_create(actor=system_actor(shop), order=o["order_delivered"], amount="1.00",
                                         reason="Probe")  # fmt: skip
    # A finished export without buyer contact (made by finance, not limited to warehouses): every export
    # holder not limited to warehouses may download it.
    finance = load_actor(world.members["finance"].user, shop)
    job = ExportJob.objects.for_shop(shop).create(**job_fields(finance), fmt="csv", contact_visible=False)
    o["order_export"] = services.export_build(actor=system_actor(shop), job_id=job.pk)


def snapshot(shop) -> dict:
    return {
        "orders": [model_to_dict(x, exclude=["updated_at"]) for x in Order.objects.for_shop(shop).order_by("id")],
        "returns": list(Return.objects.for_shop(shop).order_by("id").values_list("id", "state", "resolution")),
        "refunds": list(Refund.objects.for_shop(shop).order_by("id").values_list("id", "amount")),
        "order_events": OrderEvent.objects.for_shop(shop).count(),
        "order_exports": ExportJob.objects.for_shop(shop).count(),
        "carriers": list(
            Carrier.objects.for_shop(shop).order_by("id").values_list("id", "name", "code", "tracking_url", "is_active")
        ),
    }


API = "api:orders_api:"
UI = "orders:"


def _pk(name):
    return lambda w: {"pk": w.objects[name].pk}


def _line(w, name="order_delivered"):
    return w.objects[name].lines.first().pk


def _state(name):
    return fields_of(Order, lambda w: w.objects[name], "state")


_carrier_seq = itertools.count(1)


def _new_carrier(w) -> dict:
    n = next(_carrier_seq)
    return {"name": f"Probe Carrier {n}", "code": f"probe-{n}", "tracking_url": "https://probe.example/t/{tracking}"}


def _carrier_fields(name):
    return fields_of(Carrier, lambda w: w.objects[name], "name", "code", "tracking_url", "is_active")


def _tracking(name):
    return fields_of(Order, lambda w: w.objects[name], "tracking_number")


def _rstate(name):
    return fields_of(Return, lambda w: w.objects[name], "state", "resolution")


PROBES: list[Probe] = [
    # REST API
    Probe(API + "orders-list", "get", "orders.view", 200),
    Probe(API + "orders-detail", "get", "orders.view", 200, kwargs=_pk("order_pack")),
    Probe(API + "orders-confirm", "post", "orders.process", 200, kwargs=_pk("order_confirm"), effect=_state("order_confirm")),
    Probe(API + "orders-pack", "post", "orders.process", 200, kwargs=_pk("order_pack"),
          body=lambda w: {"carrier": "CDEK", "tracking_number": "TRK-1"}, effect=_state("order_pack")),
    Probe(API + "orders-ship", "post", "orders.process", 200, kwargs=_pk("order_ship"), effect=_state("order_ship")),
    Probe(API + "orders-deliver", "post", "orders.process", 200, kwargs=_pk("order_deliver"),
          effect=_state("order_deliver")),
    Probe(API + "orders-cancel", "post", "orders.cancel", 200, kwargs=_pk("order_pack"),
          body=lambda w: {"reason": "buyer_request"}, effect=_state("order_pack")),
    Probe(API + "orders-bulk-confirm", "post", "orders.process", 200,
          body=lambda w: {"ids": [w.objects["order_confirm"].pk]}, effect=_state("order_confirm"), refs=("ids.0",)),
    Probe(API + "orders-bulk-pack", "post", "orders.process", 200,
          body=lambda w: {"orders": [{"id": w.objects["order_pack"].pk, "carrier": "cdek", "tracking_number": "T"}]},
          effect=_state("order_pack"), refs=("orders.0.id",)),
    Probe(API + "orders-correct-tracking", "post", "orders.process", 200, kwargs=_pk("order_ship"),
          body=lambda w: {"tracking_number": "FIX-1"}, effect=_tracking("order_ship")),
    Probe(API + "carriers-list", "get", "orders.view", 200),
    Probe(API + "carriers-list", "post", "accounts.manage_settings", 201, body=_new_carrier, effect=count_of(Carrier)),
    Probe(API + "carriers-detail", "get", "orders.view", 200, kwargs=_pk("carrier_edit")),
    Probe(API + "carriers-detail", "patch", "accounts.manage_settings", 200, kwargs=_pk("carrier_edit"),
          body=lambda w: {"tracking_url": "https://post.example/{tracking}"}, effect=_carrier_fields("carrier_edit")),
    Probe(API + "carriers-deactivate", "post", "accounts.manage_settings", 200, kwargs=_pk("carrier_edit"),
          effect=_carrier_fields("carrier_edit")),
    Probe(API + "returns-list", "get", "orders.view", 200),
    Probe(API + "returns-list", "post", "orders.manage_returns", 201,
          body=lambda w: {"order": w.objects["order_delivered"].pk, "reason": "Too small",
                          "lines": [{"line": _line(w), "quantity": 1}]},
          effect=count_of(Return), refs=("order", "lines.0.line")),
    Probe(API + "returns-detail", "get", "orders.view", 200, kwargs=_pk("return_requested")),
    Probe(API + "returns-approve", "post", "orders.manage_returns", 200, kwargs=_pk("return_requested"),
          effect=_rstate("return_requested")),
    Probe(API + "returns-reject", "post", "orders.manage_returns", 200, kwargs=_pk("return_requested"),
          body=lambda w: {"note": "Worn"}, effect=_rstate("return_requested")),
    Probe(API + "returns-receive", "post", "orders.manage_returns", 200, kwargs=_pk("return_approved"),
          body=lambda w: {"warehouse": w.objects["order_wh"].pk}, effect=_rstate("return_approved"), refs=("warehouse",)),
    Probe(API + "returns-exchange", "post", "orders.manage_returns", 200, kwargs=_pk("return_received"),
          effect=_rstate("return_received")),
    Probe(API + "returns-refund", "post", "orders.refund", 200, kwargs=_pk("return_received"),
          effect=_rstate("return_received")),
    Probe(API + "refunds-list", "get", "orders.view", 200),
    Probe(API + "refunds-list", "post", "orders.refund", 201,
          body=lambda w: {"order": w.objects["order_delivered"].pk, "amount": "5.00", "reason": "Late"},
          effect=count_of(Refund), refs=("order",)),
    Probe(API + "refunds-detail", "get", "orders.view", 200, kwargs=_pk("refund")),
    Probe(API + "order-exports-list", "get", "orders.export", 200),
    Probe(API + "order-exports-list", "post", "orders.export", 201, body=lambda w: {"format": "csv"},
          effect=count_of(ExportJob)),
    Probe(API + "order-exports-detail", "get", "orders.export", 200, kwargs=_pk("order_export")),
    Probe(API + "order-exports-download", "get", "orders.export", 200, kwargs=_pk("order_export")),
    # Browser pages
    Probe(UI + "order_list", "get", "orders.view", 200, api=False),
    Probe(UI + "order_bulk", "post", "orders.process", 302, api=False,
          body=lambda w: {"ids": [str(w.objects["order_confirm"].pk)]}, effect=_state("order_confirm"), refs=("ids.0",)),
    Probe(UI + "order_slips", "get", "orders.process", 200, api=False),
    Probe(UI + "order_bulk_pack", "get", "orders.process", 200, api=False),
    Probe(UI + "order_bulk_pack", "post", "orders.process", 302, api=False,
          body=lambda w: {"ids": str(w.objects["order_pack"].pk), "carrier": str(w.objects["carrier_cdek"].pk),
                          f"tracking_{w.objects['order_pack'].pk}": "TRK-3"}, effect=_state("order_pack"),
          refs=("ids", "carrier", "key:tracking_")),
    Probe(UI + "order_detail", "get", "orders.view", 200, api=False, kwargs=_pk("order_pack")),
    Probe(UI + "order_confirm", "post", "orders.process", 302, api=False, kwargs=_pk("order_confirm"),
          effect=_state("order_confirm")),
    Probe(UI + "order_pack", "get", "orders.process", 200, api=False, kwargs=_pk("order_pack")),
    Probe(UI + "order_pack", "post", "orders.process", 302, api=False, kwargs=_pk("order_pack"),
          body=lambda w: {"carrier": str(w.objects["carrier_cdek"].pk), "tracking_number": "TRK-2"},
          effect=_state("order_pack"), refs=("carrier",)),
    Probe(UI + "order_ship", "get", "orders.process", 200, api=False, kwargs=_pk("order_ship")),
    Probe(UI + "order_ship", "post", "orders.process", 302, api=False, kwargs=_pk("order_ship"),
          body=lambda w: {"confirm": "yes"}, effect=_state("order_ship")),
    Probe(UI + "order_correct_tracking", "get", "orders.process", 200, api=False, kwargs=_pk("order_ship")),
    Probe(UI + "order_correct_tracking", "post", "orders.process", 302, api=False, kwargs=_pk("order_ship"),
          body=lambda w: {"tracking_number": "FIX-2"}, effect=_tracking("order_ship")),
    Probe(UI + "carrier_list", "get", "orders.view", 200, api=False),
    Probe(UI + "carrier_list", "post", "accounts.manage_settings", 302, api=False, body=_new_carrier,
          effect=count_of(Carrier)),
    Probe(UI + "carrier_edit", "get", "accounts.manage_settings", 200, api=False, kwargs=_pk("carrier_edit")),
    Probe(UI + "carrier_edit", "post", "accounts.manage_settings", 302, api=False, kwargs=_pk("carrier_edit"),
          body=lambda w: {"name": "Probe Post", "code": "probe-post", "tracking_url": "https://post.example/{tracking}",
                          "is_active": "on"}, effect=_carrier_fields("carrier_edit")),
    Probe(UI + "carrier_deactivate", "get", "accounts.manage_settings", 200, api=False, kwargs=_pk("carrier_edit")),
    Probe(UI + "carrier_deactivate", "post", "accounts.manage_settings", 302, api=False, kwargs=_pk("carrier_edit"),
          effect=_carrier_fields("carrier_edit")),
    Probe(UI + "order_deliver", "post", "orders.process", 302, api=False, kwargs=_pk("order_deliver"),
          effect=_state("order_deliver")),
    Probe(UI + "order_cancel", "get", "orders.cancel", 200, api=False, kwargs=_pk("order_pack")),
    Probe(UI + "order_cancel", "post", "orders.cancel", 302, api=False, kwargs=_pk("order_pack"),
          body=lambda w: {"reason": "cannot_deliver"}, effect=_state("order_pack")),
    Probe(UI + "order_refund", "get", "orders.refund", 200, api=False, kwargs=_pk("order_delivered")),
    Probe(UI + "order_refund", "post", "orders.refund", 302, api=False, kwargs=_pk("order_delivered"),
          body=lambda w: {"amount": "2.00", "reason": "Goodwill"}, effect=count_of(Refund)),
    Probe(UI + "order_return", "get", "orders.manage_returns", 200, api=False, kwargs=_pk("order_delivered")),
    Probe(UI + "order_return", "post", "orders.manage_returns", 302, api=False, kwargs=_pk("order_delivered"),
          body=lambda w: {"reason": "Broken", f"line_{_line(w)}": "1"}, effect=count_of(Return), refs=("key:line_",)),
    Probe(UI + "order_slip", "get", "orders.process", 200, api=False, kwargs=_pk("order_ship")),
    Probe(UI + "return_list", "get", "orders.view", 200, api=False),
    Probe(UI + "return_detail", "get", "orders.view", 200, api=False, kwargs=_pk("return_requested")),
    Probe(UI + "return_approve", "post", "orders.manage_returns", 302, api=False, kwargs=_pk("return_requested"),
          effect=_rstate("return_requested")),
    Probe(UI + "return_reject", "post", "orders.manage_returns", 302, api=False, kwargs=_pk("return_requested"),
          body=lambda w: {"note": "Worn"}, effect=_rstate("return_requested")),
    Probe(UI + "return_receive", "post", "orders.manage_returns", 302, api=False, kwargs=_pk("return_approved"),
          body=lambda w: {"warehouse": str(w.objects["order_wh"].pk)}, effect=_rstate("return_approved"), refs=("warehouse",)),
    Probe(UI + "return_exchange", "post", "orders.manage_returns", 302, api=False, kwargs=_pk("return_received"),
          effect=_rstate("return_received")),
    Probe(UI + "return_refund", "post", "orders.refund", 302, api=False, kwargs=_pk("return_received"),
          effect=_rstate("return_received")),
    Probe(UI + "export_list", "get", "orders.export", 200, api=False),
    Probe(UI + "export_list", "post", "orders.export", 302, api=False, body=lambda w: {"format": "xlsx"},
          effect=count_of(ExportJob)),
    Probe(UI + "export_download", "get", "orders.export", 200, api=False, kwargs=_pk("order_export")),
]  # fmt: skip
