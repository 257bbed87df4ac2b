"""Money in services: a Decimal with two places, never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from backoffice.errors import ValidationFailed

CENT = Decimal("0.01")
LIMIT = Decimal("10000000000")


def parse_money(value, field: str, *, positive: bool = False, optional: bool = False) -> Decimal | None:
    """``value`` (str, int, Decimal) as an amount of money, or a ValidationFailed naming ``field``.

    Refuses floats' leftovers (more than two decimal places), negatives, zero when ``positive``, and
    anything past 10 billion; ``optional`` lets None or "" through as None."""
    if optional and value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Enter an amount."), fields={field: [_("Enter an amount.")]}) from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        message = _("Must be more than zero.") if positive else _("Must not be negative.")
        raise ValidationFailed(message, fields={field: [message]})
    # The limit first: quantizing 1e400 to cents overflows the context (InvalidOperation, a 500).
    if amount >= LIMIT:
        message = _("Must be less than %(limit)s.") % {"limit": f"{LIMIT:,}"}
        raise ValidationFailed(message, fields={field: [message]})
    if amount != amount.quantize(CENT):
        message = _("Use at most 2 decimal places.")
        raise ValidationFailed(message, fields={field: [message]})
    return amount.quantize(CENT)
