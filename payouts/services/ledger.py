"""The ledger's one way in: ``post`` books a transaction (two or more entries summing to zero) and moves the
balance rows in the same database transaction. Everything that changes money in payouts goes through here.

API (for the payouts services; other apps reach the ledger through ``payouts.services``/``payouts.selectors``):

``post(*, shop, kind, key, entries, memo="", at=None) -> LedgerTransaction | None``
    ``entries`` are ``(account, amount, refs)`` (or ``(account, amount)``): ``account`` an ``Account`` value,
    ``amount`` a signed ``Decimal`` with at most two places (legs of 0 are dropped), ``refs`` a dict with any of
    ``order``, ``refund``, ``campaign``, ``withdrawal`` (ids kept on the entry for reconciliation).

    - **Idempotent** on ``(shop, kind, key)``: a replay (the same key again, concurrently or later) posts
      nothing and returns ``None``. The key is the business key: ``(sale, order id)``, ``(refund, refund id)``…
    - **Balanced**: the legs must sum to zero (``ValueError``: a programming error, never a user's); PostgreSQL
      checks it again at commit (a deferred constraint trigger).
    - **Funds**: an asset account (``pending``, ``available``, ``in_transit``) that would go below zero, or
      ``debt`` above zero, refuses the whole transaction with ``Conflict`` code ``insufficient_funds`` (409);
      nothing is posted. CHECK constraints on ``Balance`` back this.
    - ``at`` is when the business event happened (default now): ``occurred_at`` of the transaction.

``book(shop)`` (a context manager) opens a database transaction holding the shop's balance rows locked and
yields a ``Book``: read balances (``book.balance(account)``) and post (``book.post(...)``) under the lock, so a
decision taken on a balance (how much of a refund ``available`` covers) cannot be overtaken by a concurrent
posting. ``post`` is ``with book(shop) as b: return b.post(...)``.

Locking: every posting locks **all** of the shop's balance rows, in account order (one ``SELECT … FOR UPDATE``;
missing rows are created first). Postings of one shop therefore run one at a time and never deadlock each
other; other shops are not affected. A caller already holding other locks (an order row) takes them before
the balance rows, never after: orders → balances is the only order used.

``post`` checks no actor: the services that call it do (``payouts.services.events``: events of orders, and the
system actor for the beat tasks).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.errors import Conflict
from payouts.models import NOT_NEGATIVE, NOT_POSITIVE, ZERO, Account, Balance, Kind, LedgerEntry, LedgerTransaction

if TYPE_CHECKING:
    from accounts.models import Shop

CENT = Decimal("0.01")
REF_FIELDS = {"order": "order_id", "refund": "refund_id", "campaign": "campaign_id", "withdrawal": "withdrawal_id"}
Leg = tuple[str, Decimal] | tuple[str, Decimal, Mapping[str, Any] | None]


def insufficient_funds() -> Conflict:
    return Conflict(_("Not enough money in the balance."), code="insufficient_funds")


def _legs(entries: Sequence[Leg]) -> list[tuple[str, Decimal, Mapping[str, Any]]]:
    """The legs checked for shape: known accounts, Decimal cents, zero legs dropped, at least two, sum zero."""
    legs = []
    for entry in entries:
        account, amount, refs = (*entry, None)[:3] if len(entry) == 2 else entry
        if account not in Account.values:
            raise ValueError(f"unknown ledger account {account!r}")
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount != amount.quantize(CENT):
            raise ValueError(f"ledger amounts are Decimal cents, not {amount!r}")
        unknown = set(refs or {}) - set(REF_FIELDS)
        if unknown:
            raise ValueError(f"unknown ledger references {sorted(unknown)}")
        if amount != 0:
            legs.append((account, amount, refs or {}))
    if len(legs) < 2:
        raise ValueError("a ledger transaction needs two or more non-zero entries")
    if sum((amount for _a, amount, _r in legs), ZERO) != 0:
        raise ValueError(f"ledger entries must sum to zero: {legs}")
    return legs


def lock_balances(shop: Shop | int) -> dict[str, Balance]:
    """The shop's balance rows, one per account, locked in account order (created when missing). Call inside a
    transaction; ``book`` does."""
    shop_id = getattr(shop, "pk", shop)
    rows = Balance.objects.for_shop(shop_id).select_for_update().order_by("account")
    found = {row.account: row for row in rows}
    if len(found) < len(Account.values):
        # A concurrent first posting may insert the same rows: ON CONFLICT DO NOTHING, then lock what is there.
        Balance.objects.for_shop(shop_id).bulk_create(
            [Balance(shop_id=shop_id, account=a) for a in Account.values if a not in found], ignore_conflicts=True
        )
        found = {row.account: row for row in rows.all()}
    return found


class Book:
    """A shop's ledger with its balance rows locked (see ``book``)."""

    def __init__(self, shop_id: int, balances: dict[str, Balance]):
        self.shop_id = shop_id
        self.balances = balances

    def balance(self, account: str) -> Decimal:
        return self.balances[account].amount

    def post(self, *, kind: str, key: str, entries: Sequence[Leg], memo: str = "",
             at: datetime | None = None) -> LedgerTransaction | None:  # fmt: skip
        if kind not in Kind.values:
            raise ValueError(f"unknown ledger transaction kind {kind!r}")
        key = str(key)
        if not key or len(key) > 100:
            raise ValueError("a ledger key is 1 to 100 characters")
        legs = _legs(entries)
        txns = LedgerTransaction.objects.for_shop(self.shop_id)
        if txns.filter(kind=kind, key=key).exists():
            return None  # a replay (the shop's balance lock orders it after the first posting)
        moved: dict[str, Decimal] = {}
        for account, amount, _refs in legs:
            moved[account] = moved.get(account, ZERO) + amount
        after = {account: self.balances[account].amount + delta for account, delta in moved.items()}
        below_zero = any(after.get(a, ZERO) < 0 for a in NOT_NEGATIVE)
        owed_sign_flipped = any(after.get(a, ZERO) > 0 for a in NOT_POSITIVE)
        if below_zero or owed_sign_flipped:
            raise insufficient_funds()
        now = timezone.now()
        try:
            with transaction.atomic():  # a savepoint: a twin that slipped past the check loses here, quietly
                txn = txns.create(shop_id=self.shop_id, kind=kind, key=key, memo=memo[:200], occurred_at=at or now,
                                  created_at=now, settled_at=None if kind == Kind.SALE else now)  # fmt: skip
        except IntegrityError:
            return None
        rows = [LedgerEntry(shop_id=self.shop_id, transaction=txn, account=account, amount=amount, kind=kind,
                            created_at=now, **{REF_FIELDS[name]: value for name, value in refs.items()})
                for account, amount, refs in legs]  # fmt: skip
        LedgerEntry.objects.for_shop(self.shop_id).bulk_create(rows)
        changed = []
        for account, amount in after.items():
            row = self.balances[account]
            row.amount, row.updated_at = amount, now
            changed.append(row)
        Balance.objects.for_shop(self.shop_id).bulk_update(changed, ["amount", "updated_at"])
        return txn


@contextmanager
def book(shop: Shop | int) -> Iterator[Book]:
    """A database transaction holding the shop's balance rows (see the module's docstring)."""
    with transaction.atomic():
        yield Book(getattr(shop, "pk", shop), lock_balances(shop))


def post(*, shop: Shop | int, kind: str, key: str, entries: Sequence[Leg], memo: str = "",
         at: datetime | None = None) -> LedgerTransaction | None:  # fmt: skip
    """Book one transaction (see the module's docstring); None when ``(shop, kind, key)`` was booked already."""
    with book(shop) as b:
        return b.post(kind=kind, key=key, entries=entries, memo=memo, at=at)
