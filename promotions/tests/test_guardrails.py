"""Guardrails that act by themselves, on PostgreSQL through the real services and intake: the simulation over past
orders (selector, API, pages), the auto-pause of a used-up promotion (with its audit entry and its notices on
commit), and the beat at window start and end."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEntry, Notification
from backoffice import kv
from backoffice.authz import system_actor
from backoffice.celery import app
from backoffice.errors import Conflict, ValidationFailed
from catalog import services as catalog
from orders import services as order_services
from orders.tests.factories import make_sku
from promotions import services, simulation
from promotions.models import AdCampaign, Promotion
from promotions.services import ads as ad_services
from promotions.services import guardrails
from promotions.tasks import apply_promotion_windows, apply_promotion_windows_for_shop
from promotions.tests.factories import intake, make_promotion, quote
from tests.fixtures import api_client_for, make_member, make_shop, owner_actor, shop_today, web_client_for

pytestmark = pytest.mark.django_db

D = Decimal
S = Promotion.State
TIERS = [{"min_spend": "300.00", "discount": "30.00"}, {"min_spend": "500.00", "discount": "60.00"}]


def ago(**kw):
    return timezone.now() - timedelta(**kw)


def draft(shop, **data) -> Promotion:
    """A draft that starts tomorrow: the simulation ignores the window."""
    return make_promotion(shop, activate=False, starts_at=(timezone.now() + timedelta(days=1)).isoformat(), **data)


@pytest.fixture
def skus(shop):
    a, _wh = make_sku(shop, price="100.00", stock=100)
    b, _wh = make_sku(shop, price="200.00", stock=100)
    return a, b


@pytest.fixture
def history(shop, skus):
    """Orders placed before any promotion existed (list prices, no discount): 300 and 600 in the last 30 days,
    a 100 one, a 600 one cancelled, and a 500 one 40 days ago."""
    a, b = skus
    orders = {
        "o300": intake(shop, [(a, 3)], at=ago(days=5), buyer_id="anna"),
        "o600": intake(shop, [(b, 3)], at=ago(days=4), buyer_id="boris"),
        "o100": intake(shop, [(a, 1)], at=ago(days=3), buyer_id="anna"),
        "cancelled": intake(shop, [(a, 6)], at=ago(days=2)),
        "old500": intake(shop, [(a, 5)], at=ago(days=40)),
    }
    order_services.order_cancel(actor=owner_actor(shop), order=orders["cancelled"], reason="buyer_request")
    return orders


# ------------------------------------------------------------------------------------------------- simulation


def test_simulation_prices_past_orders_with_tiers_and_skips_cancelled_ones(shop, history):
    promo = draft(shop, kind="spend_threshold", tiers=TIERS)
    sim = simulation.simulate(shop=shop, promotion=promo, days=30)
    # 300 → 30 off, 600 → 60 off (the best tier), 100 → nothing; the cancelled 600 and the 40-day-old order are out.
    assert (sim.orders, sim.touched, sim.discount, sim.gift_value, sim.cost) == (
        3,
        2,
        D("90.00"),
        D("0.00"),
        D("90.00"),
    )
    assert sim.touched_subtotal == D("900.00") and sim.cost_percent == D("10.0") and sim.touched_percent == D("66.7")
    assert sim.stopped_by is None and sim.missed == 0 and not sim.capped and not sim.code_assumed
    wider = simulation.simulate(shop=shop, promotion=promo, days="90")
    assert (wider.orders, wider.touched, wider.discount) == (4, 3, D("150.00"))
    # A simulation writes nothing.
    promo.refresh_from_db()
    assert promo.state == S.DRAFT and promo.used_count == 0 and promo.spent == D("0.00")


def test_simulation_applies_floors_the_order_cap_min_spend_scope_and_gifts(shop, skus, history):
    a, b = skus
    services.price_floor_set(actor=owner_actor(shop), sku=a.code, min_price="95.00")
    sim = simulation.simulate(shop=shop, promotion=draft(shop, value="10"), days=30)
    # 10% off: A is held at its floor of 95 (5 off a unit), B gets its 20: 3×5 + 3×20 + 1×5.
    assert (sim.touched, sim.discount) == (3, D("80.00"))
    only_b = simulation.simulate(shop=shop, days=30, promotion=draft(shop, value="10", scope={"skus": [b.code]}))
    assert (only_b.touched, only_b.discount) == (1, D("60.00"))
    gift, _wh = make_sku(shop, price="15.00", stock=0)  # out of stock now: a past day's stock is not known
    gifts = simulation.simulate(shop=shop, days=30, promotion=draft(
        shop, kind="gift_with_purchase", gift_sku=gift.code, gift_quantity=2, min_spend="250", code="GIFT"))  # fmt: skip
    assert (gifts.touched, gifts.discount, gifts.gift_units, gifts.gift_value) == (2, D("0.00"), 4, D("60.00"))
    assert gifts.code_assumed  # it needs a code: taken as entered by every buyer
    services.settings_update(actor=owner_actor(shop), max_discount_percent="2")
    capped = simulation.simulate(shop=shop, promotion=draft(shop, value="10"), days=30)
    assert capped.discount == D("6.00") + D("12.00") + D("2.00")  # 2% of each order's list value


def test_simulation_stops_where_the_usage_limit_or_the_budget_runs_out_in_order_time(shop, skus):
    a, _b = skus
    orders = [intake(shop, [(a, 1)], at=ago(days=10 - i), buyer_id="same" if i < 2 else f"b{i}") for i in range(5)]
    limited = simulation.simulate(shop=shop, promotion=draft(shop, value="10", usage_limit=2), days=30)
    assert (limited.touched, limited.discount, limited.missed) == (2, D("20.00"), 3)
    assert limited.stopped_by == "limit_reached" and limited.stopped_at == orders[1].created_at
    # 10 + 10 + 5 (the rest of the budget): the third order is the last, two more would have qualified.
    budget = simulation.simulate(shop=shop, promotion=draft(shop, value="10", budget="25.00"), days=30)
    assert (budget.touched, budget.discount, budget.missed) == (3, D("25.00"), 2)
    assert budget.stopped_by == "budget_spent" and budget.stopped_at == orders[2].created_at
    # One use per buyer: the second order of "same" is held back, the others are not.
    per_buyer = simulation.simulate(shop=shop, promotion=draft(shop, value="10", per_buyer_limit=1), days=30)
    assert (per_buyer.touched, per_buyer.buyer_limited, per_buyer.stopped_by) == (4, 1, None)
    # What a paused promotion already used does not count: the simulation starts it afresh.
    used = make_promotion(shop, value="10", usage_limit=3)
    intake(shop, [(a, 1)])
    used.refresh_from_db()
    assert used.used_count == 1
    again = simulation.simulate(shop=shop, promotion=used, days=30)
    assert (again.orders, again.touched, again.missed) == (6, 3, 3)


@pytest.mark.parametrize("days", ["14", 0, -7, "abc", True, 30.0, [30], "7.0"])
def test_days_other_than_7_30_or_90_are_a_400_naming_days(shop, days):
    with pytest.raises(ValidationFailed) as exc:
        simulation.simulate(shop=shop, promotion=draft(shop), days=days)
    assert set(exc.value.fields) == {"days"}


def test_days_default_to_30(shop):
    assert simulation.parse_days(None) == simulation.parse_days("") == 30
    assert [simulation.parse_days(v) for v in (7, "30", " 90 ")] == [7, 30, 90]


def test_queries_do_not_grow_with_the_orders(shop, skus):
    a, b = skus
    promo = draft(shop, kind="spend_threshold", tiers=TIERS, usage_limit=100)

    def counted() -> tuple[int, simulation.Simulation]:
        with CaptureQueriesContext(connection) as ctx:
            sim = simulation.simulate(shop=shop, promotion=promo, days=30)
        return len(ctx.captured_queries), sim

    for i in range(3):
        intake(shop, [(a, 3), (b, 1)], at=ago(days=1, minutes=i))
    few, sim3 = counted()
    for i in range(27):
        intake(shop, [(a, 1 + i % 5), (b, 1)], at=ago(days=2, minutes=i))
    many, sim30 = counted()
    assert (sim3.orders, sim30.orders) == (3, 30) and sim30.touched > sim3.touched
    assert few == many <= 4, (few, many)


def test_more_orders_than_the_cap_simulates_the_newest_and_says_so(shop, skus, monkeypatch):
    a, _b = skus
    placed = [intake(shop, [(a, 1)], at=ago(days=5 - i)) for i in range(4)]
    monkeypatch.setattr(simulation, "MAX_ORDERS", 3)
    sim = simulation.simulate(shop=shop, promotion=draft(shop, value="10"), days=30)
    assert sim.capped and sim.orders == 3 and sim.first_order_at == placed[1].created_at
    assert simulation.as_dict(sim)["capped"] is True


def test_an_unsaved_promotion_can_be_simulated(shop, skus, history):
    unsaved = Promotion(shop=shop, name="Not saved", kind="percent_off", value=D("50"), starts_at=timezone.now())
    sim = simulation.simulate(shop=shop, promotion=unsaved, days=30)
    assert (sim.touched, sim.discount) == (3, D("150.00") + D("300.00") + D("50.00"))
    assert unsaved.pk is None and not Promotion.objects.for_shop(shop).filter(name="Not saved").exists()


# ------------------------------------------------------------------------------------------------- auto-pause


@pytest.fixture
def managers(shop):
    """Who is told: the owner, an admin, an operator (promotions.manage on the whole shop) — not a viewer, nor an
    operator limited to a category (a whole-shop promotion is read-only to them)."""
    phones = catalog.category_create(actor=owner_actor(shop), name="Phones")
    told = {shop.owner.pk, make_member(shop, "admin").user_id, make_member(shop, "operator").user_id}
    make_member(shop, "viewer")
    make_member(shop, "operator", scopes={"category": [phones.pk]})
    return told


def _paused_notices(shop):
    return Notification.objects.for_shop(shop).filter(kind="promotion_paused")


def test_the_order_that_uses_up_the_limit_pauses_it_audits_and_tells_managers_on_commit(
    shop, skus, managers, django_capture_on_commit_callbacks
):
    a, _b = skus
    promo = make_promotion(shop, name="Two only", value="10", usage_limit=2)
    with django_capture_on_commit_callbacks(execute=True):
        intake(shop, [(a, 1)])
    promo.refresh_from_db()
    assert promo.state == S.ACTIVE and not _paused_notices(shop).exists()

    with django_capture_on_commit_callbacks(execute=False) as pending:
        second = intake(shop, [(a, 1)])
    promo.refresh_from_db()
    assert second.discount_total == D("10.00")
    assert (promo.state, promo.paused_reason, promo.used_count) == (S.PAUSED, "limit_reached", 2)
    entry = AuditEntry.objects.for_shop(shop).get(action="promotion.auto_paused", target_id=str(promo.pk))
    assert entry.actor_id is None and entry.membership_id is None  # the system
    assert entry.changes["state"] == ["active", "paused"] and entry.changes["paused_reason"] == ["", "limit_reached"]
    assert not _paused_notices(shop).exists() and mail.outbox == []  # nothing before the order commits
    with django_capture_on_commit_callbacks(execute=True):
        for callback in pending:
            callback()
    assert set(_paused_notices(shop).values_list("recipient_id", flat=True)) == managers
    note = _paused_notices(shop).first()
    assert "Two only" in note.title and "limit" in note.title and note.url.endswith(f"/promotions/{promo.pk}/")
    assert len([m for m in mail.outbox if "Two only" in m.subject]) == len(managers)
    # Paused: the next order pays the list price (the quote says why).
    third = intake(shop, [(a, 1)])
    assert third.discount_total == D("0.00")


@pytest.mark.parametrize(
    ("data", "orders_to_pause"),
    [
        ({"value": "10", "budget": "15.00"}, 2),  # 10, then the 5 left: nothing left
        ({"kind": "gift_with_purchase", "gift_quantity": 1, "budget": "50.00"}, 1),  # 30 spent: 20 < a gift of 30
    ],
)
def test_a_spent_budget_pauses_it(shop, skus, managers, data, orders_to_pause, django_capture_on_commit_callbacks):
    a, _b = skus
    if data.get("kind") == "gift_with_purchase":
        gift, _wh = make_sku(shop, price="30.00", stock=10)
        data = {**data, "gift_sku": gift.code}
    promo = make_promotion(shop, name="Budgeted", **data)
    for n in range(1, orders_to_pause + 1):
        with django_capture_on_commit_callbacks(execute=True):
            intake(shop, [(a, 1)])
        promo.refresh_from_db()
        assert promo.state == (S.PAUSED if n == orders_to_pause else S.ACTIVE)
    assert promo.paused_reason == "budget_spent"
    assert set(_paused_notices(shop).values_list("recipient_id", flat=True)) == managers
    assert all("budget" in t for t in _paused_notices(shop).values_list("title", flat=True))
    assert AuditEntry.objects.for_shop(shop).filter(action="promotion.auto_paused").count() == 1


def test_resuming_clears_the_reason_and_it_applies_again(shop, skus):
    a, _b = skus
    promo = make_promotion(shop, value="10", usage_limit=1)
    intake(shop, [(a, 1)])
    promo.refresh_from_db()
    assert (promo.state, promo.paused_reason) == (S.PAUSED, "limit_reached")
    owner = owner_actor(shop)
    promo = services.promotion_update(actor=owner, promotion=promo, data={"usage_limit": 3})
    promo = services.promotion_activate(actor=owner, promotion=promo)
    promo.refresh_from_db()
    assert (promo.state, promo.paused_reason) == (S.ACTIVE, "")
    assert intake(shop, [(a, 1)]).discount_total == D("10.00")
    # A member's pause carries no guardrail reason.
    promo = services.promotion_pause(actor=owner, promotion=promo)
    assert promo.paused_reason == ""


def test_paused_by_the_guardrail_the_quote_names_the_limit_and_a_cancel_resumes_it(shop, skus):
    a, _b = skus
    promo = make_promotion(shop, value="10", usage_limit=1)
    order = intake(shop, [(a, 1)])
    promo.refresh_from_db()
    assert promo.state == S.PAUSED
    assert quote(shop, [(a, 1)])["not_applied"][0]["reason"] == "limit_reached"  # the cause, not "paused"
    order_services.order_cancel(actor=owner_actor(shop), order=order, reason="buyer_request")
    promo.refresh_from_db()
    assert (promo.state, promo.paused_reason, promo.used_count) == (S.ACTIVE, "", 0)
    entry = AuditEntry.objects.for_shop(shop).get(action="promotion.auto_resumed", target_id=str(promo.pk))
    assert entry.actor_id is None and entry.changes["paused_reason"] == ["limit_reached", ""]
    again = intake(shop, [(a, 1)])
    promo.refresh_from_db()
    assert again.discount_total == D("10.00") and promo.state == S.PAUSED  # used up again
    # A member's pause is theirs: a cancel does not lift it, and the quote says "paused".
    owner = owner_actor(shop)
    promo = services.promotion_update(actor=owner, promotion=promo, data={"usage_limit": 5})
    promo = services.promotion_pause(actor=owner, promotion=services.promotion_activate(actor=owner, promotion=promo))
    assert quote(shop, [(a, 1)])["not_applied"][0]["reason"] == "paused"
    order_services.order_cancel(actor=owner, order=again, reason="buyer_request")
    promo.refresh_from_db()
    assert (promo.state, promo.paused_reason, promo.used_count) == (S.PAUSED, "", 0)


def test_an_intake_that_fails_pauses_nothing_and_tells_no_one(shop, managers, django_capture_on_commit_callbacks):
    empty, _wh = make_sku(shop, price="100.00", stock=0)
    promo = make_promotion(shop, value="10", usage_limit=1)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        intake(shop, [(empty, 1)])
    promo.refresh_from_db()
    assert (promo.state, promo.used_count, promo.paused_reason) == (S.ACTIVE, 0, "")
    assert not _paused_notices(shop).exists() and mail.outbox == []
    assert not AuditEntry.objects.for_shop(shop).filter(action="promotion.auto_paused").exists()


def test_the_new_kind_is_offered_to_who_manages_promotions(shop):
    viewer = make_member(shop, "viewer")
    kinds = lambda user: [p["kind"] for p in api_client_for(user, reauth=False).get(  # noqa: E731
        f"/api/v1/shops/{shop.pk}/notifications/preferences/").json()["preferences"]]  # fmt: skip
    assert "promotion_paused" in kinds(shop.owner) and "promotion_paused" not in kinds(viewer.user)


# ----------------------------------------------------------------------------------------------------- windows


@pytest.fixture
def fresh_windows(shop):
    """Shop ids repeat between test runs (a new database each time) but Redis keeps the last-run moments."""
    kv.client().delete(guardrails._last_run_key(shop.pk))


def _campaign(shop, product, name, **data) -> AdCampaign:
    body = {"name": name, "placement": "search", "products": [product.pk], "daily_budget": "100.00", "bid": "2.00",
            "starts_at": ago(days=3).isoformat(), **data}  # fmt: skip
    campaign = ad_services.ad_campaign_create(actor=owner_actor(shop), data=body)
    return ad_services.ad_campaign_activate(actor=owner_actor(shop), campaign=campaign)


def _entries(shop, action) -> list[str]:
    rows = AuditEntry.objects.for_shop(shop).filter(action=action).order_by("id")
    return [r.target_repr for r in rows]


def test_window_beat_ends_what_is_over_announces_what_started_and_is_idempotent(
    shop, skus, fresh_windows, django_capture_on_commit_callbacks
):
    a, _b = skus
    over = make_promotion(shop, name="Over", starts_at=ago(hours=3).isoformat(), ends_at=ago(minutes=1).isoformat())
    paused_over = make_promotion(shop, name="Paused over", starts_at=ago(hours=3).isoformat(),
                                 ends_at=ago(minutes=2).isoformat())  # fmt: skip
    services.promotion_pause(actor=owner_actor(shop), promotion=paused_over)
    draft_over = make_promotion(shop, name="Draft over", activate=False, starts_at=ago(hours=3).isoformat(),
                                ends_at=ago(minutes=2).isoformat())  # fmt: skip
    make_promotion(shop, name="Just started", starts_at=ago(minutes=2).isoformat())
    make_promotion(shop, name="Running for long", starts_at=ago(hours=3).isoformat())
    make_promotion(shop, name="Later", starts_at=(timezone.now() + timedelta(minutes=30)).isoformat())
    ad_over = _campaign(shop, a.product, "Ad over", ends_at=ago(minutes=1).isoformat())
    rested = _campaign(shop, a.product, "Rested yesterday")
    resting = _campaign(shop, a.product, "Resting today")
    today = shop_today(shop)
    AdCampaign.objects.for_shop(shop).filter(pk=rested.pk).update(paused_for_day=today - timedelta(days=1))
    AdCampaign.objects.for_shop(shop).filter(pk=resting.pk).update(paused_for_day=today)
    assert shop.pk in guardrails.windows_due_shops()

    with django_capture_on_commit_callbacks(execute=True):
        assert apply_promotion_windows() >= 1
    states = dict(Promotion.objects.for_shop(shop).values_list("name", "state"))
    assert (states["Over"], states["Paused over"], states["Draft over"]) == (S.ENDED, S.ENDED, S.DRAFT)
    assert states["Just started"] == states["Running for long"] == states["Later"] == S.ACTIVE
    assert _entries(shop, "promotion.window_ended") == ["Over", "Paused over"]
    assert _entries(shop, "promotion.started") == ["Just started"]  # not the one running for hours
    ads = {c.name: c for c in AdCampaign.objects.for_shop(shop)}
    assert ads["Ad over"].state == AdCampaign.State.ENDED and _entries(shop, "ad_campaign.window_ended") == ["Ad over"]
    assert ads["Rested yesterday"].paused_for_day is None and ads["Resting today"].paused_for_day == today
    assert over.pk and draft_over.pk and ad_over.pk

    # Run again (a redelivery, or the next beat): nothing new.
    before = AuditEntry.objects.for_shop(shop).count()
    with django_capture_on_commit_callbacks(execute=True):
        apply_promotion_windows()
        apply_promotion_windows_for_shop(shop_id=shop.pk)
    assert AuditEntry.objects.for_shop(shop).count() == before
    # An hour later the scheduled one has started: announced once.
    later = timezone.now() + timedelta(hours=1)
    done = guardrails.promotion_windows_apply(actor=system_actor(shop), now=later)
    assert done["promotions_started"] == 1 and _entries(shop, "promotion.started") == ["Just started", "Later"]
    assert guardrails.promotion_windows_apply(actor=system_actor(shop), now=later)["promotions_started"] == 0


def test_window_work_stays_in_its_shop(shop, fresh_windows):
    other = make_shop("Other windows")
    kv.client().delete(guardrails._last_run_key(other.pk))
    theirs = make_promotion(other, starts_at=ago(hours=2).isoformat(), ends_at=ago(minutes=1).isoformat())
    done = guardrails.promotion_windows_apply(actor=system_actor(shop))
    theirs.refresh_from_db()
    assert done["promotions_ended"] == 0 and theirs.state == S.ACTIVE


def test_the_window_beat_is_on_the_schedule_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["apply-promotion-windows"]
    assert entry["task"] == apply_promotion_windows.name == "promotions.tasks.apply_promotion_windows"
    assert entry["schedule"] == timedelta(minutes=5)
    assert {apply_promotion_windows.name, apply_promotion_windows_for_shop.name} <= set(app.tasks)


# ------------------------------------------------------------------------------------------------ API and pages


def _simulate_url(shop, promo) -> str:
    return f"/api/v1/shops/{shop.pk}/promotions/{promo.pk}/simulate/"


def test_simulate_api_answers_the_figures_and_checks_days_and_access(shop, history):
    promo = draft(shop, kind="spend_threshold", tiers=TIERS)
    api = api_client_for(shop.owner)
    r = api.post(_simulate_url(shop, promo), {"days": 30}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert {k: body[k] for k in ("days", "orders", "touched", "discount", "gift_value", "cost", "capped")} == {
        "days": 30, "orders": 3, "touched": 2, "discount": "90.00", "gift_value": "0.00", "cost": "90.00",
        "capped": False}  # fmt: skip
    assert api.post(_simulate_url(shop, promo), {}, format="json").json()["days"] == 30
    assert api.post(_simulate_url(shop, promo), {"days": "90"}, format="json").json()["touched"] == 3
    for bad in ({"days": 14}, {"days": "x"}):
        r = api.post(_simulate_url(shop, promo), bad, format="json")
        assert r.status_code == 400 and "days" in r.json()["error"]["fields"], r.content
    assert api.post(_simulate_url(shop, promo), [30], format="json").status_code == 400


def test_simulate_api_needs_manage_on_that_promotion(shop, other_shop):
    phones = catalog.category_create(actor=owner_actor(shop), name="Phones")
    whole_shop = draft(shop)
    theirs = draft(shop, scope={"categories": [phones.pk]})
    viewer = api_client_for(make_member(shop, "viewer").user)
    assert viewer.post(_simulate_url(shop, whole_shop), {}, format="json").status_code == 403
    scoped = api_client_for(make_member(shop, "operator", scopes={"category": [phones.pk]}).user)
    assert scoped.post(_simulate_url(shop, whole_shop), {}, format="json").status_code == 403
    assert scoped.post(_simulate_url(shop, theirs), {}, format="json").status_code == 200
    foreign = draft(other_shop)
    assert api_client_for(shop.owner).post(_simulate_url(shop, foreign), {}, format="json").status_code == 404


def _page(shop, rest="") -> str:
    return f"/shops/{shop.pk}/promotions/{rest}"


def test_detail_page_simulates_a_promotion_not_running_yet(shop, history):
    promo = draft(shop, kind="spend_threshold", tiers=TIERS)
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(_page(shop, f"{promo.pk}/")).content.decode()
    assert 'id="simulate-form"' in html and 'id="simulation-result"' not in html
    r = web.get(_page(shop, f"{promo.pk}/?days=90"))
    html = r.content.decode()
    assert r.status_code == 200 and 'id="sim-touched">3 of 4 (75.0%)' in html
    assert re.search(r'id="sim-discount">150\.00 ', html) and '<option value="90" selected>' in html
    # A bad period goes back to the page, saying which field (the kernel's refusal of a bad query).
    r = web.get(_page(shop, f"{promo.pk}/?days=12"))
    assert r.status_code == 302 and r.url == _page(shop, f"{promo.pk}/")
    assert "days" in web.get(r.url).content.decode()
    # Running: no card; a viewer: no card.
    running = make_promotion(shop)
    assert 'id="simulate"' not in web.get(_page(shop, f"{running.pk}/")).content.decode()
    viewer = web_client_for(make_member(shop, "viewer").user, reauth=False)
    assert 'id="simulate"' not in viewer.get(_page(shop, f"{promo.pk}/?days=30")).content.decode()


def _form(**overrides) -> dict:
    data = {"kind": "spend_threshold", "name": "Tiers draft", "starts_at": "2031-01-01T10:00", "ends_at": "",
            "priority": "0", "gift_quantity": "1", "skus": "", "code": "", "min_spend": "", "budget": "",
            "usage_limit": "", "per_buyer_limit": "", "cart-TOTAL_FORMS": "0", "cart-INITIAL_FORMS": "0",
            "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0", "tiers-0-min_spend": "300",
            "tiers-0-discount": "30", "tiers-1-min_spend": "500", "tiers-1-discount": "60", "preview": "simulate"}  # fmt: skip
    return {**data, **overrides}


def test_the_form_simulates_the_draft_being_edited_beside_the_quote(shop, history, skus):
    web = web_client_for(shop.owner, reauth=False)
    # htmx: the simulation alone, for its place in the preview card (the quote is its own button).
    r = web.post(_page(shop, "new/"), _form(simulate_days="30"), HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html and 'id="quote-result"' not in html
    assert 'id="sim-touched">2 of 3 (66.7%)' in html and re.search(r'id="sim-discount">90\.00 ', html)
    # Without JavaScript: the whole form with the simulation under it; nothing saved.
    full = web.post(_page(shop, "new/"), _form(simulate_days="90")).content.decode()
    assert 'id="promotion-form"' in full and 'id="sim-touched">3 of 4' in full
    assert '<option value="90" selected>' in full
    assert not Promotion.objects.for_shop(shop).filter(name="Tiers draft").exists()
    # The quote button still quotes the cart, without simulating.
    cart = {"cart-TOTAL_FORMS": "1", "cart-0-sku": skus[0].code, "cart-0-quantity": "3", "preview": "1"}
    quoted = web.post(_page(shop, "new/"), _form(**cart), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="quote-result"' in quoted and 'id="simulation-result"' not in quoted
    # Editing a saved promotion simulates the values on the form, not the saved ones.
    promo = draft(shop, kind="spend_threshold", tiers=TIERS)
    edited = web.post(_page(shop, f"{promo.pk}/edit/"), _form(**{"tiers-1-discount": "100"}), HTTP_HX_REQUEST="true")
    assert re.search(r'id="sim-discount">130\.00 ', edited.content.decode())
    # A bad period or unfinished fields: said in the simulation's place.
    bad = web.post(_page(shop, "new/"), _form(simulate_days="12"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="simulation-error"' in bad and "7, 30, 90" in bad
    unfinished = web.post(_page(shop, "new/"), _form(name=""), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="simulation-error"' in unfinished and 'id="simulation-result"' not in unfinished
    # The form offers exactly the simulation's periods.
    page = web.get(_page(shop, "new/?kind=spend_threshold")).content.decode()
    select = re.search(r'<select id="simulate-days" name="simulate_days">(.*?)</select>', page, re.S).group(1)
    assert [int(v) for v in re.findall(r'value="(\d+)"', select)] == list(simulation.DAYS)
