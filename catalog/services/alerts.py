"""Low-stock alerts: open one per SKU that falls to its threshold, resolve it when restocked, and tell
the members who manage stock (each about the SKUs inside their scope)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts.selectors import actors_holding
from accounts.services import Notice, notifications_send
from backoffice.audit import audit_record
from backoffice.authz import Actor, require, restrict, system_actor, tenant_model
from catalog import selectors
from catalog.models import LowStockAlert


def _low_stock_notices(shop, alert_ids: list[int]) -> list:
    """One notice per active member who manages stock, listing the new alerts inside their scope."""
    url = reverse("catalog:low_stock", kwargs={"shop": shop.pk})
    notices = []
    for member in actors_holding(shop=shop, action="catalog.manage_stock"):
        mine = list(
            restrict(LowStockAlert.objects.for_shop(shop).filter(pk__in=alert_ids), member, "catalog.manage_stock")
            .select_related("sku")
            .order_by("sku__code")
        )
        if not mine:
            continue
        codes = ", ".join(a.sku.code for a in mine[:20]) + ("…" if len(mine) > 20 else "")
        notices.append(Notice(recipient=member.user, kind="low_stock",
                              title=ngettext("%(n)s SKU is low on stock", "%(n)s SKUs are low on stock",
                                             len(mine)) % {"n": len(mine)},
                              body=codes, url=url))  # fmt: skip
    return notices


def low_stock_scan(*, actor: Actor) -> dict[str, int]:
    """Open one alert per SKU newly at or below threshold, resolve the recovered ones, notify the
    members who manage stock (and whose scope covers the SKU). Safe to run again at any time.

    Tasks call it with ``system_actor(shop)``."""
    require(actor, "catalog.manage_stock")
    with transaction.atomic():
        # One scan per shop at a time (a second beat tick or a redelivery waits, then finds nothing to do).
        shop = tenant_model().objects.select_for_update().get(pk=actor.shop.pk)
        low = {sku_id: (avail, limit) for sku_id, avail, limit in selectors.low_stock_candidates(shop=shop)}
        open_alerts = dict(
            LowStockAlert.objects.for_shop(shop).filter(status=LowStockAlert.Status.OPEN).values_list("sku_id", "pk")
        )
        recovered = [pk for sku_id, pk in open_alerts.items() if sku_id not in low]
        now = timezone.now()
        if recovered:
            LowStockAlert.objects.for_shop(shop).filter(pk__in=recovered).update(
                status=LowStockAlert.Status.RESOLVED, resolved_at=now
            )
        new = LowStockAlert.objects.for_shop(shop).bulk_create(
            [
                LowStockAlert(shop=shop, sku_id=sku_id, available_at_open=avail, threshold=limit, opened_at=now)
                for sku_id, (avail, limit) in sorted(low.items())
                if sku_id not in open_alerts
            ]
        )
        notified = 0
        if new:
            with translation.override(shop.language):  # written by a worker: in the shop's language
                notices = _low_stock_notices(shop, [a.pk for a in new])
            notifications_send(actor=system_actor(shop), notices=notices)
            notified = len(notices)
        if new or recovered:
            audit_record(shop=shop, actor=actor, action="low_stock.scanned", target=shop,
                         changes={"opened": [None, sorted(a.sku_id for a in new)],
                                  "resolved": [None, sorted(recovered)]})  # fmt: skip
    return {"opened": len(new), "resolved": len(recovered), "notified": notified}
