"""The promotions cards of the shop dashboard (see backoffice.dashboard): what runs, what ends soon, and
what is paused (by a member or by a guardrail); the ad campaigns running, resting for the day (daily budget
spent) and today's ad spend. Each links to the list showing those rows."""

from __future__ import annotations

from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from backoffice.authz import can
from backoffice.dashboard import Card
from promotions import ads_selectors, selectors


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
        *_ad_cards(actor),
    ]  # fmt: skip


def _ad_cards(actor) -> list[Card]:
    # Behind promotions.view like the campaign list they link to (managing ads alone does not open that list).
    url = reverse("promotions:ad_campaign_list", args=[actor.shop.pk])
    ads = ads_selectors.dashboard_figures(shop=actor.shop, actor=actor)
    spend = f"{number_format(ads['spend_today'], decimal_pos=2)} {actor.shop.currency}"
    return [
        Card("ads_running", _("Ad campaigns running"), ads["running"], f"{url}?status=active"),
        Card("ads_resting", _("Resting: daily budget spent"), ads["resting"], f"{url}?status=resting",
             "attention" if ads["resting"] else ""),
        Card("ads_spend_today", _("Ad spend today"), spend, f"{url}?spent_today=yes"),
    ]  # fmt: skip
