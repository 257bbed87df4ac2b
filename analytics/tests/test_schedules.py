"""Report schedules: each recipient gets the report rendered with their own current permissions and scopes, one run
per (schedule, period) however often or concurrently the due task runs, slots in the shop's zone across DST, and
every bad input a 400 naming its field."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection

from accounts import services as accounts
from accounts.models import AuditEntry, Notification, Role
from analytics.models import ReportSchedule, ScheduleDelivery, ScheduleRun
from analytics.services import schedules
from analytics.tasks import schedules_run_for_shop
from backoffice import reports
from backoffice.authz import system_actor
from backoffice.reports import Column, Param, ReportType
from catalog import selectors as catalog_selectors
from catalog import services as catalog
from tests.fixtures import api_client_for, make_member, make_shop, owner_actor, web_client_for

TYPE_KEY, BROKEN_KEY = "schedule_test", "schedule_broken"
# Monday 2026-11-30 08:00 in Berlin (CET, +01:00): the weekly slot; its period is the week before.
SLOT = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
WEEK = "2026-11-23..2026-11-29"


def _build(actor, params, progress):
    """One row per SKU the actor may see (the catalog's selector applies their category scope through
    ``restrict``), with the period it was asked for."""
    names = dict(catalog_selectors.category_list(shop=actor.shop, actor=actor).values_list("pk", "name"))
    period = f"{params['date_from']}..{params['date_to']}"
    for sku in catalog_selectors.sku_list(shop=actor.shop, actor=actor).order_by("code"):
        cost = sku.cost
        margin = None if cost is None else sku.price - cost
        yield [names.get(sku.product.category_id, ""), sku.code, period, sku.price, cost, margin]


def _broken(actor, params, progress):
    raise RuntimeError("the warehouse database is down")
    yield []  # pragma: no cover


PERIOD = (Param("date_from", "From", "date"), Param("date_to", "To", "date"))
TEST_TYPE = ReportType(
    key=TYPE_KEY, label="Schedule test", description="SKUs by category", build=_build, actions=("catalog.view",),
    params=(*PERIOD, Param("group_by", "Group by", "choice", default="sku", choices=[("sku", "SKU")])),
    columns=(Column("category", "Category"), Column("sku", "SKU"), Column("period", "Period"),
             Column("price", "Price", "money"), Column("cost", "Cost", "money", requires="catalog.view_cost"),
             Column("margin", "Margin", "money", requires="catalog.view_cost")),
)  # fmt: skip
BROKEN_TYPE = ReportType(key=BROKEN_KEY, label="Broken", description="", build=_broken, columns=TEST_TYPE.columns,
                         params=PERIOD)  # fmt: skip


@pytest.fixture
def schedule_types():
    registry = reports._registry()
    registry[TYPE_KEY], registry[BROKEN_KEY] = TEST_TYPE, BROKEN_TYPE
    yield
    registry.pop(TYPE_KEY, None)
    registry.pop(BROKEN_KEY, None)


def _berlin_shop():
    shop = make_shop()
    type(shop).objects.filter(pk=shop.pk).update(timezone="Europe/Berlin")
    shop.refresh_from_db()
    return shop


def _catalog(shop):
    owner = owner_actor(shop)
    alpha = catalog.category_create(actor=owner, name="Alpha")
    beta = catalog.category_create(actor=owner, name="Beta")
    for title, code, category, price, cost in (("Apple", "A1", alpha, "100.00", "40.00"),
                                                ("Banana", "B1", beta, "60.00", "25.50")):  # fmt: skip
        catalog.product_create(actor=owner, title=title, category=category,
                               skus=[{"code": code, "price": price, "cost": cost}])  # fmt: skip
    return alpha, beta


def _create(shop, recipients, *, frequency="weekly", report=TYPE_KEY, file_format="csv", **extra):
    with time_machine.travel(datetime(2026, 11, 26, 12, 0, tzinfo=UTC), tick=False):
        return schedules.schedule_create(actor=owner_actor(shop), data={
            "type": report, "params": {}, "frequency": frequency, "weekday": 0, "time": "08:00",
            "file_format": file_format, "recipients": [m.pk for m in recipients], **extra,
        })  # fmt: skip


def _run_due(shop, at=SLOT):
    with time_machine.travel(at, tick=False):
        return schedules.schedules_run_due(actor=system_actor(shop))


def _csv(content: bytes | str) -> list[list[str]]:
    # Django keeps a text attachment as str (its BOM included), a download's body is bytes.
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def _mail_to(user):
    found = [m for m in mail.outbox if m.to == [user.email]]
    assert len(found) <= 1, f"{user} got {len(found)} emails"
    return found[0] if found else None


def test_each_recipient_gets_the_report_their_permissions_allow(db, schedule_types, django_capture_on_commit_callbacks):
    """The issue's case: the owner's file has cost and margin and all categories, the category-limited operator's
    only their category, the viewer's no cost columns; a member deactivated before the run gets nothing, one who
    lost analytics.view is skipped and the history says why."""
    shop = _berlin_shop()
    alpha, _beta = _catalog(shop)
    owner = type(shop.owner).objects.get(pk=shop.owner.pk)
    owner_m = owner.memberships.get(shop=shop)
    operator = make_member(shop, "operator", scopes={"category": [alpha.pk]})
    viewer = make_member(shop, "viewer")
    leaver = make_member(shop, "viewer")
    demoted = make_member(shop, "viewer")
    schedule = _create(shop, [owner_m, operator, viewer, leaver, demoted])
    assert schedule.next_run_at == SLOT  # Monday 08:00 Berlin

    admin = owner_actor(shop)
    accounts.staff_deactivate(actor=admin, membership=leaver)
    accounts.staff_update(actor=admin, membership=demoted, role=Role.objects.for_shop(shop).get(key="support"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        [run] = _run_due(shop)

    assert (run.period, run.status) == (WEEK, ScheduleRun.Status.DONE)
    files = {}
    for member in (owner_m, operator, viewer):
        email = _mail_to(member.user)
        assert email is not None, member
        [(name, content, mimetype)] = email.attachments
        assert name == f"{TYPE_KEY}-2026-11-23-2026-11-29.csv" and mimetype.startswith("text/csv")
        files[member.pk] = _csv(content)
    assert _mail_to(leaver.user) is None and _mail_to(demoted.user) is None
    assert not Notification.objects.for_shop(shop).filter(recipient__in=[leaver.user, demoted.user]).exists()
    assert len(mail.outbox) == 3

    mine = files[owner_m.pk]
    assert mine[0] == ["Category", "SKU", "Period", "Price", "Cost", "Margin"]
    assert [row[0] for row in mine[1:]] == ["Alpha", "Beta"]
    assert mine[1][2] == WEEK and Decimal(mine[1][5]) == Decimal("60.00")
    assert files[operator.pk] == [["Category", "SKU", "Period", "Price"], ["Alpha", "A1", WEEK, "100.00"]]
    assert files[viewer.pk][0] == ["Category", "SKU", "Period", "Price"]
    assert [row[0] for row in files[viewer.pk][1:]] == ["Alpha", "Beta"]

    deliveries = {d.membership_id: d for d in ScheduleDelivery.objects.for_shop(shop).filter(run=run)}
    assert {k: (d.status, d.reason) for k, d in deliveries.items()} == {
        owner_m.pk: ("sent", ""), operator.pk: ("sent", ""), viewer.pk: ("sent", ""),
        leaver.pk: ("skipped", "deactivated"), demoted.pk: ("skipped", "lost analytics.view"),
    }  # fmt: skip
    assert deliveries[operator.pk].rows == 1 and deliveries[operator.pk].file_size > 0

    # In the app: a report_ready notification linking to the run's download, rendered for the member then.
    note = Notification.objects.for_shop(shop).get(recipient=operator.user, kind="report_ready")
    assert note.url.endswith(f"/analytics/schedules/runs/{run.pk}/download/")
    assert _csv(b"".join(web_client_for(operator.user).get(note.url).streaming_content)) == files[operator.pk]
    # A member the run was not sent to finds nothing there.
    finance = make_member(shop, "finance")
    assert web_client_for(finance.user).get(note.url).status_code == 404

    # The history page names each delivery and why the skipped ones were skipped.
    page = web_client_for(shop.owner).get(f"/shops/{shop.pk}/analytics/schedules/{schedule.pk}/").content.decode()
    assert WEEK in page and "Deactivated" in page and "Lost analytics.view" in page
    assert f'data-delivery="{operator.pk}" data-status="sent"' in page


def test_xlsx_attachment_and_failure_tells_the_owner(db, schedule_types, django_capture_on_commit_callbacks):
    from openpyxl import load_workbook

    shop = _berlin_shop()
    _catalog(shop)
    viewer = make_member(shop, "viewer")
    good = _create(shop, [viewer], file_format="xlsx")
    broken = _create(shop, [viewer], report=BROKEN_KEY)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        runs = {run.schedule_id: run for run in _run_due(shop)}

    assert runs[good.pk].status == "done"
    [attachment] = _mail_to(viewer.user).attachments
    sheet = load_workbook(io.BytesIO(attachment[1])).active
    assert [c.value for c in next(sheet.iter_rows())] == ["Category", "SKU", "Period", "Price"]

    failed = runs[broken.pk]
    assert failed.status == "failed" and "the warehouse database is down" in failed.message
    [delivery] = failed.deliveries.all()
    assert (delivery.status, delivery.reason) == ("failed", "the warehouse database is down")
    told = Notification.objects.for_shop(shop).get(recipient=shop.owner, kind="report_ready")
    assert "failed" in told.title and "warehouse database" in told.body
    assert told.url.endswith(f"/analytics/schedules/{broken.pk}/")


@pytest.mark.django_db(transaction=True)
def test_due_task_twice_at_once_or_redelivered_sends_once(schedule_types):
    """Two copies of the due task at the same moment (two threads, two PostgreSQL connections), then a
    redelivery, then the schedule edited back onto the period it already sent: one run, one email each."""
    assert connection.vendor == "postgresql"
    shop = _berlin_shop()
    _catalog(shop)
    recipients = [make_member(shop, "viewer"), make_member(shop, "admin")]
    schedule = _create(shop, recipients)
    mail.outbox.clear()
    assert shop.pk in schedules.due_shop_ids(now=SLOT)  # what the beat task fans out
    barrier = threading.Barrier(2)
    made, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            with time_machine.travel(SLOT, tick=False):
                made.append(schedules_run_for_shop(shop_id=shop.pk))  # the task's body, as a worker runs it
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and sorted(made) == [0, 1]
    assert ScheduleRun.objects.for_shop(shop).count() == 1
    assert ScheduleDelivery.objects.for_shop(shop).filter(status="sent").count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.user.email for m in recipients)
    assert shop.pk not in schedules.due_shop_ids(now=SLOT)

    with time_machine.travel(SLOT, tick=False):
        assert schedules_run_for_shop(shop_id=shop.pk) == 0  # redelivered: the schedule is no longer due
    # Edited so that its next slot is again that Monday: the period was run, so nothing is sent again.
    ReportSchedule.objects.for_shop(shop).filter(pk=schedule.pk).update(next_run_at=SLOT)
    assert _run_due(shop, at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) == []
    assert ScheduleRun.objects.for_shop(shop).count() == 1 and len(mail.outbox) == 2
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def _slot(frequency, at, when, *, weekday=0, day_of_month=1, zone="Europe/Berlin"):
    from zoneinfo import ZoneInfo

    schedule = ReportSchedule(frequency=frequency, weekday=weekday, day_of_month=day_of_month, time_of_day=when)
    return schedules.next_slot(schedule, ZoneInfo(zone), after=at)


def test_slots_keep_the_local_time_across_dst_and_periods_follow_the_frequency():
    # 08:00 Berlin is 06:00 UTC in summer time and 07:00 UTC after 2026-10-25.
    assert _slot("daily", datetime(2026, 10, 24, 6, 0, tzinfo=UTC), time(8)) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert _slot("daily", datetime(2026, 10, 23, 7, 0, tzinfo=UTC), time(8)) == datetime(2026, 10, 24, 6, 0, tzinfo=UTC)
    # 02:30 does not exist on 2026-03-29 in Berlin: read with the winter offset (03:30 CEST = 01:30 UTC).
    assert _slot("daily", datetime(2026, 3, 28, 12, tzinfo=UTC), time(2, 30)) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # 02:30 occurs twice on 2026-10-25: the first one (CEST, 00:30 UTC).
    assert _slot("daily", datetime(2026, 10, 24, 12, tzinfo=UTC), time(2, 30)) == datetime(2026, 10, 25, 0, 30,
                                                                                            tzinfo=UTC)  # fmt: skip
    # Weekly on Sunday; monthly on the 31st is the last day of a shorter month.
    assert _slot("weekly", datetime(2026, 11, 26, tzinfo=UTC), time(9), weekday=6) == datetime(2026, 11, 29, 8,
                                                                                                tzinfo=UTC)  # fmt: skip
    assert _slot("monthly", datetime(2027, 2, 1, tzinfo=UTC), time(8), day_of_month=31) == datetime(2027, 2, 28, 7,
                                                                                                     tzinfo=UTC)  # fmt: skip
    assert schedules.period_for("daily", date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 2, 28))
    assert schedules.period_for("weekly", date(2026, 12, 2)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert schedules.period_for("monthly", date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))


def url(shop, tail=""):
    return f"/api/v1/shops/{shop.pk}/report-schedules/{tail}"


def test_api_create_edit_pause_resume_history_and_bad_input(db, schedule_types, django_capture_on_commit_callbacks):
    shop = _berlin_shop()
    other = make_shop()
    viewer = make_member(shop, "viewer")
    gone = make_member(shop, "viewer")
    accounts.staff_deactivate(actor=owner_actor(shop), membership=gone)
    stranger = make_member(other, "viewer")
    client = api_client_for(shop.owner)
    body = {"type": TYPE_KEY, "params": {}, "frequency": "daily", "recipients": [viewer.pk]}

    bad = [
        ({"recipients": [stranger.pk]}, "recipients"), ({"recipients": [gone.pk]}, "recipients"),
        ({"recipients": ["boss@example.com"]}, "recipients"), ({"recipients": []}, "recipients"),
        ({"type": "nope"}, "type"), ({"frequency": "hourly"}, "frequency"), ({"time": "25:00"}, "time"),
        ({"params": {"date_from": "2026-01-01"}}, "date_from"), ({"params": {"colour": "red"}}, "colour"),
        ({"params": {"group_by": "planet"}}, "group_by"), ({"weekday": 9}, "weekday"), ({"params": [1]}, "params"),
    ]  # fmt: skip
    for change, field in bad:
        response = client.post(url(shop), {**body, **change}, format="json")
        assert response.status_code == 400, (change, response.content)
        assert field in str(response.json()), (change, response.json())
    assert ReportSchedule.objects.for_shop(shop).count() == 0

    created = client.post(url(shop), {**body, "time": "07:30"}, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["type"], data["time"], data["recipients"], data["active"]) == (TYPE_KEY, "07:30", [viewer.pk], True)
    assert data["params"] == {"group_by": "sku"}
    pk = data["id"]
    assert client.get(url(shop))["Content-Type"].startswith("application/json")
    assert [row["id"] for row in client.get(url(shop)).json()["results"]] == [pk]

    # Monthly on the 31st: November's slot is its last day, the 30th, and reports on October.
    edited = client.patch(url(shop, f"{pk}/"), {"frequency": "monthly", "day_of_month": 31}, format="json")
    assert (edited.json()["frequency"], edited.json()["day_of_month"]) == ("monthly", 31)
    assert client.patch(url(shop, f"{pk}/"), {"recipients": [stranger.pk]}, format="json").status_code == 400
    assert client.post(url(shop, f"{pk}/pause/")).json()["next_run_at"] is None
    assert client.post(url(shop, f"{pk}/pause/")).status_code == 409
    assert client.post(url(shop, f"{pk}/resume/")).json()["active"] is True
    actions = list(AuditEntry.objects.for_shop(shop).filter(action__startswith="report_schedule.")
                   .order_by("id").values_list("action", flat=True))  # fmt: skip
    assert actions == ["report_schedule.created", "report_schedule.updated", "report_schedule.paused",
                       "report_schedule.resumed"]  # fmt: skip

    # The history: a run with its deliveries, through the API.
    ReportSchedule.objects.for_shop(shop).filter(pk=pk).update(next_run_at=SLOT)
    with django_capture_on_commit_callbacks(execute=True):
        _run_due(shop)
    [run] = client.get(url(shop, f"{pk}/runs/")).json()["results"]
    assert run["period"] == "2026-10-01..2026-10-31" and run["deliveries"][0]["status"] == "sent"
    # Members without analytics.manage_schedules are refused; another shop's owner finds nothing.
    assert api_client_for(viewer.user).get(url(shop)).status_code == 403
    assert api_client_for(other.owner).get(url(shop, f"{pk}/")).status_code == 404


def test_pages_create_edit_and_refuse_bad_recipients(db, schedule_types):
    shop = _berlin_shop()
    viewer = make_member(shop, "viewer")
    other_member = make_member(make_shop(), "viewer")
    client = web_client_for(shop.owner)
    base = f"/shops/{shop.pk}/analytics/schedules/"
    form = client.get(base + "new/", {"type": TYPE_KEY}).content.decode()
    assert f'value="{viewer.pk}"' in form and 'name="group_by"' in form and 'name="date_from"' not in form
    post = {"type": TYPE_KEY, "frequency": "weekly", "weekday": "4", "time": "06:00", "file_format": "csv",
            "group_by": "sku", "recipients": [str(viewer.pk), str(other_member.pk)]}  # fmt: skip
    refused = client.post(base + "new/", post)
    assert refused.status_code == 400 and "Not an active member of this shop" in refused.content.decode()
    created = client.post(base + "new/", {**post, "recipients": [str(viewer.pk)]})
    assert created.status_code == 302
    schedule = ReportSchedule.objects.for_shop(shop).get()
    assert (schedule.weekday, schedule.time_of_day, schedule.file_format) == (4, time(6), "csv")
    listing = client.get(base).content.decode()
    assert f'data-schedule="{schedule.pk}"' in listing and "Schedule test" in listing
    edited = client.post(base + f"{schedule.pk}/edit/", {**post, "time": "18:15", "recipients": [str(viewer.pk)]})
    assert edited.status_code == 302
    schedule.refresh_from_db()
    assert schedule.time_of_day == time(18, 15)
    assert client.post(base + f"{schedule.pk}/pause/").status_code == 302
    schedule.refresh_from_db()
    assert not schedule.is_active and "Resume" in client.get(base).content.decode()
