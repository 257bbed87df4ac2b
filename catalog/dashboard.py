"""Dashboard cards for the catalog: stock running low and products held in moderation
(see backoffice.dashboard)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from backoffice.authz import can
from backoffice.dashboard import Card
from catalog import selectors
from catalog.models import Product


def cards(actor) -> list[Card]:
    if not can(actor, "catalog.view"):
        return []
    shop = actor.shop
    alerts = selectors.alert_list(shop=shop, actor=actor, filters={"status": "open"}).count()
    by_status = selectors.product_list(shop=shop, actor=actor).aggregate(
        pending=Count("pk", filter=Q(status=Product.Status.PENDING_REVIEW)),
        rejected=Count("pk", filter=Q(status=Product.Status.REJECTED)),
    )
    products = reverse("catalog:product_list", args=[shop.pk])
    return [
        Card("low_stock", _("Low stock"), alerts, reverse("catalog:low_stock", args=[shop.pk]),
             "attention" if alerts else ""),
        Card("pending_review", _("In moderation"), by_status["pending"], f"{products}?status=pending_review"),
        Card("rejected", _("Rejected by moderation"), by_status["rejected"], f"{products}?status=rejected",
             "attention" if by_status["rejected"] else ""),
    ]  # fmt: skip
