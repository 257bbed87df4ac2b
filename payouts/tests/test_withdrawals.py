"""Withdrawals with two-person approval: the state machine (every transition once, 409 otherwise), the money each
step moves (with the ledger's invariants after each), bad amounts, funds, re-authentication, who may do what, the
platform API and the admin's actions, notifications and audit entries, the pages; and races on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import AuditEntry, Notification
from backoffice.authz import load_actor
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from payouts import selectors
from payouts import services as ledger
from payouts.models import Account, Kind, LedgerTransaction, Withdrawal
from payouts.services import withdrawals as services
from payouts.tests.factories import assert_invariants, balances
from tests.fixtures import api_client_for, make_member, make_platform_user, make_shop, owner_actor, web_client_for
from tests.races import race, require_postgresql

D = Decimal
A = Account
S = Withdrawal.Status


# -- helpers -------------------------------------------------------------------------------------------------
def fund(shop, amount: str = "1000.00") -> None:
    ledger.post(shop=shop, kind=Kind.ADJUSTMENT, key=f"fund-{amount}",
                entries=[(A.ADJUSTMENTS, -D(amount)), (A.AVAILABLE, D(amount))])  # fmt: skip


def payout_staff(*, decide: bool = True):
    """Platform staff holding the payout staff's permissions (view the queue; decide when ``decide``)."""
    user = make_platform_user()
    codenames = ["view_withdrawal", "change_withdrawal"] if decide else ["view_withdrawal"]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="payouts", codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)  # a fresh instance: no stale permission cache


def money(shop) -> tuple[Decimal, Decimal, Decimal]:
    b = balances(shop)
    return b[A.AVAILABLE], b[A.IN_TRANSIT], b[A.PAYOUTS]


def keys(shop, w) -> list[str]:
    txns = LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.WITHDRAWAL, key__startswith=f"{w.pk}:")
    return list(txns.order_by("id").values_list("key", flat=True))


def actions(shop) -> list[str]:
    return list(AuditEntry.objects.for_shop(shop).filter(action__startswith="withdrawal.").order_by("id")
                .values_list("action", flat=True))  # fmt: skip


def queued(client, shop, **params) -> list[int]:
    """The ids of ``shop``'s withdrawals in the platform's queue (it lists every shop's)."""
    rows = client.get("/api/v1/platform/withdrawals/", {"page_size": 200, **params}).json()["results"]
    return [row["id"] for row in rows if row["shop"] == shop.pk]


def url(shop, tail: str = "") -> str:
    return f"/api/v1/shops/{shop.pk}/withdrawals/{tail}"


@pytest.fixture
def staff(db):
    return payout_staff()


@pytest.fixture
def funded(shop):
    fund(shop)
    return shop


# -- the state machine ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_request_approve_pay_moves_the_money_once_per_step(funded, staff):
    shop = funded
    w = services.withdrawal_request(actor=owner_actor(shop), amount="300.00")
    assert (w.status, w.amount, w.requested_by_id) == (S.REQUESTED, D("300.00"), shop.owner.pk)
    assert money(shop) == (D("700.00"), D("300.00"), 0)
    assert_invariants(shop)
    w = services.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    assert w.status == S.APPROVED and money(shop) == (D("700.00"), D("300.00"), 0)
    w = services.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference=" BANK-42 ")
    assert (w.status, w.bank_reference, w.platform_user_id) == (S.PAID, "BANK-42", staff.pk)
    assert money(shop) == (D("700.00"), 0, D("300.00"))
    assert keys(shop, w) == [f"{w.pk}:request", f"{w.pk}:paid"]
    assert actions(shop) == ["withdrawal.request", "withdrawal.approve", "withdrawal.pay"]
    entry = AuditEntry.objects.for_shop(shop).filter(action="withdrawal.pay").get()
    assert entry.actor_id == staff.pk and entry.changes["bank_reference"] == [None, "BANK-42"]
    assert_invariants(shop)


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["fail_requested", "fail_approved", "cancel_requested", "cancel_awaiting"])
def test_failed_and_cancelled_withdrawals_give_the_money_back(funded, staff, step):
    shop = funded
    if step == "cancel_awaiting":
        services.payout_settings_update(actor=owner_actor(shop), second_approval_above="100.00")
    w = services.withdrawal_request(actor=owner_actor(shop), amount="250.00")
    if step == "fail_approved":
        w = services.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    if step.startswith("fail"):
        w = services.withdrawal_mark_failed(platform_user=staff, withdrawal=w, reason="Account closed")
        assert (w.status, w.failure_reason) == (S.FAILED, "Account closed")
        assert keys(shop, w) == [f"{w.pk}:request", f"{w.pk}:failed"]
    else:
        w = services.withdrawal_cancel(actor=owner_actor(shop), withdrawal=w)
        assert w.status == S.CANCELLED and w.cancelled_by_id == shop.owner.pk
        assert keys(shop, w) == [f"{w.pk}:request", f"{w.pk}:cancelled"]
    assert money(shop) == (D("1000.00"), 0, 0)
    assert_invariants(shop)


