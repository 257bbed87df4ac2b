"""What the notification centre can tell a member (SPEC §8), and who may be told.

Each kind belongs to a domain app and, where it concerns that domain's data, to the action a member
must hold to receive it. Members choose per kind whether they get it in the app and by email
(``accounts.NotificationPreference``; no row means both). Kinds of apps that are not installed yet
are not offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from backoffice.authz import can


@dataclass(frozen=True)
class Kind:
    key: str
    label: Promise
    app: str
    action: str | None  # the action a recipient must hold; None: every member (it is about them)


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("low_stock", _("Low stock"), "catalog", "catalog.manage_stock"),
        Kind("overdue_orders", _("Overdue orders"), "orders", "orders.process"),
        Kind("ad_budget_spent", _("Ad campaign budget spent"), "promotions", "promotions.manage_ads"),
        Kind("promotion_paused", _("Promotion paused by a guardrail"), "promotions", "promotions.manage"),
        Kind("member_expiring", _("Sub-account expiring"), "accounts", None),
        Kind("complaint", _("New complaint"), "support", "support.manage_complaints"),
        Kind("report_ready", _("Report ready"), "analytics", "analytics.view"),
        Kind("withdrawal_status", _("Withdrawal status"), "payouts", "payouts.view"),
    )
}


def kinds_for(actor) -> list[Kind]:
    """The kinds this member can receive in this shop, in catalog order."""
    installed = {"accounts", *settings.DOMAIN_APPS}
    return [k for k in KINDS.values() if k.app in installed and (k.action is None or can(actor, k.action))]
