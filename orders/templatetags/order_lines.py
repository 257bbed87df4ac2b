"""Figures of an order line the pages show and the model does not store."""

from __future__ import annotations

from decimal import Decimal

from django import template

from orders.services.returns import line_paid as _line_paid

register = template.Library()


@register.filter
def line_paid(line) -> Decimal:
    """What the buyer paid for ``line``: list price × quantity − the promotions' discount on it (0 for a gift);
    the figure a return of all its units refunds."""
    return _line_paid(line)
