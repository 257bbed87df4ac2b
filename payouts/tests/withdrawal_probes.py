"""The withdrawals' rows of the probe table (added to ``payouts/tests/probes.py``): the shop's API and pages.
The platform's routes (``api:payouts_api:platform-withdrawals-*``) are not a member's: they are in
``NON_MEMBER_ROUTES``, tested in ``payouts/tests/test_withdrawals.py``.

The world's shop gets 1,000.00 available (an adjustment), a threshold of 500.00, a withdrawal awaiting its second
approval requested by a second finance member (so the owner and the world's finance member may approve it) and a
``requested`` one by the world's finance member (so the owner and that member may cancel it), and one the platform
approved (for the platform API's fuzz)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from backoffice.authz import load_actor
from payouts import services as ledger
from payouts.models import Account, Kind, PayoutSettings, Withdrawal
from payouts.services import withdrawals as services
from tests.fixtures import make_member, make_platform_user, owner_actor
from tests.shop_routes import Probe, count_of, fields_of

API = "api:payouts_api:"
UI = "payouts:"


def extend_world(world) -> None:
    shop = world.shop
    ledger.post(shop=shop, kind=Kind.ADJUSTMENT, key="probe-fund",
                entries=[(Account.ADJUSTMENTS, Decimal("-1000.00")), (Account.AVAILABLE, Decimal("1000.00"))])  # fmt: skip
    services.payout_settings_update(actor=owner_actor(shop), second_approval_above="500.00")
    second = make_member(shop, "finance")
    world.objects["payouts_awaiting"] = services.withdrawal_request(actor=load_actor(second.user, shop),
                                                                    amount="600.00")  # fmt: skip
    finance = load_actor(world.members["finance"].user, shop)
    world.objects["payouts_requested"] = services.withdrawal_request(actor=finance, amount="10.00")
    # One the platform has approved (the platform API's "pay" acts on it: tests/fuzz_world.py).
    clerk = make_platform_user()
    clerk.user_permissions.add(*Permission.objects.filter(content_type__app_label="payouts",
                                                          codename__in=["view_withdrawal", "change_withdrawal"]))  # fmt: skip
    approved = services.withdrawal_request(actor=finance, amount="20.00")
    clerk = get_user_model().objects.get(pk=clerk.pk)
    world.objects["payouts_approved"] = services.withdrawal_platform_approve(platform_user=clerk, withdrawal=approved)


def snapshot(shop) -> dict:
    return {
        "withdrawals": list(Withdrawal.objects.for_shop(shop).order_by("id").values_list("id", "status", "amount")),
        "payout_settings": list(PayoutSettings.objects.for_shop(shop).values_list("second_approval_above")),
    }


def _awaiting(w):
    return w.objects["payouts_awaiting"]


def _requested(w):
    return w.objects["payouts_requested"]


def _pk(pick):
    return lambda w: {"pk": pick(w).pk}


_status_of_awaiting = fields_of(Withdrawal, _awaiting, "status")
_status_of_requested = fields_of(Withdrawal, _requested, "status")
_threshold = count_of(PayoutSettings, second_approval_above=Decimal("777.00"))

PROBES: list[Probe] = [
    Probe(API + "withdrawals-list", "get", "payouts.view", 200),
    Probe(API + "withdrawals-list", "post", "payouts.withdraw", 201, body=lambda w: {"amount": "1.00"},
          effect=count_of(Withdrawal)),
    Probe(API + "withdrawals-detail", "get", "payouts.view", 200, kwargs=_pk(_requested)),
    Probe(API + "withdrawals-approve", "post", "payouts.approve", 200, kwargs=_pk(_awaiting),
          effect=_status_of_awaiting),
    Probe(API + "withdrawals-cancel", "post", "payouts.withdraw", 200, kwargs=_pk(_requested),
          effect=_status_of_requested),
    Probe(API + "payout-settings", "get", "payouts.view", 200),
    Probe(API + "payout-settings", "put", "payouts.withdraw", 200, body=lambda w: {"second_approval_above": "777.00"},
          effect=_threshold),
    Probe(UI + "withdrawal_list", "get", "payouts.view", 200, api=False),
    Probe(UI + "withdrawal_request", "get", "payouts.withdraw", 200, api=False),
    Probe(UI + "withdrawal_request", "post", "payouts.withdraw", 302, api=False, body=lambda w: {"amount": "1.00"},
          effect=count_of(Withdrawal)),
    Probe(UI + "withdrawal_detail", "get", "payouts.view", 200, api=False, kwargs=_pk(_requested)),
    Probe(UI + "withdrawal_approve", "get", "payouts.approve", 200, api=False, kwargs=_pk(_awaiting)),
    Probe(UI + "withdrawal_approve", "post", "payouts.approve", 302, api=False, kwargs=_pk(_awaiting),
          effect=_status_of_awaiting),
    Probe(UI + "withdrawal_cancel", "get", "payouts.withdraw", 200, api=False, kwargs=_pk(_requested)),
    Probe(UI + "withdrawal_cancel", "post", "payouts.withdraw", 302, api=False, kwargs=_pk(_requested),
          effect=_status_of_requested),
    Probe(UI + "payout_settings", "get", "payouts.withdraw", 200, api=False),
    Probe(UI + "payout_settings", "post", "payouts.withdraw", 302, api=False,
          body=lambda w: {"second_approval_above": "777.00"}, effect=_threshold),
]  # fmt: skip
