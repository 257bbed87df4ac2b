"""The nightly ledger check tells the platform's payout staff about drift: one email to the active staff who hold
``payouts.change_withdrawal`` (and superusers), naming the shop and each problem; nothing when the ledger is sound."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection

from payouts import tasks
from payouts.models import Account, LedgerEntry
from payouts.tests.factories import delivered
from tests.fixtures import make_platform_user
from tests.races import require_postgresql

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    """Two payout staff (one by permission, one superuser), a moderator-like staff user without the permission,
    and a non-staff user holding it: only the first two are payout staff."""
    perm = Permission.objects.get(content_type__app_label="payouts", codename="change_withdrawal")
    payer = make_platform_user("payer")
    payer.email = "payer@platform.test"
    payer.save()
    payer.user_permissions.add(perm)
    plain = make_platform_user("plainstaff")
    plain.email = "plain@platform.test"
    plain.save()
    boss = make_platform_user("boss")
    boss.email, boss.is_superuser = "boss@platform.test", True
    boss.save()
    outsider = make_platform_user("outsider")
    outsider.email, outsider.is_staff = "outsider@platform.test", False
    outsider.save()
    outsider.user_permissions.add(perm)
    return {"payer": payer, "plain": plain, "boss": boss, "outsider": outsider}


def tamper(entry_id: int, by: int = 7) -> None:
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending commit-time checks first
        cur.execute("ALTER TABLE payouts_ledgerentry DISABLE TRIGGER payouts_entry_immutable")
        cur.execute("UPDATE payouts_ledgerentry SET amount = amount + %s WHERE id = %s", [by, entry_id])
        cur.execute("ALTER TABLE payouts_ledgerentry ENABLE TRIGGER payouts_entry_immutable")


def test_drift_emails_the_payout_staff_once(shop, staff, django_capture_on_commit_callbacks):
    require_postgresql()
    delivered(shop, "100.00")
    entry = LedgerEntry.objects.for_shop(shop).filter(account=Account.PENDING).first()
    tamper(entry.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.verify() == 2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    # Exactly the payout staff: ours, never the staff without the right or the non-staff holder of it (other
    # tests' platform users may share the database: each recipient must be payout staff too).
    to = set(message.to)
    assert {"boss@platform.test", "payer@platform.test"} <= to
    assert not to & {"plain@platform.test", "outsider@platform.test"}
    for user in get_user_model().objects.filter(email__in=to):
        assert user.is_active and user.is_staff
        assert user.is_superuser or user.has_perm("payouts.change_withdrawal")
    assert "2 problem(s)" in message.subject and shop.name in message.subject
    assert f"{shop.name} (#{shop.pk}): balance pending is " in message.body
    assert f"{shop.name} (#{shop.pk}): transaction {entry.transaction_id} sale:" in message.body
    assert "entries summing to 7.00" in message.body
    with pytest.raises(CommandError, match="2 problem"):  # the command still fails
        call_command("payouts_verify")


def test_a_sound_ledger_emails_nobody(shop, staff, django_capture_on_commit_callbacks):
    delivered(shop, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.verify() == 0
    assert mail.outbox == []
    call_command("payouts_verify")