# Which (state, step) pairs the service accepts; every other pair is a 409 naming the state, and moves nothing.
ALLOWED = {
    (S.AWAITING_APPROVAL, "second_approve"), (S.AWAITING_APPROVAL, "cancel"),
    (S.REQUESTED, "cancel"), (S.REQUESTED, "approve"), (S.REQUESTED, "fail"),
    (S.APPROVED, "pay"), (S.APPROVED, "fail"),
}  # fmt: skip
STEPS = ["second_approve", "cancel", "approve", "pay", "fail"]


def _drive(shop, staff, finance, state: str) -> Withdrawal:
    """A withdrawal of 600.00 (above the 500.00 threshold) brought to ``state`` through the services."""
    owner = owner_actor(shop)
    w = services.withdrawal_request(actor=owner, amount="600.00")
    if state == S.AWAITING_APPROVAL:
        return w
    if state == S.CANCELLED:
        return services.withdrawal_cancel(actor=owner, withdrawal=w)
    w = services.withdrawal_second_approve(actor=finance, withdrawal=w)
    if state == S.REQUESTED:
        return w
    if state == S.FAILED:
        return services.withdrawal_mark_failed(platform_user=staff, withdrawal=w, reason="no")
    w = services.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    if state == S.APPROVED:
        return w
    return services.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference="REF")


def _step(step: str, w, finance, staff, owner):
    return {
        "second_approve": lambda: services.withdrawal_second_approve(actor=finance, withdrawal=w),
        "cancel": lambda: services.withdrawal_cancel(actor=owner, withdrawal=w),
        "approve": lambda: services.withdrawal_platform_approve(platform_user=staff, withdrawal=w),
        "pay": lambda: services.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference="REF-2"),
        "fail": lambda: services.withdrawal_mark_failed(platform_user=staff, withdrawal=w, reason="late"),
    }[step]()


@pytest.mark.django_db
@pytest.mark.parametrize("state", S.values)
def test_every_transition_runs_once_from_its_states_and_is_a_409_from_any_other(funded, staff, state):
    shop = funded
    fund(shop, "20000.00")  # room for a fresh withdrawal per allowed step
    services.payout_settings_update(actor=owner_actor(shop), second_approval_above="500.00")
    finance = load_actor(make_member(shop, "finance").user, shop)
    w = _drive(shop, staff, finance, state)
    assert w.status == state
    for step in STEPS:
        before, booked = money(shop), keys(shop, w)
        if (state, step) in ALLOWED:
            continue
        with pytest.raises(Conflict) as exc:
            _step(step, w, finance, staff, owner_actor(shop))
        assert exc.value.code == f"withdrawal_{state}" and exc.value.status_code == 409, (state, step)
        assert Withdrawal.objects.for_shop(shop).get(pk=w.pk).status == state
        assert (money(shop), keys(shop, w)) == (before, booked)
    for step in STEPS:  # each allowed step once from this state (a fresh withdrawal each), then never again
        if (state, step) not in ALLOWED:
            continue
        fresh = _drive(shop, staff, finance, state)
        done = _step(step, fresh, finance, staff, owner_actor(shop))
        assert done.status != state
        with pytest.raises(Conflict):
            _step(step, fresh, finance, staff, owner_actor(shop))
    assert_invariants(shop)


