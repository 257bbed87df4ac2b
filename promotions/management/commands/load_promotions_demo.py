"""Demo promotions and ads for the demo shops, built on the demo catalog (``load_catalog_demo``) and run after
the storefront simulator (``simulate_orders``):

- one promotion of each kind, scoped to the catalog's real categories, products and SKUs (picked by query);
- a 满减 spend-tier promotion running for ten days, with orders that reached its tiers;
- an ended promotion with orders in its window and in the same-length period before it (its uplift);
- a batch of single-use codes, a few used by orders; a scheduled promotion and a paused one;
- two ad campaigns with 30 days of marketplace figures, one resting today because it spent its daily budget.

Everything goes through the services: orders through the same intake the integration API calls, with a
placed time in the past (``order_intake(created_at=…)`` also prices the order at that moment, so a promotion
whose window has ended since still applied to the orders placed in it); ad figures through the integration's
upsert. Safe to run again: a shop that already has the demo promotions is skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Sum
from django.test.utils import override_settings
from django.utils import timezone

from backoffice.authz import load_actor, system_actor, tenant_model
from backoffice.errors import ServiceError
from backoffice.tenancy.zones import day_bounds, shop_zone
from catalog import selectors as catalog_selectors
from orders import selectors as order_selectors
from orders import services as order_services
from promotions import ads_selectors, selectors, services
from promotions.models import Promotion
from promotions.services import ads

# The names that mark a shop as done (the others name the catalog's products and vary by shop).
SPEND_TIERS = "Spend & save: 300 off 3000, 800 off 6000, 1500 off 10000"
KITCHEN_WEEK = "Kitchen week: 15% off"
TEES_3_FOR_2 = "T-shirts: buy 2, get 1 free"
WELCOME_CODES = "Welcome code: 10% off the first order"
SHOES_ENDED = "Summer shoes: 20% off"
BLACK_FRIDAY = "Black Friday: 25% off everything"
MARKERS = (SPEND_TIERS, SHOES_ENDED)
# The demo catalog's categories the promotions are scoped to.
NEEDED = ("Phones", "Headphones", "Kitchen", "T-shirts", "Shoes")
TIERS = [("3000.00", "300.00"), ("6000.00", "800.00"), ("10000.00", "1500.00")]
STAT_DAYS = 30

FIRST = ["Anna", "Ivan", "Li Wei", "Maria", "Dmitry", "Zhang Min", "Olga", "Sergey", "Wang Fang", "Elena"]
LAST = ["Ivanova", "Petrov", "Chen", "Smirnova", "Kuznetsov", "Liu", "Popova", "Volkov", "Zhao", "Sokolova"]
CITIES = ["Moscow", "Saint Petersburg", "Kazan", "Novosibirsk", "Yekaterinburg"]
STREETS = ["Tverskaya 7", "Nevsky pr. 28", "Lenina 15", "Mira 3", "Gagarina 44", "Sadovaya 12"]


@dataclass
class Planned:
    """An order to push: when, what, with which codes, by whom."""

    at: datetime
    lines: list[tuple[Any, int]]
    buyer: int
    codes: list[str] = field(default_factory=list)


def storefront_user():
    """The marketplace's integration user (the storefront simulator makes the same one)."""
    user, created = get_user_model().objects.get_or_create(
        username="storefront", defaults={"email": "storefront@example.com", "is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _round10(value: Decimal) -> Decimal:
    """A tenth of ``value`` rounded down to tens (at least 10): a per-unit discount that stays above the floor."""
    return max(Decimal(10), (value / 100).quantize(Decimal(1), rounding=ROUND_DOWN) * 10)


class Command(BaseCommand):
    help = (
        "Load demo promotions of every kind (with orders that used them) and two ad campaigns with a month of figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, action="append", help="shop id (repeatable); default: every shop")

    # Demo notices (an ad campaign that spent its budget) stay in the app: no emails to example.com addresses.
    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def handle(self, *args, shop=None, **options):
        shops = tenant_model().objects.order_by("id")
        if shop:
            shops = shops.filter(pk__in=shop)
            if not shops.exists():
                raise CommandError("No such shop.")
        for s in shops:
            if Promotion.objects.for_shop(s).filter(name__in=MARKERS).exists():
                self.stdout.write(f"  {s.name}: demo promotions already there")
                continue
            with transaction.atomic():
                summary = Demo(s, log=self.stdout.write).load()
            self.stdout.write(self.style.SUCCESS(f"  {s.name}: {summary}"))


class Demo:
    def __init__(self, shop, *, log=lambda msg: None):
        self.shop = shop
        self.log = log
        self.rng = random.Random(f"promotions-{shop.pk}")
        self.owner = load_actor(shop.owner, shop)
        self.platform = system_actor(shop, user=storefront_user())  # the marketplace, as in the integration API
        self.zone = shop_zone(shop)
        self.now = timezone.now()
        self.today = ads_selectors.shop_today(shop)
        self.left: dict[int, int] = {}  # units still available per SKU id, as the plan uses them up

    # -- helpers -----------------------------------------------------------------------------------------

    def midnight(self, days: int) -> datetime:
        """The start of the shop's day ``days`` from today (negative: in the past)."""
        return day_bounds(self.today + timedelta(days=days), self.zone)[0]

    def stocked(self, category, *, least: int = 6) -> list:
        """Approved SKUs of ``category`` with at least ``least`` units available, cheapest first."""
        qs = catalog_selectors.sku_list(shop=self.shop, actor=self.owner,
                                        filters={"in_stock": "1", "product_status": "approved"})  # fmt: skip
        rows = list(
            qs.filter(product__category=category)
            .annotate(units=Sum("stock__available"))
            .filter(units__gte=least)
            .order_by("price", "id")
        )
        for sku in rows:
            self.left.setdefault(sku.pk, sku.units - 2)  # a little headroom for the simulator's next orders
        return rows

    @staticmethod
    def first_stocked(pools: dict[str, list], *names: str) -> str:
        """The first of ``names`` whose pool has stock (the first when none has)."""
        return next((n for n in names if pools[n]), names[0])

    def take(self, pool: list, qty: int = 1):
        """A SKU of ``pool`` that still has ``qty`` units for the plan (None when none has)."""
        choices = [s for s in pool if self.left.get(s.pk, 0) >= qty]
        if not choices:
            return None
        sku = self.rng.choice(choices)
        self.left[sku.pk] -= qty
        return sku

    def between(self, start: datetime, end: datetime, n: int) -> list[datetime]:
        """``n`` moments spread evenly (with some jitter) over [start, end), oldest first."""
        span = (end - start).total_seconds()
        return sorted(start + timedelta(seconds=span * (i + self.rng.uniform(0.15, 0.85)) / n) for i in range(n))

    def create(self, data: dict[str, Any], *, activate: bool = True) -> Promotion:
        promotion = services.promotion_create(actor=self.owner, data=data)
        if activate:
            promotion = services.promotion_activate(actor=self.owner, promotion=promotion)
        return promotion

    # -- the demo -----------------------------------------------------------------------------------------

    def load(self) -> str:
        cats = {}
        for c in (
            catalog_selectors.category_list(shop=self.shop, actor=self.owner).filter(name__in=NEEDED).order_by("id")
        ):
            cats.setdefault(c.name, c)
        if missing := [n for n in NEEDED if n not in cats]:
            return f"skipped: no demo catalog (categories missing: {', '.join(missing)}; run load_catalog_demo)"
        pools = {name: self.stocked(cat) for name, cat in cats.items()}
        everything = [s for pool in pools.values() for s in pool]
        plan: list[Planned] = []
        made: list[Promotion] = []

        # 满减: three spend tiers over the whole shop, running since ten days, with a budget.
        made.append(self.create({
            "name": SPEND_TIERS, "kind": "spend_threshold", "starts_at": self.midnight(-10),
            "ends_at": self.midnight(20), "budget": "20000.00",
            "tiers": [{"min_spend": m, "discount": d} for m, d in TIERS],
        }))  # fmt: skip
        for at, target in zip(self.between(self.midnight(-10), self.now, 8),
                              [3500, 6500, 11000, 4200, 2000, 7000, 3200, 12500], strict=True):  # fmt: skip
            lines, total = [], Decimal(0)
            while total < target and len(lines) < 5:
                sku = self.take([s for s in everything if all(s.pk != t.pk for t, _q in lines)])
                if sku is None:
                    break
                lines.append((sku, 1))
                total += sku.price
            if lines:
                plan.append(Planned(at, lines, buyer=self.rng.randrange(12)))

        # Percent off a category, ending within three days (the dashboard's "ending soon").
        made.append(self.create({
            "name": KITCHEN_WEEK, "kind": "percent_off", "value": "15", "starts_at": self.midnight(-2),
            "ends_at": self.midnight(2), "scope": {"categories": [cats["Kitchen"].pk]},
        }))  # fmt: skip
        for at in self.between(self.midnight(-2), self.now, 3):
            if sku := self.take(pools["Kitchen"]):
                plan.append(Planned(at, [(sku, 1)], buyer=self.rng.randrange(12)))

        # Amount off per unit on the phone products (another category's when no phone is in stock), once per buyer.
        featured = self.first_stocked(pools, "Phones", "Headphones", "Kitchen", "Shoes")
        phones = pools[featured]
        off = _round10(min((s.price for s in phones), default=Decimal(1000)))
        made.append(self.create({
            "name": f"{featured}: {off} off each", "kind": "amount_off", "value": str(off),
            "starts_at": self.midnight(-6), "ends_at": self.midnight(24), "per_buyer_limit": 1,
            "scope": {"products": sorted({s.product_id for s in phones})} if phones
                     else {"categories": [cats[featured].pk]},
        }))  # fmt: skip
        for i, at in enumerate(self.between(self.midnight(-6), self.now, 2)):
            if sku := self.take(phones):
                plan.append(Planned(at, [(sku, 1)], buyer=i))

        # 满赠: buy the dearest phone, get the cheapest headphones free (stock reserved with the order).
        trigger = phones[-1] if phones else None
        gift_pool = pools[self.first_stocked(pools, "Headphones", "Kitchen", "T-shirts")]
        gift = next((s for s in gift_pool if s != trigger), None)
        if trigger is None or gift is None:  # no stock to show it with: a spend-based gift of any stocked SKU
            trigger, gift = None, next(iter(everything), None)
        if gift is not None:
            made.append(self.create({
                "name": (f"Free {gift.product.title} with {trigger.product.title}" if trigger
                         else f"Free {gift.product.title} from 5000")[:200],
                "kind": "gift_with_purchase", "gift_sku": gift.code, "usage_limit": 20,
                "starts_at": self.midnight(-8), "ends_at": self.midnight(22),
                **({"trigger_sku": trigger.code, "buy_quantity": 1} if trigger else {"min_spend": "5000.00"}),
            }))  # fmt: skip
            for i, at in enumerate(self.between(self.midnight(-8), self.now, 2)):
                if trigger and self.left.get(trigger.pk, 0) >= 1 and self.left.get(gift.pk, 0) >= 1:
                    self.left[trigger.pk] -= 1
                    self.left[gift.pk] -= 1
                    plan.append(Planned(at, [(trigger, 1)], buyer=2 + i))

        # Buy 2 get 1: three of one tee (the third free), and three sizes of one tee (the floor caps the free one).
        made.append(self.create({
            "name": TEES_3_FOR_2, "kind": "buy_x_get_y", "buy_quantity": 2, "get_quantity": 1,
            "starts_at": self.midnight(-4), "ends_at": self.midnight(10),
            "scope": {"categories": [cats["T-shirts"].pk]},
        }))  # fmt: skip
        first, second = self.between(self.midnight(-4), self.now, 2)
        if sku := self.take(pools["T-shirts"], 3):
            plan.append(Planned(first, [(sku, 3)], buyer=self.rng.randrange(12)))
        sizes: dict[int, list] = {}
        for s in pools["T-shirts"]:
            if self.left.get(s.pk, 0) >= 1:
                sizes.setdefault(s.product_id, []).append(s)
        if three := next((v[:3] for v in sizes.values() if len(v) >= 3), None):
            for s in three:
                self.left[s.pk] -= 1
            plan.append(Planned(second, [(s, 1) for s in three], buyer=self.rng.randrange(12)))

        # A batch of single-use welcome codes: three used by first orders.
        welcome = self.create({
            "name": WELCOME_CODES, "kind": "percent_off", "value": "10", "starts_at": self.midnight(-7),
            "per_buyer_limit": 1,
        })  # fmt: skip
        made.append(welcome)
        services.promotion_codes_generate(actor=self.owner, promotion=welcome, count=50, prefix="WELCOME")
        codes = list(selectors.promotion_codes(actor=self.owner, promotion=welcome).values_list("code", flat=True)[:3])
        for i, (at, code) in enumerate(zip(self.between(self.midnight(-7), self.now, 3), codes, strict=True)):
            if sku := self.take(everything):
                plan.append(Planned(at, [(sku, 1)], buyer=12 + i, codes=[code]))

        # Ended: a week of 20% off shoes, three weeks ago; orders in the week before it (full price) and in it.
        shoes = self.create({
            "name": SHOES_ENDED, "kind": "percent_off", "value": "20", "starts_at": self.midnight(-21),
            "ends_at": self.midnight(-14), "scope": {"categories": [cats["Shoes"].pk]},
        })  # fmt: skip
        made.append(shoes)
        for start, end, n in ((self.midnight(-28), self.midnight(-21), 3), (self.midnight(-21), self.midnight(-14), 7)):
            for at in self.between(start, end, n):
                if sku := self.take(pools["Shoes"]):
                    plan.append(Planned(at, [(sku, 1)], buyer=self.rng.randrange(12)))

        # Scheduled: exclusive, starts in five days.
        made.append(self.create({
            "name": BLACK_FRIDAY, "kind": "percent_off", "value": "25", "exclusive": True, "priority": 10,
            "starts_at": self.midnight(5), "ends_at": self.midnight(8),
        }))  # fmt: skip

        # Paused (by a member) after two orders used it.
        resting = self.first_stocked(pools, "Headphones", "Kitchen", "T-shirts")
        off = _round10(min((s.price for s in pools[resting]), default=Decimal(1000)))
        paused = self.create({
            "name": f"{resting}: {off} off each", "kind": "amount_off", "value": str(off),
            "starts_at": self.midnight(-9), "ends_at": self.midnight(21),
            "scope": {"categories": [cats[resting].pk]},
        })  # fmt: skip
        made.append(paused)
        for at in self.between(self.midnight(-9), self.midnight(-3), 2):
            if sku := self.take(pools[resting]):
                plan.append(Planned(at, [(sku, 1)], buyer=self.rng.randrange(12)))

        placed, discounted = self.push_orders(plan)
        services.promotion_end(actor=self.owner, promotion=shoes)  # its window is over: ended for good
        services.promotion_pause(actor=self.owner, promotion=paused)
        days = self.ads(pools, featured)
        used = selectors.promotion_codes(actor=self.owner, promotion=welcome, filters={"status": "used"}).count()
        return (f"{len(made)} promotions, {placed} orders ({discounted} discounted), 50 single-use codes "
                f"({used} used), 2 ad campaigns × {days} days")  # fmt: skip

    # -- orders -------------------------------------------------------------------------------------------

    def push_orders(self, plan: list[Planned]) -> tuple[int, int]:
        """Push the planned orders oldest first through the integration's intake, then move each on as far as
        its age allows (older than three days: delivered)."""
        carriers = order_selectors.carrier_choices(shop=self.shop)
        carrier = carriers[0].name if carriers else "CDEK"
        buyers = [
            {"id": f"demo-{self.shop.pk}-{k}", "name": f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}",
             "phone": f"+7 9{self.rng.randint(10, 99)} {self.rng.randint(100, 999)}-{self.rng.randint(10, 99)}-"
                      f"{self.rng.randint(10, 99)}",
             "address": f"{self.rng.choice(CITIES)}, {self.rng.choice(STREETS)}, apt {self.rng.randint(1, 200)}"}
            for k in range(16)
        ]  # fmt: skip
        placed = discounted = 0
        for n, p in enumerate(sorted(plan, key=lambda p: p.at)):
            try:
                order, created = order_services.order_intake(
                    actor=self.platform, external_id=f"PROMO-{self.shop.pk}-{n:03d}", delivery_method="standard",
                    buyer=buyers[p.buyer], lines=[{"sku": s.code, "quantity": q, "unit_price": s.price} for s, q in p.lines],
                    codes=p.codes, created_at=p.at,
                )  # fmt: skip
            except ServiceError as exc:  # pragma: no cover - demo data is best effort (stock ran short)
                self.log(f"  demo order {n}: refused ({exc.code})")
                continue
            if not created:
                continue
            placed += 1
            discounted += order.discount_total > 0
            try:
                self.advance(order, p.at, carrier)
            except ServiceError as exc:  # pragma: no cover
                self.log(f"  order {order.number}: {exc.message}")
        return placed, discounted

    def advance(self, order, at: datetime, carrier: str) -> None:
        """Packed, shipped and (older than three days) delivered now: the fulfilment services take no time, and
        backdating only the carrier's events would deliver an order before it was shipped. Only the placed
        time (and the price the order got then) is in the past."""
        age = self.now - at
        if age < timedelta(days=1):
            return
        if order.state == "awaiting_confirmation":
            order = order_services.order_confirm(actor=self.owner, order=order)
        order = order_services.order_pack(actor=self.owner, order=order, carrier=carrier,
                                          tracking_number=f"DM{self.rng.randint(10**9, 10**10 - 1)}")  # fmt: skip
        order = order_services.order_ship(actor=self.owner, order=order)
        order_services.order_tracking_event(actor=self.platform, order=order, status="accepted", location="Moscow hub")
        if age > timedelta(days=3):
            order_services.order_tracking_event(actor=self.platform, order=order, status="delivered",
                                                message="Handed to buyer")  # fmt: skip

    # -- ads ----------------------------------------------------------------------------------------------

    def ads(self, pools: dict[str, list], featured: str) -> int:
        """Two campaigns running for a month, their daily figures pushed as the marketplace does. The category
        campaign spends its whole daily budget today: it rests until tomorrow (and its managers are told)."""
        start = self.midnight(-(STAT_DAYS - 1))
        specs = [
            (f"Search ads: {featured.lower()}", "search", pools[featured], Decimal("2000.00"), Decimal("12.00"),
             (2500, 5000), (Decimal("7.50"), Decimal("10.50")), False),
            ("Category page: kitchen", "category", pools["Kitchen"], Decimal("1000.00"), Decimal("6.00"),
             (6000, 11000), (Decimal("3.00"), Decimal("5.00")), True),
        ]  # fmt: skip
        today_start = self.midnight(0)
        share_of_today = min(1.0, max(0.15, (self.now - today_start).total_seconds() / 86400))
        for name, placement, pool, budget, bid, reach, cpc_range, rests_today in specs:
            prices = [s.price for s in pool] or [Decimal("990.00")]
            campaign = ads.ad_campaign_create(actor=self.owner, data={
                "name": name, "placement": placement, "products": sorted({s.product_id for s in pool}),
                "daily_budget": budget, "bid": bid, "starts_at": start,
            })  # fmt: skip
            campaign = ads.ad_campaign_activate(actor=self.owner, campaign=campaign)
            for back in range(STAT_DAYS - 1, -1, -1):
                day = self.today - timedelta(days=back)
                weekend = 1.25 if day.weekday() >= 5 else 1.0
                impressions = int(self.rng.randint(*reach) * weekend * (share_of_today if back == 0 else 1))
                ctr = self.rng.uniform(0.012, 0.035)
                cpc = cpc_range[0] + (cpc_range[1] - cpc_range[0]) * Decimal(str(round(self.rng.random(), 3)))
                clicks = int(impressions * ctr)
                spend = (cpc * clicks).quantize(Decimal("0.01"))
                if back == 0 and rests_today:
                    # The day's budget ran out: spend is the budget, the clicks it bought, the views they came from.
                    clicks = int(budget / cpc)
                    impressions = max(impressions, int(clicks / ctr))
                    spend = budget
                elif spend >= budget * Decimal("0.95"):  # the marketplace stops short of the budget on other days
                    clicks = int(budget * Decimal("0.9") / cpc)
                    spend = (cpc * clicks).quantize(Decimal("0.01"))
                orders = round(clicks * self.rng.uniform(0.006, 0.018))  # a ROAS of about 3 to 10
                revenue = sum((self.rng.choice(prices) for _i in range(orders)), Decimal("0.00"))
                ads.ad_stats_push(actor=self.platform, campaign=campaign, data={
                    "day": day.isoformat(), "impressions": impressions, "clicks": clicks, "spend": str(spend),
                    "orders": orders, "revenue": str(revenue),
                })  # fmt: skip
        return STAT_DAYS
