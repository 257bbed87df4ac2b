"""The expiry of temporary sub-accounts, run by a real Celery worker over Redis (not eager): the beat
task queues one task per shop (``fan_out``), which ends that shop's expired accounts."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import AuditEntry, Membership
from accounts.tasks import (
    expire_temporary_members,
    expire_temporary_members_in_shop,
    notify_expiring_members,
    notify_expiring_members_in_shop,
)
from backoffice.celery import app
from tests.fixtures import make_member, make_shop, wait_until


@pytest.mark.worker
def test_worker_expires_temporary_members(celery_worker):
    shop = make_shop()
    quiet = make_shop()  # nothing to expire there: not queued
    now = timezone.now()
    temp = make_member(shop, "support", expires_at=now + timedelta(hours=1))
    permanent = make_member(shop, "support")
    later = make_member(shop, "viewer", expires_at=now + timedelta(days=2))
    make_member(quiet, "viewer", expires_at=now + timedelta(days=2))

    assert expire_temporary_members.delay().get(timeout=30) == 0
    with time_machine.travel(now + timedelta(hours=2)):
        assert expire_temporary_members.delay().get(timeout=30) == 1  # one shop queued
        wait_until(lambda: not Membership.objects.for_shop(shop).get(pk=temp.pk).is_active)
        # A redelivery (or a second beat tick) changes nothing.
        assert expire_temporary_members_in_shop.delay(shop_id=shop.pk).get(timeout=30) == 0
        assert expire_temporary_members.delay().get(timeout=30) == 0

    states = dict(Membership.objects.for_shop(shop).values_list("pk", "is_active"))
    assert states[temp.pk] is False and states[permanent.pk] is True and states[later.pk] is True
    entry = AuditEntry.objects.for_shop(shop).get(action="staff.expired", target_id=str(temp.pk))
    assert entry.actor is None and entry.membership is None  # the task's system actor, no one's hand


def test_expiry_tasks_are_on_the_beat_schedule():
    for key, task in (("expire-temporary-members", expire_temporary_members),
                      ("notify-expiring-members", notify_expiring_members)):  # fmt: skip
        entry = settings.CELERY_BEAT_SCHEDULE[key]
        assert entry["task"] == task.name
        assert task.name in app.tasks
    assert settings.CELERY_BEAT_SCHEDULE["expire-temporary-members"]["schedule"] <= timedelta(minutes=15)
    for task in (expire_temporary_members_in_shop, notify_expiring_members_in_shop):
        assert task.name in app.tasks


@pytest.mark.django_db
def test_scans_queue_only_the_shops_with_work(django_capture_on_commit_callbacks, monkeypatch):
    from backoffice import jobs

    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, **kwargs: queued.append((name, kwargs)))
    busy, idle = make_shop(), make_shop()
    make_member(busy, "viewer", expires_at=timezone.now() + timedelta(days=1))
    make_member(idle, "viewer", expires_at=timezone.now() + timedelta(days=30))
    assert notify_expiring_members() == 1
    assert queued == [("accounts.tasks.notify_expiring_members_in_shop", {"robust": True, "shop_id": busy.pk})]
    assert notify_expiring_members_in_shop(shop_id=busy.pk) == 1
    assert notify_expiring_members_in_shop(shop_id=busy.pk) == 0  # told once
