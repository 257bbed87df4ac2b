"""The expiry of temporary sub-accounts, run by a real Celery worker over Redis (not eager)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import AuditEntry, Membership
from accounts.tasks import expire_temporary_members
from backoffice.celery import app
from tests.fixtures import make_member, make_shop


@pytest.mark.worker
def test_worker_expires_temporary_members(celery_worker):
    shop = make_shop()
    now = timezone.now()
    temp = make_member(shop, "support", expires_at=now + timedelta(hours=1))
    permanent = make_member(shop, "support")
    later = make_member(shop, "viewer", expires_at=now + timedelta(days=2))

    assert expire_temporary_members.delay().get(timeout=30) == 0
    with time_machine.travel(now + timedelta(hours=2)):
        assert expire_temporary_members.delay().get(timeout=30) == 1
        # A redelivery (or a second beat tick) changes nothing.
        assert expire_temporary_members.delay().get(timeout=30) == 0

    states = dict(Membership.objects.for_shop(shop).values_list("pk", "is_active"))
    assert states[temp.pk] is False and states[permanent.pk] is True and states[later.pk] is True
    assert AuditEntry.objects.for_shop(shop).filter(action="staff.expired", target_id=str(temp.pk)).count() == 1


def test_expiry_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-temporary-members"]
    assert entry["task"] == expire_temporary_members.name
    assert entry["schedule"] <= timedelta(minutes=15)
    assert expire_temporary_members.name in app.tasks
