"""The pricing hook order intake calls: one registered provider prices an arriving order.

Orders must not import the app that owns promotions (it is built on orders), so intake calls this kernel
registry instead and the promotions app registers itself in its ``AppConfig.ready``. Without a provider an
order is priced as it always was: list prices, no discount.

The provider is called inside intake's transaction, after the order row exists (so it can record what the
order used against that id) and before the lines are written (so discounts and gift lines go in with them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PricedLine:
    """One line of the order as priced: ``sku`` is the object intake passed in (or a gift's SKU)."""

    sku: Any
    quantity: int
    unit_price: Decimal  # list price
    discount: Decimal = ZERO  # for the whole line
    gift: bool = False

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


@dataclass(frozen=True)
class Pricing:
    lines: tuple[PricedLine, ...]  # the intake lines in their order, then gift lines
    subtotal: Decimal  # list prices × quantities of the paid lines
    discount_total: Decimal
    # What the order keeps: [{"promotion": id, "name", "kind", "discount": "…", "gift": sku code | None}, …]
    applied: tuple[dict, ...] = ()
    # What did not apply and the buyer asked for (an unknown or used code): [{"code", "reason"}, …]
    notes: tuple[dict, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount_total


class PricingProvider(Protocol):
    def price_order(
        self, *, shop: Any, order: Any, lines: Sequence[dict], buyer_id: str, codes: Sequence[str], at: datetime
    ) -> Pricing:
        """Price ``lines`` (``{"sku": SKU, "quantity", "unit_price"}``) and record what the order consumed."""
        ...

    def order_cancelled(self, *, shop: Any, order: Any) -> None:
        """Give back what ``order`` consumed (usage, budget, single-use codes)."""
        ...


class ListPrices:
    """The default: what intake did before promotions existed."""

    def price_order(self, *, shop, order, lines, buyer_id, codes, at) -> Pricing:
        priced = tuple(PricedLine(sku=ln["sku"], quantity=ln["quantity"], unit_price=ln["unit_price"]) for ln in lines)
        subtotal = sum((ln.unit_price * ln.quantity for ln in priced), ZERO)
        return Pricing(lines=priced, subtotal=subtotal, discount_total=ZERO)

    def order_cancelled(self, *, shop, order) -> None:
        return None


_provider: PricingProvider = ListPrices()


def register(provider: PricingProvider) -> None:
    """Make ``provider`` the one that prices orders (the last registration wins; apps register once)."""
    global _provider
    _provider = provider


def provider() -> PricingProvider:
    return _provider


def price_order(
    *, shop: Any, order: Any, lines: Sequence[dict], buyer_id: str = "", codes: Sequence[str] = (), at: datetime
) -> Pricing:
    return _provider.price_order(shop=shop, order=order, lines=lines, buyer_id=buyer_id, codes=codes, at=at)


def order_cancelled(*, shop: Any, order: Any) -> None:
    _provider.order_cancelled(shop=shop, order=order)