# -- who may -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_requester_cannot_second_approve_another_approver_can_and_only_then_the_platform_sees_it(funded, staff,
                                                                                               django_capture_on_commit_callbacks):  # fmt: skip
    shop = funded
    finance = make_member(shop, "finance")
    other_finance = make_member(shop, "finance")
    viewer = make_member(shop, "viewer")
    services.payout_settings_update(actor=owner_actor(shop), second_approval_above="500.00")
    api = api_client_for(finance.user)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(url(shop), {"amount": "600.00"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "awaiting_approval"
    w = Withdrawal.objects.for_shop(shop).get(pk=r.json()["id"])
    assert money(shop) == (D("400.00"), D("600.00"), 0)  # set aside at once
    told = Notification.objects.for_shop(shop).filter(kind="withdrawal_status")
    assert set(told.values_list("recipient_id", flat=True)) == {shop.owner.pk, other_finance.user.pk}
    assert "needs your approval" in told.first().title
    platform = api_client_for(staff, reauth=False)
    assert queued(platform, shop) == []
    assert platform.post(f"/api/v1/platform/withdrawals/{w.pk}/approve/").status_code == 404

    r = api.post(url(shop, f"{w.pk}/approve/"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "own_withdrawal"
    assert api_client_for(viewer.user).post(url(shop, f"{w.pk}/approve/")).status_code == 403
    with pytest.raises(Forbidden):
        services.withdrawal_second_approve(actor=load_actor(finance.user, shop), withdrawal=w)
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client_for(other_finance.user).post(url(shop, f"{w.pk}/approve/"))
    assert r.status_code == 200 and r.json()["status"] == "requested"
    assert r.json()["second_approved_by"] == other_finance.user.pk
    # the requester and every holder of payouts.view (the owner, both finance members) hear of the new status
    latest = told.filter(title__contains="Requested")
    assert set(latest.values_list("recipient_id", flat=True)) == {shop.owner.pk, finance.user.pk, other_finance.user.pk}
    assert viewer.user.pk not in set(told.values_list("recipient_id", flat=True))
    assert queued(platform, shop) == [w.pk]
    assert actions(shop) == ["withdrawal.request", "withdrawal.second_approve"]


@pytest.mark.django_db
def test_an_admin_cannot_withdraw_finance_can_and_only_the_requester_or_owner_cancels(funded):
    shop = funded
    admin = make_member(shop, "admin")
    r = api_client_for(admin.user).post(url(shop), {"amount": "10.00"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] in ("permission_denied", "forbidden")
    with pytest.raises(Forbidden):
        services.withdrawal_request(actor=load_actor(admin.user, shop), amount="10.00")
    finance, other = make_member(shop, "finance"), make_member(shop, "finance")
    r = api_client_for(finance.user).post(url(shop), {"amount": "10.00"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "requested"
    r2 = api_client_for(other.user).post(url(shop, f"{r.json()['id']}/cancel/"))
    assert r2.status_code == 403 and r2.json()["error"]["code"] == "not_requester"
    assert api_client_for(finance.user).post(url(shop, f"{r.json()['id']}/cancel/")).json()["status"] == "cancelled"
    w = services.withdrawal_request(actor=load_actor(other.user, shop), amount="5.00")
    assert services.withdrawal_cancel(actor=owner_actor(shop), withdrawal=w).status == S.CANCELLED
    with pytest.raises(TypeError):
        services.withdrawal_request(actor=shop.owner, amount="1.00")
    assert money(shop) == (D("1000.00"), 0, 0)
    assert_invariants(shop)


# -- bad input, funds, re-authentication -----------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["-1.00", "0", "0.00", "10.001", "abc", "", "NaN", "Infinity", "1e400", None,
                                    [1], {"a": 1}, True])  # fmt: skip
def test_a_bad_amount_is_a_400_naming_it_and_posts_nothing(funded, amount):
    shop = funded
    r = api_client_for(shop.owner).post(url(shop), {"amount": amount}, format="json")
    assert r.status_code == 400, (amount, r.content)
    assert "amount" in r.json()["error"]["fields"]
    assert not Withdrawal.objects.for_shop(shop).exists() and money(shop) == (D("1000.00"), 0, 0)
    with pytest.raises(ValidationFailed):
        services.withdrawal_request(actor=owner_actor(shop), amount="10.005")


@pytest.mark.django_db
def test_more_than_available_is_a_409_insufficient_funds_and_nothing_is_saved(funded):
    shop = funded
    api = api_client_for(shop.owner)
    r = api.post(url(shop), {"amount": "1000.01"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_funds"
    assert not Withdrawal.objects.for_shop(shop).exists()
    assert not LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.WITHDRAWAL).exists()
    assert api.post(url(shop), {"amount": 1000}, format="json").status_code == 201  # all of it, a JSON number
    assert money(shop) == (0, D("1000.00"), 0)
    assert_invariants(shop)


@pytest.mark.django_db
def test_withdrawing_and_changing_the_threshold_need_a_fresh_reauthentication(funded):
    shop = funded
    stale = api_client_for(shop.owner, reauth=False)
    r = stale.post(url(shop), {"amount": "10.00"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"
    r = stale.put(f"/api/v1/shops/{shop.pk}/payout-settings/", {"second_approval_above": "1.00"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"
    assert not Withdrawal.objects.for_shop(shop).exists() and selectors.payout_settings(shop=shop) is None
    assert stale.get(url(shop)).status_code == 200  # reading needs none
    # a member without payouts.withdraw hears "not allowed", not "re-authenticate"
    r = api_client_for(make_member(shop, "admin").user, reauth=False).post(url(shop), {"amount": "1"}, format="json")
    assert r.json()["error"]["code"] in ("permission_denied", "forbidden")
    page = web_client_for(shop.owner, reauth=False)
    for path in (f"/shops/{shop.pk}/payouts/withdrawals/new/", f"/shops/{shop.pk}/payouts/settings/"):
        r = page.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/?next=")
    assert page.post(f"/shops/{shop.pk}/payouts/withdrawals/new/", {"amount": "1.00"}).status_code == 302
    assert not Withdrawal.objects.for_shop(shop).exists()


@pytest.mark.django_db
def test_payout_settings_read_and_set_through_the_api(shop):
    api = api_client_for(shop.owner)
    path = f"/api/v1/shops/{shop.pk}/payout-settings/"
    assert api.get(path).json() == {"second_approval_above": None}
    assert api.put(path, {"second_approval_above": "250.50"}, format="json").json() == {
        "second_approval_above": "250.50"
    }
    assert api_client_for(make_member(shop, "finance").user).get(path).json()["second_approval_above"] == "250.50"
    for bad in ("-1", "1.001", "x"):
        r = api.put(path, {"second_approval_above": bad}, format="json")
        assert r.status_code == 400 and "second_approval_above" in r.json()["error"]["fields"]
    assert api.put(path, {"second_approval_above": None}, format="json").json() == {"second_approval_above": None}
    assert AuditEntry.objects.for_shop(shop).filter(action="payout_settings.update").count() == 2
    assert api_client_for(make_member(shop, "admin").user).put(path, {"second_approval_above": "1"},
                                                               format="json").status_code == 403  # fmt: skip


@pytest.mark.django_db
def test_the_list_filters_by_status_newest_first_and_a_bad_status_is_a_400(funded):
    shop = funded
    owner = owner_actor(shop)
    first = services.withdrawal_request(actor=owner, amount="1.00")
    second = services.withdrawal_request(actor=owner, amount="2.00")
    services.withdrawal_cancel(actor=owner, withdrawal=first)
    api = api_client_for(make_member(shop, "finance").user)
    assert [w["id"] for w in api.get(url(shop)).json()["results"]] == [second.pk, first.pk]
    assert [w["id"] for w in api.get(url(shop), {"status": "cancelled"}).json()["results"]] == [first.pk]
    r = api.get(url(shop), {"status": "lost"})
    assert r.status_code == 400 and "status" in r.json()["error"]["fields"]
    assert api.get(url(shop, f"{first.pk}/")).json()["amount"] == "1.00"
    assert api_client_for(make_shop().owner).get(url(shop, f"{first.pk}/")).status_code == 404
    assert api_client_for(make_member(shop, "operator").user).get(url(shop)).status_code == 403


# -- the platform ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_platform_api_needs_payout_staff_and_answers_400_409_404(funded, staff):
    shop = funded
    w = services.withdrawal_request(actor=owner_actor(shop), amount="100.00")
    base = f"/api/v1/platform/withdrawals/{w.pk}/"
    assert api_client_for(shop.owner).post(base + "approve/").status_code == 403  # a shop member
    assert api_client_for(make_platform_user(), reauth=False).get("/api/v1/platform/withdrawals/").status_code == 403
    reader = api_client_for(payout_staff(decide=False), reauth=False)
    assert reader.get(base).json()["shop"] == shop.pk
    assert reader.post(base + "approve/").status_code == 403
    api = api_client_for(staff, reauth=False)
    assert api.post(base + "pay/", {"bank_reference": "X"}, format="json").status_code == 409  # not approved yet
    assert api.post(base + "approve/").json()["status"] == "approved"
    assert api.post(base + "approve/").json()["error"]["code"] == "withdrawal_approved"
    r = api.post(base + "pay/", {}, format="json")
    assert r.status_code == 400 and "bank_reference" in r.json()["error"]["fields"]
    assert api.post(base + "fail/", {"reason": ""}, format="json").status_code == 400
    r = api.post(base + "pay/", {"bank_reference": "SWIFT-1"}, format="json")
    assert r.json()["status"] == "paid" and r.json()["bank_reference"] == "SWIFT-1"
    assert queued(api, shop, status="paid") == [w.pk]
    assert api.get("/api/v1/platform/withdrawals/", {"status": "nope"}).status_code == 400
    assert api.post("/api/v1/platform/withdrawals/999999/approve/").status_code == 404
    assert money(shop) == (D("900.00"), 0, D("100.00"))


@pytest.mark.django_db
def test_admin_actions_call_the_services(funded, staff):
    shop = funded
    owner = owner_actor(shop)
    a = services.withdrawal_request(actor=owner, amount="100.00")
    b = services.withdrawal_request(actor=owner, amount="50.00")
    admin = Client()
    admin.force_login(staff)
    changelist = "/admin/payouts/withdrawal/"
    assert admin.get(changelist).status_code == 200
    assert admin.get(f"{changelist}{a.pk}/change/").status_code == 200  # read-only
    admin.post(changelist, {"action": "approve", "_selected_action": [a.pk, b.pk]})
    assert set(Withdrawal.objects.for_shop(shop).values_list("status", flat=True)) == {S.APPROVED}
    r = admin.post(changelist, {"action": "mark_paid", "_selected_action": [a.pk]})
    assert r.status_code == 200 and b"Bank reference" in r.content  # the intermediate form
    admin.post(changelist, {"action": "mark_paid", "_selected_action": [a.pk], "apply": "1", "bank_reference": "B-1"})
    admin.post(changelist, {"action": "mark_failed", "_selected_action": [b.pk], "apply": "1", "reason": "Closed"})
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.bank_reference, b.status, b.failure_reason) == (S.PAID, "B-1", S.FAILED, "Closed")
    assert money(shop) == (D("900.00"), 0, D("100.00"))
    assert AuditEntry.objects.for_shop(shop).filter(action__in=["withdrawal.pay", "withdrawal.fail"],
                                                    actor=staff).count() == 2  # fmt: skip
    # staff without the decision right are offered no action, and a forged one changes nothing
    c = services.withdrawal_request(actor=owner, amount="1.00")
    viewer = Client()
    viewer.force_login(payout_staff(decide=False))
    assert b"mark_paid" not in viewer.get(changelist).content
    viewer.post(changelist, {"action": "approve", "_selected_action": [c.pk]})
    assert Withdrawal.objects.for_shop(shop).get(pk=c.pk).status == S.REQUESTED
    with pytest.raises(Forbidden):
        services.withdrawal_platform_approve(platform_user=make_platform_user(), withdrawal=c)
    assert_invariants(shop)


# -- pages -------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_pages_request_list_detail_approve_and_cancel(funded):
    shop = funded
    services.payout_settings_update(actor=owner_actor(shop), second_approval_above="500.00")
    owner = web_client_for(shop.owner)
    base = f"/shops/{shop.pk}/payouts/withdrawals/"
    r = owner.get(base)
    assert r.status_code == 200 and b"No withdrawals yet." in r.content
    r = owner.get(base + "new/")
    assert r.status_code == 200 and b"1000.00" in r.content and b"500.00" in r.content
    r = owner.post(base + "new/", {"amount": "abc"})
    assert r.status_code == 400 and b"Enter an amount." in r.content
    r = owner.post(base + "new/", {"amount": "5000.00"})
    assert r.status_code == 409 and b"Not enough money in the balance." in r.content
    r = owner.post(base + "new/", {"amount": "600.00"})
    w = Withdrawal.objects.for_shop(shop).get()
    assert r.status_code == 302 and r["Location"] == f"{base}{w.pk}/" and w.status == S.AWAITING_APPROVAL
    detail = owner.get(f"{base}{w.pk}/")
    assert b'id="approve-withdrawal"' not in detail.content and b'id="cancel-withdrawal"' in detail.content
    assert owner.post(f"{base}{w.pk}/approve/").status_code == 403  # the requester

    finance = web_client_for(make_member(shop, "finance").user)
    assert b'id="approve-withdrawal"' in finance.get(f"{base}{w.pk}/").content
    confirm = finance.get(f"{base}{w.pk}/approve/")
    assert confirm.status_code == 200 and b'id="confirm-approve"' in confirm.content
    assert finance.post(f"{base}{w.pk}/approve/").status_code == 302
    assert Withdrawal.objects.for_shop(shop).get(pk=w.pk).status == S.REQUESTED
    assert finance.post(f"{base}{w.pk}/approve/").status_code == 409
    tabs = owner.get(base + "?status=requested")
    assert tabs.status_code == 200 and f'data-withdrawal="{w.pk}"'.encode() in tabs.content
    assert b"No withdrawals in this status." in owner.get(base + "?status=paid").content
    assert owner.get(base + "?status=bogus").status_code == 302  # a bad filter: back to the list, saying so
    assert owner.get(f"{base}{w.pk}/cancel/").status_code == 200
    assert owner.post(f"{base}{w.pk}/cancel/").status_code == 302
    assert Withdrawal.objects.for_shop(shop).get(pk=w.pk).status == S.CANCELLED
    assert owner.get(f"{base}999999/").status_code == 404
    settings_page = f"/shops/{shop.pk}/payouts/settings/"
    assert owner.post(settings_page, {"second_approval_above": "-5"}).status_code == 400
    assert owner.post(settings_page, {"second_approval_above": ""}).status_code == 302
    assert selectors.payout_settings(shop=shop).second_approval_above is None
    assert money(shop) == (D("1000.00"), 0, 0)


# -- races on PostgreSQL -------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_hundred_requests_of_100_01_against_1000_00_nine_succeed(shop):
    require_postgresql()
    fund(shop)
    owner = owner_actor(shop)
    results = race(100, lambda i: services.withdrawal_request(actor=owner, amount="100.01"), expected=(Conflict,))
    ok = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(ok) == 9 and len(refused) == 91
    assert {c.code for c in refused} == {"insufficient_funds"}
    available, in_transit, _paid = money(shop)
    assert (available, in_transit) == (D("99.91"), D("900.09")) and available + in_transit == D("1000.00")
    assert Withdrawal.objects.for_shop(shop).count() == 9
    assert_invariants(shop)


@pytest.mark.django_db(transaction=True)
def test_racing_platform_approval_against_cancel_exactly_one_wins(shop):
    require_postgresql()
    fund(shop)
    staff = payout_staff()
    owner = owner_actor(shop)
    for _round in range(4):
        w = services.withdrawal_request(actor=owner, amount="10.00")

        def step(i: int, w=w):
            if i % 2:
                return services.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
            return services.withdrawal_cancel(actor=owner, withdrawal=w)

        results = race(2, step, expected=(Conflict,))
        won = [r for r in results if isinstance(r, Withdrawal)]
        lost = [r for r in results if isinstance(r, Conflict)]
        assert len(won) == 1 and len(lost) == 1 and lost[0].code == f"withdrawal_{won[0].status}"
        assert Withdrawal.objects.for_shop(shop).get(pk=w.pk).status == won[0].status
    approved = Withdrawal.objects.for_shop(shop).filter(status=S.APPROVED).count()
    b = balances(shop)
    assert b[A.IN_TRANSIT] == D("10.00") * approved and b[A.AVAILABLE] + b[A.IN_TRANSIT] == D("1000.00")
    assert_invariants(shop)


@pytest.mark.django_db(transaction=True)
def test_a_second_approval_racing_a_cancel_ends_cancelled_with_the_money_back_once(shop):
    """Cancelling stays open after the second approval (until the platform approves): whichever runs first, the
    withdrawal ends cancelled and its money came back exactly once."""
    require_postgresql()
    fund(shop)
    owner = owner_actor(shop)
    services.payout_settings_update(actor=owner, second_approval_above="1.00")
    finance = load_actor(make_member(shop, "finance").user, shop)
    w = services.withdrawal_request(actor=owner, amount="10.00")

    def step(i: int):
        if i % 2:
            return services.withdrawal_second_approve(actor=finance, withdrawal=w)
        return services.withdrawal_cancel(actor=owner, withdrawal=w)

    results = race(2, step, expected=(Conflict,))
    assert isinstance(results[0], Withdrawal) and results[0].status == S.CANCELLED
    assert Withdrawal.objects.for_shop(shop).get(pk=w.pk).status == S.CANCELLED
    assert keys(shop, w) == [f"{w.pk}:request", f"{w.pk}:cancelled"]
    assert money(shop) == (D("1000.00"), 0, 0)
    assert_invariants(shop)


@pytest.mark.django_db
def test_the_audit_log_hides_withdrawal_amounts_from_a_reader_without_payouts_view(funded):
    """A custom role may read the audit log without payouts.view: the withdrawal's amount and the threshold are
    hidden there as everywhere else (and the withdrawal is named by its number, not its amount)."""
    from accounts import services as accounts

    shop = funded
    owner = owner_actor(shop)
    services.payout_settings_update(actor=owner, second_approval_above="777.00")
    services.withdrawal_request(actor=owner, amount="123.45")
    auditor_role = accounts.role_create(actor=owner, name="Auditor", permissions=["accounts.view_audit"])
    auditor = make_member(shop, "viewer")
    accounts.staff_update(actor=owner, membership=auditor, role=auditor_role)
    seen = {}
    for who, user in (("owner", shop.owner), ("auditor", auditor.user)):
        r = api_client_for(user).get(f"/api/v1/shops/{shop.pk}/audit-log/", {"action": "withdrawal.request"})
        assert r.status_code == 200, r.content
        seen[who] = r.content.decode()
    assert "123.45" in seen["owner"]
    r = api_client_for(auditor.user).get(f"/api/v1/shops/{shop.pk}/audit-log/")
    assert "123.45" not in seen["auditor"] and "777.00" not in r.content.decode()
    assert "•••" in seen["auditor"]
