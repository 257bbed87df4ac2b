"""The permission catalog and the role templates: the contract of SPEC §1.

Every action a member can be allowed is declared here, grouped by the domain app
that enforces it. Shop-wide grants are guardian object permissions on the Shop row,
so ``Shop.Meta.permissions`` is generated from this table; adding an action needs a
migration (``makemigrations --check`` catches a forgotten one).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class Action:
    code: str  # "orders.refund"
    label: str  # lazily translated
    # Non-delegable actions are owner-only: only the owner may grant them.
    delegable: bool = True

    @property
    def domain(self) -> str:
        return self.code.split(".", 1)[0]

    @property
    def codename(self) -> str:
        """The guardian/auth Permission codename on the Shop model."""
        return self.code.replace(".", "__")


_ACTIONS = [
    Action("catalog.view", _("View catalog")),
    Action("catalog.edit", _("Create and edit products, SKUs and prices")),
    Action("catalog.publish", _("Submit products for moderation and archive them")),
    Action("catalog.manage_stock", _("Manage stock and warehouses")),
    Action("catalog.view_cost", _("See cost prices and margins")),
    Action("orders.view", _("View orders")),
    Action("orders.process", _("Confirm, pack and ship orders")),
    Action("orders.cancel", _("Cancel orders")),
    Action("orders.manage_returns", _("Handle returns")),
    Action("orders.refund", _("Refund buyers")),
    Action("orders.view_buyer_contact", _("See buyer name, phone and address")),
    Action("orders.export", _("Export orders")),
    Action("promotions.view", _("View promotions")),
    Action("promotions.manage", _("Manage promotions")),
    Action("promotions.manage_ads", _("Manage ad campaigns")),
    Action("payouts.view", _("View balance and ledger")),
    Action("payouts.withdraw", _("Withdraw money"), delegable=False),
    Action("payouts.approve", _("Approve withdrawals as the second person")),
    Action("support.reply", _("Reply to assigned conversations")),
    Action("support.view_all", _("Monitor every conversation")),
    Action("support.manage_routing", _("Manage conversation routing")),
    Action("support.manage_reviews", _("Reply to reviews")),
    Action("support.manage_complaints", _("Handle complaints")),
    Action("analytics.view", _("View reports and dashboards")),
    Action("analytics.export", _("Export reports")),
    Action("analytics.manage_schedules", _("Manage scheduled reports")),
    Action("accounts.manage_staff", _("Manage staff sub-accounts and roles")),
    Action("accounts.view_audit", _("View the audit log")),
    Action("accounts.manage_settings", _("Manage shop settings")),
]

ACTIONS: dict[str, Action] = {a.code: a for a in _ACTIONS}
ALL_ACTIONS: frozenset[str] = frozenset(ACTIONS)
NON_DELEGABLE: frozenset[str] = frozenset(code for code, a in ACTIONS.items() if not a.delegable)
ACTION_CODES: list[str] = sorted(ACTIONS)
BY_CODENAME: dict[str, str] = {a.codename: a.code for a in _ACTIONS}


def shop_permissions() -> list[tuple[str, str]]:
    """(codename, name) pairs for ``Shop.Meta.permissions``."""
    return [(a.codename, a.label) for a in _ACTIONS]


def _actions(*codes: str) -> frozenset[str]:
    unknown = set(codes) - ALL_ACTIONS
    assert not unknown, unknown
    return frozenset(codes)


# Role names are stored in English and translated when shown (``Role.display_name``).
ROLE_TEMPLATES: dict[str, tuple[str, frozenset[str]]] = {
    "admin": (
        gettext_noop("Admin"),
        _actions(
            "catalog.view", "catalog.edit", "catalog.publish", "catalog.manage_stock", "catalog.view_cost",
            "orders.view", "orders.process", "orders.cancel", "orders.manage_returns", "orders.refund",
            "orders.view_buyer_contact", "orders.export",
            "promotions.view", "promotions.manage", "promotions.manage_ads",
            "payouts.view",
            "support.reply", "support.view_all", "support.manage_routing", "support.manage_reviews",
            "support.manage_complaints",
            "analytics.view", "analytics.export", "analytics.manage_schedules",
            "accounts.manage_staff", "accounts.view_audit", "accounts.manage_settings",
        ),
    ),
    "operator": (
        gettext_noop("Operator"),
        _actions(
            "catalog.view", "catalog.edit", "catalog.publish", "catalog.manage_stock",
            "orders.view", "orders.process", "orders.cancel", "orders.manage_returns",
            "orders.view_buyer_contact", "orders.export",
            "promotions.view", "promotions.manage", "promotions.manage_ads",
            "analytics.view",
        ),
    ),
    "support": (
        gettext_noop("Support"),
        _actions(
            "catalog.view", "orders.view", "orders.manage_returns", "orders.view_buyer_contact",
            "promotions.view", "support.reply", "support.manage_reviews", "support.manage_complaints",
        ),
    ),
    "finance": (
        gettext_noop("Finance"),
        _actions(
            "catalog.view", "catalog.view_cost", "orders.view", "orders.refund", "orders.export",
            "promotions.view", "payouts.view", "payouts.withdraw", "payouts.approve",
            "analytics.view", "analytics.export", "analytics.manage_schedules",
        ),
    ),
    "viewer": (
        gettext_noop("Viewer"),
        _actions("catalog.view", "orders.view", "promotions.view", "analytics.view"),
    ),
}  # fmt: skip

TIER_QUOTAS: dict[str, int] = {"basic": 2, "silver": 10, "gold": 20, "platinum": 30}
