"""Stock per SKU per warehouse: receipts, adjustments, counts, and the reservations orders make.

Stock changes lock the stock rows they touch (``SELECT ... FOR UPDATE``, always in id order so
concurrent reservations cannot deadlock) and the database check constraints
(``0 ≤ reserved ≤ on_hand``) back the rule that available stock is never negative. Orders call
``stock_reserve`` / ``stock_release`` / ``stock_ship`` / ``stock_adjust`` with
``system_actor(shop, user=...)``, having checked their own action on the order.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import events
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, in_shop, require, restrict
from backoffice.errors import Conflict, ValidationFailed
from catalog.models import SKU, Stock, StockMovement, Warehouse

Kind = StockMovement.Kind

# reason given with a manual stock change → the movement kind it records
ADJUSTMENT_REASONS: dict[str, str] = {
    "receipt": Kind.RECEIPT,
    "return": Kind.RETURN,
    "correction": Kind.ADJUSTMENT,
    "count": Kind.ADJUSTMENT,
    "damage": Kind.ADJUSTMENT,
    "loss": Kind.ADJUSTMENT,
    "other": Kind.ADJUSTMENT,
}
ADJUSTMENT_REASON_CODES = list(ADJUSTMENT_REASONS)
# The most units one SKU may hold in one warehouse (the columns are 32-bit): a bigger level or a change
# past it is a 400 naming the field, never a database range error.
STOCK_LEVEL_MAX = 1_000_000_000


def _require_stock(actor: Actor, sku: SKU, warehouse: Warehouse | None) -> None:
    """``catalog.manage_stock`` on this SKU (its category) and warehouse, both of the actor's shop."""
    require(actor, "catalog.manage_stock")
    in_shop(actor, sku, warehouse)
    require(actor, "catalog.manage_stock", sku)
    if warehouse is not None:
        require(actor, "catalog.manage_stock", warehouse)


def _locked_stock(shop, sku_id: int, warehouse_id: int) -> Stock:
    """The stock row for (sku, warehouse), created when missing, locked for this transaction."""
    qs = Stock.objects.for_shop(shop).select_for_update()
    stock = qs.filter(sku_id=sku_id, warehouse_id=warehouse_id).first()
    if stock is None:
        # INSERT ... ON CONFLICT DO NOTHING: a concurrent first receipt cannot fail us.
        Stock.objects.for_shop(shop).bulk_create(
            [Stock(shop=shop, sku_id=sku_id, warehouse_id=warehouse_id)], ignore_conflicts=True
        )
        stock = qs.get(sku_id=sku_id, warehouse_id=warehouse_id)
    return stock


def _write(stock: Stock, *, on_hand: int, reserved: int) -> None:
    Stock.objects.for_shop(stock.shop_id).filter(pk=stock.pk).update(
        on_hand=on_hand, reserved=reserved, updated_at=timezone.now()
    )
    stock.on_hand, stock.reserved, stock.available = on_hand, reserved, on_hand - reserved


def _movement(stock: Stock, *, kind: str, actor: Actor, on_hand_delta: int = 0, reserved_delta: int = 0, reason: str = "",
              note: str = "", reference: str = "") -> StockMovement:  # fmt: skip
    return StockMovement(
        shop_id=stock.shop_id, sku_id=stock.sku_id, warehouse_id=stock.warehouse_id, kind=kind,
        on_hand_delta=on_hand_delta, reserved_delta=reserved_delta, on_hand_after=stock.on_hand,
        reserved_after=stock.reserved, reason=reason, note=note[:255], reference=reference[:64], actor=actor.audit_user,
    )  # fmt: skip


def save_movements(shop, movements: Sequence[StockMovement]) -> None:
    """Store stock movements and announce them (``stock.moved``: analytics keeps its daily stock rollup from
    them), inside the caller's transaction."""
    if not movements:
        return
    StockMovement.objects.for_shop(shop).bulk_create(movements)
    events.publish("stock.moved", shop=shop, movements=list(movements))


