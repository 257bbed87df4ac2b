"""The ledger's self-check (``manage.py payouts_verify``, the nightly ``payouts.tasks.verify``): every balance
row equals the sum of its account's entries, and every transaction has two or more entries summing to zero.

``ledger_verify(*, shop=None) -> list[Drift]`` reads with aggregate queries (one per check, over one shop or
all of them) and returns what is wrong; an empty list means the ledger is sound. It writes nothing.

``ledger_drift_notify(drifts) -> list[str]`` emails the platform's payout staff (active staff holding
``payouts.change_withdrawal``, and superusers) one message listing the problems, once the caller's transaction
commits; it returns the addresses it mailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from backoffice.authz import tenant_model
from payouts.models import ZERO, Balance, LedgerEntry, LedgerTransaction

if TYPE_CHECKING:
    from accounts.models import Shop


@dataclass(frozen=True)
class Drift:
    shop_id: int
    what: str  # "balance" | "transaction"
    ref: str  # the account, or the transaction "<id> <kind>:<key>"
    expected: Decimal  # from the entries (a transaction: 0)
    found: Decimal  # the balance row (a transaction: the sum of its entries)
    entries: int | None = None  # a transaction: how many entries it has

    def __str__(self) -> str:
        if self.what == "balance":
            return f"shop {self.shop_id}: balance {self.ref} is {self.found}, its entries sum to {self.expected}"
        return f"shop {self.shop_id}: transaction {self.ref} has {self.entries} entries summing to {self.found}"

    def describe(self, shop_name: str) -> str:
        """The problem in the active language, naming the shop (for the staff email)."""
        values = {"shop": shop_name, "id": self.shop_id, "ref": self.ref, "found": self.found,
                  "expected": self.expected, "entries": self.entries}  # fmt: skip
        if self.what == "balance":
            return _("%(shop)s (#%(id)s): balance %(ref)s is %(found)s, its entries sum to %(expected)s") % values
        return _("%(shop)s (#%(id)s): transaction %(ref)s has %(entries)s entries summing to %(found)s") % values


def ledger_verify(*, shop: Shop | int | None = None) -> list[Drift]:
    shop_id = getattr(shop, "pk", shop)
    entries = LedgerEntry.unscoped.all() if shop_id is None else LedgerEntry.objects.for_shop(shop_id)
    balances = Balance.unscoped.all() if shop_id is None else Balance.objects.for_shop(shop_id)
    txns = LedgerTransaction.unscoped.all() if shop_id is None else LedgerTransaction.objects.for_shop(shop_id)
    drifts: list[Drift] = []

    sums = {(r["shop_id"], r["account"]): r["total"]
            for r in entries.order_by().values("shop_id", "account").annotate(total=Sum("amount"))}  # fmt: skip
    rows = {(r["shop_id"], r["account"]): r["amount"] for r in balances.values("shop_id", "account", "amount")}
    for key in sorted(set(sums) | set(rows)):
        expected, found = sums.get(key, ZERO), rows.get(key, ZERO)
        if expected != found:
            drifts.append(Drift(shop_id=key[0], what="balance", ref=key[1], expected=expected, found=found))

    unbalanced = (
        txns.order_by()
        .annotate(total=Sum("entries__amount"), n=Count("entries"))
        .exclude(total=0, n__gte=2)
        .values_list("shop_id", "pk", "kind", "key", "total", "n")
    )
    for shop_id_, pk, kind, key, total, n in unbalanced:
        drifts.append(Drift(shop_id=shop_id_, what="transaction", ref=f"{pk} {kind}:{key}", expected=ZERO,
                            found=total if total is not None else ZERO, entries=n))  # fmt: skip
    return drifts


# Who fixes ledger drift: the platform staff who run payouts (the ones who may approve and pay withdrawals), and
# superusers. A plain staff user (product moderation, say) is not told: the amounts are not theirs to see.
PAYOUT_STAFF_PERMISSION = "payouts.change_withdrawal"


def payout_staff_emails() -> list[str]:
    users = get_user_model().objects.with_perm(  # model permissions (user or group), not object ones
        PAYOUT_STAFF_PERMISSION, include_superusers=True, backend="django.contrib.auth.backends.ModelBackend"
    )
    users = users.filter(Q(is_staff=True) | Q(is_superuser=True), is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def ledger_drift_notify(drifts: list[Drift]) -> list[str]:
    """Email the payout staff one message listing ``drifts`` (nothing when there are none or nobody to tell).
    Sent on commit so a rolled-back caller tells no one; returns the recipients."""
    recipients = payout_staff_emails() if drifts else []
    if not recipients:
        return []
    names = dict(tenant_model().objects.filter(pk__in={d.shop_id for d in drifts}).values_list("pk", "name"))
    shops = sorted({names.get(d.shop_id, str(d.shop_id)) for d in drifts})
    subject = _("Payouts ledger: %(count)s problem(s) found (%(shops)s)") % {
        "count": len(drifts), "shops": ", ".join(shops)}  # fmt: skip
    lines = [f"- {d.describe(names.get(d.shop_id, str(d.shop_id)))}" for d in drifts]
    body = "\n\n".join([
        _("The payouts ledger check found balances or transactions that do not agree with their entries:"),
        "\n".join(lines),
        _("Entries are never changed by the application; find out how these were, and book a correcting "
          "transaction. Run manage.py payouts_verify to check again."),
    ])  # fmt: skip
    transaction.on_commit(lambda: send_mail(subject, body, None, recipients, fail_silently=False))
    return recipients
