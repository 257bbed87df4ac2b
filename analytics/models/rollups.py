"""Daily rollups of the shop's sales, kept up to date on every ``order.changed`` (``analytics.rollups``) and
rebuildable from the orders (``manage.py analytics_rebuild``). Reports and the dashboard read these, never raw
orders, so a year of sales is a few thousand rows however many orders the shop has.

- ``SalesDay``: one row per (shop, day, SKU, warehouse, delivery method): ``units`` sold, ``revenue`` (what the buyer paid for
  them: list price × units − discounts), ``discounts``, ``units_returned`` and ``refunds``. Scoped like the
  catalog's stock rows (``scope_paths``): a member limited to some categories or warehouses is given, through
  ``restrict``, only the rows of those. (The delivery method is in the key so that a member limited by scope
  can still group by it.)
- ``OrderDay``: one row per (shop, day, delivery method): ``orders``, ``units``, ``gross`` (list prices),
  ``discounts``, ``revenue``, ``refunds`` and ``cancelled`` orders. Order counts and the average order value
  cannot be summed from SKU rows (an order of three SKUs is one order), so they are kept here. These rows cover
  the whole shop: they have no category or warehouse, so only a member limited by no scope reads them (the
  reads in ``analytics.selectors`` fall back to ``SalesDay`` for the others).
- ``StockDay``: one row per (shop, day, SKU, warehouse) with a stock movement: units ``received`` and ``issued``,
  the ``net`` change, the ``closing_on_hand`` level and the number of ``movements``, kept from ``stock.moved`` and
  rebuilt from the catalog's movements; scoped like ``SalesDay``.
- ``OrderContribution``: what one order last added to the two tables (``rows``), so that the next change of the
  order applies only the difference, and a replayed event changes nothing.

Which orders count, and on which day (``analytics.rollups.contribution``, the one definition the incremental
path and the rebuild share): an order counts unless it is cancelled, on the shop's local day (``shop.timezone``)
of its creation; a cancelled order adds one to ``OrderDay.cancelled`` of that day and nothing else. Units
returned (the order lines' ``returned_quantity``, counted when the return is received) are put on the day of the
sale, so that returned ÷ sold is the return rate of the period's orders. A refund is put on the local day of the
refund itself; on ``SalesDay`` it is shared among the units its return took back (by what they were paid), or,
for a refund without a return, among the order's lines by what they were paid. A line's units, revenue and
discounts are shared among the warehouses its allocations took them from (by units; rounding to the last).

Cost of goods is not stored: it is units × the SKU's cost price as the catalog has it when the report runs
(the catalog keeps no history of cost prices, so any stored figure would differ from a rebuild).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from backoffice.tenancy.models import ShopOwnedModel

__all__: list[str] = ["OrderContribution", "OrderDay", "SalesDay", "StockDay"]

MONEY = {"max_digits": 14, "decimal_places": 2, "default": Decimal("0.00")}


class SalesDay(ShopOwnedModel):
    """The sales of one SKU from one warehouse, sent by one delivery method, on one day of the shop's zone."""

    day = models.DateField()
    sku = models.ForeignKey("catalog.SKU", on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.CASCADE, related_name="+")
    delivery_method = models.CharField(max_length=16)
    units = models.BigIntegerField(default=0)
    revenue = models.DecimalField(**MONEY)
    discounts = models.DecimalField(**MONEY)
    units_returned = models.BigIntegerField(default=0)
    refunds = models.DecimalField(**MONEY)

    # A member limited to some categories or warehouses sees the rows of those only (``restrict``).
    scope_paths = {"category": "sku__product__category_id", "warehouse": "warehouse_id"}

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "sku", "warehouse", "delivery_method"], name="sales_day_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.sku_id}@{self.warehouse_id}: {self.units} / {self.revenue}"


class OrderDay(ShopOwnedModel):
    """The orders of one delivery method on one day of the shop's zone."""

    day = models.DateField()
    delivery_method = models.CharField(max_length=16)
    orders = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    gross = models.DecimalField(**MONEY)
    discounts = models.DecimalField(**MONEY)
    revenue = models.DecimalField(**MONEY)
    refunds = models.DecimalField(**MONEY)
    cancelled = models.BigIntegerField(default=0)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "day", "delivery_method"], name="order_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.delivery_method}: {self.orders} / {self.revenue}"


class OrderContribution(ShopOwnedModel):
    """What one order adds to the rollups now: ``{"s": [[day, sku, warehouse, method, units, revenue, discounts,
    units_returned, refunds], ...], "o": [[day, method, orders, units, gross, discounts, revenue, refunds,
    cancelled], ...]}`` (money as strings). Its row lock serialises the updates of one order's share."""

    order_ref = models.BigIntegerField()  # the order's id (orders.Order), not a key: analytics never joins orders
    rows = models.JSONField(default=dict, blank=True)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [models.UniqueConstraint(fields=["shop", "order_ref"], name="order_contribution_unique")]

    def __str__(self) -> str:
        return f"contribution of order {self.order_ref}"


class StockDay(ShopOwnedModel):
    """The stock movements of one SKU in one warehouse on one day of the shop's zone (kept from ``stock.moved``
    by ``analytics.rollups``): ``received`` and ``issued`` (the positive and, as a positive number, the negative
    on-hand deltas), ``net`` (their sum), ``movements`` (every movement, reservations included) and
    ``closing_on_hand`` (the on-hand after the day's latest movement by (created_at, id), which is
    ``last_movement_at``/``last_movement_id``). ``max_movement_id`` is the highest movement id added: a stock
    row's movements are numbered in the order they happen (the catalog locks the row), so an event carrying
    ids at or below it is a replay and adds nothing."""

    day = models.DateField()
    sku = models.ForeignKey("catalog.SKU", on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.CASCADE, related_name="+")
    received = models.BigIntegerField(default=0)
    issued = models.BigIntegerField(default=0)
    net = models.BigIntegerField(default=0)
    closing_on_hand = models.BigIntegerField(default=0)
    movements = models.BigIntegerField(default=0)
    last_movement_at = models.DateTimeField(null=True, blank=True)
    last_movement_id = models.BigIntegerField(default=0)
    max_movement_id = models.BigIntegerField(default=0)

    scope_paths = {"category": "sku__product__category_id", "warehouse": "warehouse_id"}

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "day", "sku", "warehouse"], name="stock_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.sku_id}@{self.warehouse_id}: {self.net:+} -> {self.closing_on_hand}"
