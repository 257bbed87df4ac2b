"""Demo analytics for ``make run`` (``load_demo`` calls it after the other apps' demos): three months of sales,
storefront traffic, a finished report of each type, and a weekly schedule with its history.

The history goes through the same services as live orders (intake, pack, ship, delivery, returns, refunds,
cancellations), each step at its own moment in the past: ``timezone.now`` is moved to that moment while the
step runs, so timelines, the daily rollups, the ledger and the processing-time report read as they would had
the orders really come in over the quarter. A second run adds nothing.
"""

from __future__ import annotations

import random
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Membership, Shop
from analytics import rollups
from analytics.models import ReportSchedule
from analytics.services import runs as run_services
from analytics.services import schedules as schedule_services
from analytics.services.storefront import storefront_events_record
from backoffice import reports
from backoffice.authz import load_actor, system_actor
from backoffice.errors import ServiceError
from catalog import services as catalog
from catalog.models import SKU, Warehouse
from orders import services as orders
from orders.management.commands.simulate_orders import CARRIERS, CITIES, FIRST, LAST, storefront_user
from orders.models import Order

DAYS = 91
PREFIX = "HIST"


@contextmanager
def at(moment: datetime):
    """Run what is inside as if it were ``moment`` (every ``timezone.now()`` answers it)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _skus(shop: Shop) -> list[SKU]:
    # The shop's SKUs with a price, at most 12: a realistic top-products list, quick to load.
    return list(SKU.objects.for_shop(shop).filter(price__gt=0).select_related("product").order_by("id")[:12])


def _stock_up(shop: Shop, owner, skus: list[SKU], moment: datetime) -> Warehouse:
    warehouse = Warehouse.objects.for_shop(shop).order_by("id").first()
    with at(moment):
        for sku in skus:
            catalog.stock_adjust(actor=owner, sku=sku, warehouse=warehouse, delta=400, reason="receipt",
                                 note="analytics demo: the quarter's stock")  # fmt: skip
    return warehouse


def _history(shop: Shop, rng: random.Random, log, days: int = DAYS) -> int:
    owner = load_actor(shop.owner, shop)
    platform = system_actor(shop, user=storefront_user())
    skus = _skus(shop)
    if not skus:
        return 0
    today = timezone.localdate()
    start = timezone.now() - timedelta(days=days)
    _stock_up(shop, owner, skus, start - timedelta(hours=1))
    made = 0
    for day in range(days, 0, -1):
        # A weekly rhythm and a slow rise over the quarter: more on weekends, more lately.
        base = today - timedelta(days=day)
        per_day = 1 + (base.weekday() >= 5) + (day < 45) + rng.randint(0, 2)
        for n in range(per_day):
            moment = timezone.make_aware(datetime(base.year, base.month, base.day, rng.randint(8, 22),
                                                  rng.randint(0, 59)))  # fmt: skip
            lines = [{"sku": s.code, "quantity": rng.randint(1, 3), "unit_price": s.price}
                     for s in rng.sample(skus, k=rng.randint(1, 3))]  # fmt: skip
            buyer = {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                     "phone": f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-00",
                     "address": f"{rng.choice(CITIES)}, demo street {rng.randint(1, 90)}"}  # fmt: skip
            try:
                with at(moment):
                    order, created = orders.order_intake(
                        actor=platform, external_id=f"{PREFIX}-{shop.pk}-{day:03d}-{n}", buyer=buyer, lines=lines,
                        delivery_method=rng.choice(["standard", "standard", "express", "pickup"]), created_at=moment,
                    )  # fmt: skip
                if not created:
                    continue
                made += 1
                _advance(owner, platform, order, moment, rng)
            except ServiceError as exc:  # demo data is best effort (stock ran out, ...)
                log(f"  {shop.name}: order of {base} skipped ({exc.code})")
    return made


def _advance(owner, platform, order: Order, moment: datetime, rng: random.Random) -> None:
    roll = rng.random()
    if order.state == Order.State.AWAITING_CONFIRMATION:
        with at(moment + timedelta(hours=rng.uniform(0.2, 3))):
            order = orders.order_confirm(actor=owner, order=order)
    if roll < 0.07:
        with at(moment + timedelta(hours=rng.uniform(1, 10))):
            orders.order_cancel(actor=owner, order=order, reason=rng.choice(["buyer_request", "out_of_stock"]))
        return
    carrier = rng.choice(CARRIERS)
    packed = moment + timedelta(hours=rng.uniform(2, 30))
    with at(packed):
        order = orders.order_pack(actor=owner, order=order, carrier=carrier,
                                  tracking_number=f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}")  # fmt: skip
    shipped = packed + timedelta(hours=rng.uniform(1, 20))
    with at(shipped):
        order = orders.order_ship(actor=owner, order=order)
    delivered = shipped + timedelta(days=rng.uniform(1, 4))
    if delivered >= timezone.now():
        return  # still on its way
    with at(delivered):
        orders.order_tracking_event(actor=platform, order=order, status="delivered", message="Handed to buyer")
    order.refresh_from_db()
    if roll > 0.93 and delivered + timedelta(days=3) < timezone.now():
        with at(delivered + timedelta(days=2)):
            line = order.lines.first()
            ret = orders.return_request(actor=platform, order=order, reason=rng.choice(
                ["Does not fit", "Arrived damaged", "Changed my mind"]), lines=[{"line": line.pk, "quantity": 1}])  # fmt: skip
            ret = orders.return_approve(actor=owner, ret=ret)
            ret = orders.return_receive(actor=owner, ret=ret, warehouse=order.allocations.first().warehouse)
            orders.return_refund(actor=owner, ret=ret)


def _traffic(shop: Shop, rng: random.Random) -> int:
    """Storefront views and carts for the last 30 days, pushed as the integration does (orders count as the
    funnel's last step from the same feed)."""
    platform = system_actor(shop, user=storefront_user())
    skus = _skus(shop)
    events, sent = [], 0
    now = timezone.now()
    for day in range(30, 0, -1):
        for sku in skus:
            views = rng.randint(5, 40)
            carts = rng.randint(0, max(1, views // 4))
            moment = (now - timedelta(days=day)).replace(microsecond=0).isoformat()
            events += [{"sku": sku.code, "kind": "view", "at": moment}] * views
            events += [{"sku": sku.code, "kind": "cart", "at": moment}] * carts
            events += [{"sku": sku.code, "kind": "order", "at": moment}] * rng.randint(0, max(1, carts // 2))
    for i in range(0, len(events), 1000):
        storefront_events_record(actor=platform, batch=f"demo-{shop.pk}-{i}", events=events[i : i + 1000])
        sent += len(events[i : i + 1000])
    return sent


def _reports(shop: Shop) -> int:
    """One finished run of every report type the owner may run (run here, as the worker would)."""
    owner = load_actor(shop.owner, shop)
    done = 0
    for report in reports.available_for(owner):
        run = run_services.report_run_create(actor=owner, report_type=report.key, params={})
        run = run_services.report_run_execute(actor=system_actor(shop, user=shop.owner), run_id=run.pk)
        # With no broker the enqueue on commit may have started it on the in-process job pool: wait for that,
        # or the next run could meet the shop's cap on running reports.
        for _ in range(600):
            if run.is_finished:
                break
            time.sleep(0.1)
            run.refresh_from_db()
        done += 1
    return done


def _schedule(shop: Shop) -> int:
    """A weekly sales report to the owner and the finance member, with its last three Mondays sent."""
    owner = load_actor(shop.owner, shop)
    recipients = [m.pk for m in Membership.objects.for_shop(shop).filter(is_active=True).select_related("role")
                  if m.is_owner or (m.role is not None and m.role.key in ("finance", "viewer"))]  # fmt: skip
    schedule = schedule_services.schedule_create(actor=owner, data={
        "type": "sales", "params": {"group_by": "day"}, "frequency": "weekly", "weekday": 0, "time": "08:00",
        "recipients": recipients, "file_format": "xlsx",
    })  # fmt: skip
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    last_monday = today - timedelta(days=today.weekday())
    sent = 0
    for weeks in (3, 2, 1, 0):
        monday = last_monday - timedelta(weeks=weeks)
        slot = timezone.make_aware(datetime(monday.year, monday.month, monday.day, 8, 5), zone)
        if slot > timezone.now():
            continue
        ReportSchedule.objects.for_shop(shop).filter(pk=schedule.pk).update(next_run_at=slot - timedelta(minutes=5))
        with at(slot):
            sent += len(schedule_services.schedules_run_due(actor=system_actor(shop), now=slot))
    return sent


class Command(BaseCommand):
    help = "Three months of demo sales, storefront traffic, a finished report of each type and a weekly schedule."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, action="append", help="Shop id (repeatable); default: every shop")
        parser.add_argument("--seed", type=int, default=14)
        parser.add_argument("--days", type=int, default=DAYS, help=f"Days of history (default {DAYS})")

    def handle(self, *args, **options):
        shops = Shop.objects.filter(pk__in=options["shop"]) if options["shop"] else Shop.objects.all()
        for shop in shops.order_by("id"):
            if Order.objects.for_shop(shop).filter(external_id__startswith=f"{PREFIX}-{shop.pk}-").exists():
                self.stdout.write(f"  {shop.name}: analytics demo already there")
                continue
            rng = random.Random(f"{options['seed']}-{shop.pk}")
            with timezone.override(shop.timezone):
                made = _history(shop, rng, self.stdout.write, options["days"])
                rollups.rebuild(shop)  # (the events kept them already; this makes the demo independent of order)
                traffic = _traffic(shop, rng)
                finished = _reports(shop)
                runs = _schedule(shop)
            self.stdout.write(f"  {shop.name}: {made} orders over {options['days']} days, {traffic} storefront events, "
                              f"{finished} finished reports, a weekly schedule with {runs} runs")  # fmt: skip
        self.stdout.write(self.style.SUCCESS("Analytics demo loaded."))
