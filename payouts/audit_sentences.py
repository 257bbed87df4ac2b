"""How the payouts app's audit entries read (found by ``backoffice.audit.sentences.discover``): withdrawals and
the payout settings (``payouts.services.withdrawals``), statement files, and the ledger's runs (settlement, ad
spend, backfill: ``payouts.services.events``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from backoffice.audit.sentences import register_action, register_target

register_target(
    "payouts.withdrawal", label=gettext_lazy("withdrawal"), model="payouts.Withdrawal", view_action="payouts.view",
    name=lambda w: f"#{w.pk} ({w.amount})",
    # Known only by the words recorded ("withdrawal 12 …"): its number, never an amount the reader may not see.
    recorded=lambda words: f"#{words.split()[1]}" if len(words.split()) > 1 else words,
    url=lambda w: reverse("payouts:withdrawal_detail", kwargs={"shop": w.shop_id, "pk": w.pk}),
)  # fmt: skip
register_target(
    "payouts.payoutsettings", label=gettext_lazy("payout settings"), model="payouts.PayoutSettings",
    view_action=None, name=lambda s: str(gettext_lazy("payout settings")),
    recorded=lambda words: str(gettext_lazy("payout settings")),
)  # fmt: skip

register_action(
    "withdrawal.request", gettext_lazy("Withdrawal requested"),
    gettext_lazy("%(actor)s requested the withdrawal %(target)s of %(amount)s"),
    values=lambda e: {"amount": e.after("withdrawal_amount") or e.after("amount") or "—"},
)  # fmt: skip
register_action("withdrawal.second_approve", gettext_lazy("Withdrawal approved by a second member"),
                gettext_lazy("%(actor)s approved the withdrawal %(target)s as the second person"))  # fmt: skip
register_action("withdrawal.cancel", gettext_lazy("Withdrawal cancelled"),
                gettext_lazy("%(actor)s cancelled the withdrawal %(target)s"))  # fmt: skip
register_action("withdrawal.approve", gettext_lazy("Withdrawal approved by the marketplace"),
                gettext_lazy("%(actor)s approved the withdrawal %(target)s for payment"))  # fmt: skip
register_action(
    "withdrawal.pay", gettext_lazy("Withdrawal paid"),
    gettext_lazy("%(actor)s marked the withdrawal %(target)s paid — bank reference %(reference)s"),
    values=lambda e: {"reference": e.after("bank_reference") or "—"},
)  # fmt: skip
register_action(
    "withdrawal.fail", gettext_lazy("Withdrawal failed"),
    gettext_lazy("%(actor)s marked the withdrawal %(target)s failed: %(reason)s"),
    values=lambda e: {"reason": e.after("reason") or "—"},
)  # fmt: skip
register_action(
    "payout_settings.update", gettext_lazy("Payout settings changed"),
    gettext_lazy("%(actor)s set the second approval threshold to %(threshold)s"),
    values=lambda e: {"threshold": e.after("second_approval_above") or gettext_lazy("off")},
)  # fmt: skip

# Statement files built in the background (payouts.services.statements).
register_target(
    "payouts.statementjob", label=gettext_lazy("statement"), model="payouts.StatementJob", view_action="payouts.view",
    name=lambda j: f"#{j.pk} ({j.kind})", recorded=lambda words: words,
    url=lambda j: reverse("payouts:statements", kwargs={"shop": j.shop_id}),
)  # fmt: skip
register_action("statement_export.created", gettext_lazy("Statement export started"),
                gettext_lazy("%(actor)s started the statement %(target)s"))  # fmt: skip
register_action(
    "statement_export.finished", gettext_lazy("Statement export finished"),
    gettext_lazy("The statement %(target)s ended %(status)s: %(rows)s rows"),
    values=lambda e: {"status": e.after("status") or "—", "rows": e.after("rows") or 0},
)  # fmt: skip

# Ledger runs of the platform (payouts.services.events): one entry per run's transaction, the shop as target. They
# record counts, not amounts: an audit reader need not hold payouts.view (the audit redactor knows no payouts field).
register_action(
    "settlement.run", gettext_lazy("Sales settled"),
    gettext_lazy("Settlement: %(sales)s sales moved from pending to available"),
    values=lambda e: {"sales": e.after("sales") or 0},
)  # fmt: skip
register_action(
    "ad_spend.charged", gettext_lazy("Ad spend charged"),
    gettext_lazy("Ad spend: %(charges)s charges booked"),
    values=lambda e: {"charges": e.after("charges") or 0},
)  # fmt: skip
register_action(
    "ledger.backfilled", gettext_lazy("Ledger backfilled"),
    gettext_lazy("%(actor)s booked %(postings)s missed postings in the ledger"),
    values=lambda e: {"postings": e.after("postings") or 0},
)  # fmt: skip
