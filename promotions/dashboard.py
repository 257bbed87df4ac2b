"""The promotions card of the shop dashboard (see backoffice.dashboard): what runs, what ends soon, and
what is paused (by a member or by a guardrail), each linking to the list showing those rows."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from backoffice.authz import can
from backoffice.dashboard import Card
from promotions import selectors


def cards(actor) -> list[Card]:
    if not can(actor, "promotions.view"):
        return []
    url = reverse("promotions:promotion_list", args=[actor.shop.pk])
    counts = selectors.card_counts(shop=actor.shop, actor=actor)
    return [
        Card("promotions_active", _("Promotions active"), counts["active"], f"{url}?status=active"),
        Card("promotions_ending", _("Ending within 3 days"), counts["ending"], f"{url}?ending=soon",
             "attention" if counts["ending"] else ""),
        Card("promotions_paused", _("Promotions paused"), counts["paused"], f"{url}?status=paused",
             "attention" if counts["paused"] else ""),
    ]  # fmt: skip
