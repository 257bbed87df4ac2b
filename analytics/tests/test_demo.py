"""The analytics demo (``load_analytics_demo``) on a shop built as ``make run`` builds it (catalog demo, storefront
simulator, then this), with three weeks of history instead of the quarter to stay quick."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import OrderDay, ReportRun, ReportSchedule, ScheduleRun, StorefrontDay
from backoffice import reports
from backoffice.authz import load_actor
from orders.models import Order
from tests.fixtures import make_member, make_shop

pytestmark = pytest.mark.django_db


def test_history_traffic_a_finished_report_of_each_type_and_a_weekly_schedule_with_history():
    shop = make_shop("Analytics demo shop")
    make_member(shop, "finance")
    for command in ("load_catalog_demo", "simulate_orders"):
        call_command(command, shop=[shop.pk], stdout=io.StringIO())
    out = io.StringIO()
    call_command("load_analytics_demo", shop=[shop.pk], days=21, stdout=out)
    assert "orders over 21 days" in out.getvalue(), out.getvalue()

    history = Order.objects.for_shop(shop).filter(external_id__startswith=f"HIST-{shop.pk}-")
    oldest = history.order_by("created_at").first().created_at
    assert history.count() >= 21 and oldest < timezone.now() - timedelta(days=19)
    # Each step at its own moment: delivered orders were packed after they arrived, not at load time.
    delivered = history.filter(state=Order.State.DELIVERED).exclude(packed_at=None)
    assert delivered.exists() and all(o.created_at < o.packed_at < o.delivered_at < timezone.now() for o in delivered)
    assert history.filter(state=Order.State.CANCELLED).exists()
    days = OrderDay.objects.for_shop(shop).values_list("day", flat=True).distinct()
    assert len(set(days)) >= 18  # the rollups followed the orders day by day
    assert StorefrontDay.objects.for_shop(shop).exists()

    owner = load_actor(shop.owner, shop)
    runs = ReportRun.objects.for_shop(shop)
    assert sorted(runs.filter(status="done").values_list("report_type", flat=True)) == sorted(
        r.key for r in reports.available_for(owner)
    )
    schedule = ReportSchedule.objects.for_shop(shop).get()
    assert schedule.frequency == "weekly" and schedule.is_active and schedule.next_run_at > timezone.now()
    sent = ScheduleRun.objects.for_shop(shop).filter(schedule=schedule)
    assert sent.count() >= 3 and len(set(sent.values_list("period", flat=True))) == sent.count()

    again = io.StringIO()
    call_command("load_analytics_demo", shop=[shop.pk], days=21, stdout=again)
    assert "already there" in again.getvalue() and ReportRun.objects.for_shop(shop).count() == runs.count()