def stock_adjust(
    *,
    actor: Actor,
    sku: SKU,
    warehouse: Warehouse,
    delta: int,
    reason: str,
    note: str = "",
    reference: str = "",
) -> StockMovement:
    """Receive, return or adjust stock on hand by ``delta`` units (a reason is required).

    Taking stock away never takes it below what is reserved: that answers 409 and changes nothing."""
    _require_stock(actor, sku, warehouse)
    shop = actor.shop
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationFailed(
            _("Choose a reason."), fields={"reason": [_("Choose one of: %(r)s") % {"r": ", ".join(ADJUSTMENT_REASONS)}]}
        )
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise ValidationFailed(_("Give a non-zero whole number."), fields={"delta": [_("A non-zero whole number.")]})
    kind = ADJUSTMENT_REASONS[reason]
    if kind in (Kind.RECEIPT, Kind.RETURN) and delta < 0:
        raise ValidationFailed(_("A receipt or return adds stock."), fields={"delta": [_("Must be positive.")]})
    if not warehouse.is_active:
        raise Conflict(_("This warehouse is closed."), code="warehouse_inactive")
    with transaction.atomic():
        stock = _locked_stock(shop, sku.pk, warehouse.pk)
        new_on_hand = stock.on_hand + delta
        if new_on_hand > STOCK_LEVEL_MAX:
            message = _("At most %(n)s units of a SKU per warehouse.") % {"n": STOCK_LEVEL_MAX}
            raise ValidationFailed(message, fields={"delta": [message]})
        if new_on_hand < stock.reserved:
            message = _("Only %(n)s units are available to take away.") % {"n": stock.on_hand - stock.reserved}
            raise Conflict(message, code="insufficient_stock", fields={"delta": [message]})
        before = {"on_hand": stock.on_hand, "reserved": stock.reserved}
        _write(stock, on_hand=new_on_hand, reserved=stock.reserved)
        movement = _movement(stock, kind=kind, actor=actor, on_hand_delta=delta, reason=reason, note=note,
                             reference=reference)  # fmt: skip
        save_movements(shop, [movement])
        audit_record(shop=shop, actor=actor, action=f"stock.{kind}", target=stock,
                     changes={**diff(before, {"on_hand": stock.on_hand, "reserved": stock.reserved}),
                              "reason": [None, reason]})  # fmt: skip
    return movement


def stock_set_level(*, actor: Actor, sku: SKU, warehouse: Warehouse, on_hand: int, note: str = "",
                    reference: str = "") -> StockMovement | None:  # fmt: skip
    """Set the counted on-hand level (stock import, inventory count); None when it already matches."""
    _require_stock(actor, sku, warehouse)
    shop = actor.shop
    if not isinstance(on_hand, int) or isinstance(on_hand, bool) or not 0 <= on_hand <= STOCK_LEVEL_MAX:
        message = _("Give a whole number from 0 to %(n)s.") % {"n": STOCK_LEVEL_MAX}
        raise ValidationFailed(message, fields={"on_hand": [message]})
    with transaction.atomic():
        stock = _locked_stock(shop, sku.pk, warehouse.pk)
        if stock.on_hand == on_hand:
            return None
        if on_hand < stock.reserved:
            raise Conflict(_("%(n)s units are reserved: on hand cannot go below that.") % {"n": stock.reserved},
                           code="insufficient_stock", fields={"on_hand": [_("At least %(n)s.") % {"n": stock.reserved}]})  # fmt: skip
        before = {"on_hand": stock.on_hand}
        delta = on_hand - stock.on_hand
        _write(stock, on_hand=on_hand, reserved=stock.reserved)
        movement = _movement(stock, kind=Kind.ADJUSTMENT, actor=actor, on_hand_delta=delta, reason="count",
                             note=note, reference=reference)  # fmt: skip
        save_movements(shop, [movement])
        audit_record(shop=shop, actor=actor, action="stock.adjustment", target=stock,
                     changes={**diff(before, {"on_hand": on_hand}), "reason": [None, "count"]})  # fmt: skip
    return movement


def _lines_stock(actor: Actor, lines: Sequence[dict]) -> dict[tuple[int, int], Stock]:
    """Lock every stock row of the SKUs in ``lines`` (all warehouses), in id order: no deadlocks.
    A member limited to chosen warehouses reserves only from those."""
    sku_ids = sorted({line["sku"].pk for line in lines})
    rows = restrict(Stock.objects.for_shop(actor.shop).filter(sku_id__in=sku_ids), actor, "catalog.manage_stock")
    return {(s.sku_id, s.warehouse_id): s for s in rows.select_for_update(of=("self",)).order_by("id")}


def _clean_lines(actor: Actor, lines: Sequence[dict]) -> None:
    if not lines:
        raise ValidationFailed(_("Give at least one line."), fields={"lines": [_("Empty.")]})
    for i, line in enumerate(lines):
        _require_stock(actor, line["sku"], line.get("warehouse"))
        q = line.get("quantity")
        if not isinstance(q, int) or isinstance(q, bool) or q <= 0:
            raise ValidationFailed(_("Quantities are positive whole numbers."),
                                   fields={f"lines.{i}.quantity": [_("Must be positive.")]})  # fmt: skip


