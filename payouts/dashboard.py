"""The payouts cards of the shop dashboard (see backoffice.dashboard): the available balance and the next
settlement (its day and what it moves). Amounts are shown only to members holding ``payouts.view``: anyone else
gets no card at all (nor a link to the balance page)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from backoffice.authz import can
from backoffice.dashboard import Card
from payouts import selectors


def cards(actor) -> list[Card]:
    if not can(actor, selectors.VIEW):
        return []
    shop = actor.shop
    url = reverse("payouts:balance", args=[shop.pk])
    summary = selectors.balance_summary(shop=shop)
    upcoming = selectors.next_settlement(shop=shop, groups=selectors.pending_by_maturity(shop=shop, actor=actor))
    if upcoming is None:
        settlement = "—"
    else:
        settlement = _("%(amount)s on %(day)s") % {
            "amount": _money(upcoming["amount"], shop.currency),
            "day": date_format(upcoming["day"], "SHORT_DATE_FORMAT"),
        }
    return [
        Card(
            "payouts_available",
            _("Available balance"),
            _money(summary["available"], shop.currency),
            url,
            "attention" if summary["debt"] else "",
        ),  # a debt: the next settlements pay it first
        Card("payouts_next_settlement", _("Next settlement"), settlement, f"{url}#next-settlement"),
    ]


def _money(amount, currency: str) -> str:
    return f"{number_format(amount, decimal_pos=2)} {currency}"