def stock_reserve(*, actor: Actor, lines: Sequence[dict], reference: str = "") -> list[dict]:
    """Reserve every line or none: ``lines`` are ``{"sku": SKU, "quantity": n, "warehouse": Warehouse | None}``
    (no warehouse: the one with the most available stock that can cover the line).

    Returns the allocations ``[{"sku": id, "warehouse": id, "quantity": n}]`` to release or ship later.
    A line that cannot be covered answers 409 ``out_of_stock`` and nothing is reserved."""
    require(actor, "catalog.manage_stock")
    shop = actor.shop
    _clean_lines(actor, lines)
    with transaction.atomic():
        rows = _lines_stock(actor, lines)
        planned: dict[tuple[int, int], int] = {}
        allocations: list[dict] = []
        short: dict[str, list[str]] = {}
        for i, line in enumerate(lines):
            sku, qty, wh = line["sku"], line["quantity"], line.get("warehouse")
            candidates = (
                [rows.get((sku.pk, wh.pk))]
                if wh is not None
                else sorted((s for (k, _w), s in rows.items() if k == sku.pk), key=lambda s: (-s.available, s.pk))
            )
            chosen = None
            for stock in candidates:
                if stock is not None and stock.available - planned.get((stock.sku_id, stock.warehouse_id), 0) >= qty:
                    chosen = stock
                    break
            if chosen is None:
                short[f"lines.{i}.quantity"] = [_("Not enough stock of %(sku)s.") % {"sku": sku.code}]
                continue
            key = (chosen.sku_id, chosen.warehouse_id)
            planned[key] = planned.get(key, 0) + qty
            allocations.append({"sku": chosen.sku_id, "warehouse": chosen.warehouse_id, "quantity": qty})
        if short:
            raise Conflict(
                _("Not enough stock for every line; nothing was reserved."), code="out_of_stock", fields=short
            )
        movements = []
        for key, qty in planned.items():
            stock = rows[key]
            _write(stock, on_hand=stock.on_hand, reserved=stock.reserved + qty)
            movements.append(_movement(stock, kind=Kind.RESERVATION, actor=actor, reserved_delta=qty,
                                       reference=reference))  # fmt: skip
        save_movements(shop, movements)
        audit_record(shop=shop, actor=actor, action="stock.reserved", target=shop,
                     changes={"allocations": [None, allocations], "reference": [None, reference]})  # fmt: skip
    return allocations


def _apply_allocations(*, actor: Actor, allocations: Sequence[dict], reference: str, kind: str, action: str) -> None:
    shop = actor.shop
    if not allocations:
        raise ValidationFailed(_("Give at least one allocation."), fields={"allocations": [_("Empty.")]})
    with transaction.atomic():
        sku_ids = sorted({a["sku"] for a in allocations})
        rows = {
            (s.sku_id, s.warehouse_id): s
            for s in Stock.objects.for_shop(shop).select_for_update().filter(sku_id__in=sku_ids).order_by("id")
        }
        totals: dict[tuple[int, int], int] = {}
        for a in allocations:
            totals[(a["sku"], a["warehouse"])] = totals.get((a["sku"], a["warehouse"]), 0) + int(a["quantity"])
        movements = []
        for key, qty in totals.items():
            stock = rows.get(key)
            if stock is None or stock.reserved < qty or qty <= 0:
                raise Conflict(_("These units are not reserved."), code="not_reserved")
            if actor.scopes:
                require(actor, "catalog.manage_stock", stock)
            on_hand = stock.on_hand - qty if kind == Kind.SHIPMENT else stock.on_hand
            _write(stock, on_hand=on_hand, reserved=stock.reserved - qty)
            movements.append(_movement(stock, kind=kind, actor=actor, reserved_delta=-qty, reference=reference,
                                       on_hand_delta=-qty if kind == Kind.SHIPMENT else 0))  # fmt: skip
        save_movements(shop, movements)
        audit_record(shop=shop, actor=actor, action=action, target=shop,
                     changes={"allocations": [None, list(allocations)], "reference": [None, reference]})  # fmt: skip


def stock_release(*, actor: Actor, allocations: Sequence[dict], reference: str = "") -> None:
    """Give reserved units back to available (an order cancelled)."""
    require(actor, "catalog.manage_stock")
    _apply_allocations(actor=actor, allocations=allocations, reference=reference, kind=Kind.RELEASE,
                       action="stock.released")  # fmt: skip


def stock_ship(*, actor: Actor, allocations: Sequence[dict], reference: str = "") -> None:
    """Reserved units leave the warehouse (an order shipped): on hand and reserved both go down."""
    require(actor, "catalog.manage_stock")
    _apply_allocations(actor=actor, allocations=allocations, reference=reference, kind=Kind.SHIPMENT,
                       action="stock.shipped")  # fmt: skip
