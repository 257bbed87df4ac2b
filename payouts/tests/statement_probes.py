"""The statements' rows of the probe table (added to ``payouts/tests/probes.py``): the files (a month, a payout,
the reconciliation export; their parameters default to the current month), the background statements and the
statements page.

The world's shop gets a paid withdrawal of 5.00 (the payout statement's subject) and a finished month statement
(the job the retrieve and download probes read)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from backoffice.authz import system_actor
from payouts import services
from payouts.models import StatementJob
from payouts.services import withdrawals
from tests.fixtures import owner_actor
from tests.shop_routes import Probe, count_of

API = "api:payouts_api:"
UI = "payouts:"


def paid_withdrawal(shop, amount: str = "5.00"):
    """A withdrawal requested by the owner, approved and paid by a platform superuser."""
    User = get_user_model()
    staff = User.objects.filter(username="statement-probe-staff").first() or User.objects.create_superuser(
        username="statement-probe-staff", email="statement-probe-staff@example.com", password="x-probe-pass-1"
    )
    w = withdrawals.withdrawal_request(actor=owner_actor(shop), amount=amount)
    w = withdrawals.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    return withdrawals.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference="PROBE-1")


def extend_world(world) -> None:
    """Call after the withdrawals' ``extend_world`` (it puts money in ``available``)."""
    shop = world.shop
    world.objects["statement_payout"] = paid_withdrawal(shop)
    job = services.statement_export_create(
        actor=owner_actor(shop), kind="month", fmt="csv", params={"month": "2026-01"}
    )
    world.objects["statement_job"] = services.statement_export_build(actor=system_actor(shop), job_id=job.pk)


def snapshot(shop) -> dict:
    return {"statement_jobs": list(StatementJob.objects.for_shop(shop).order_by("id").values_list("id", "status"))}


def _payout(w):
    return {"withdrawal": w.objects["statement_payout"].pk}


def _job(w):
    return {"pk": w.objects["statement_job"].pk}


_month_job = {"kind": "month", "month": "2026-11", "format": "csv"}

PROBES: list[Probe] = [
    Probe(API + "statements", "get", "payouts.view", 200),
    Probe(API + "statement-payout", "get", "payouts.view", 200, kwargs=_payout),
    Probe(API + "reconciliation", "get", "payouts.view", 200),
    Probe(API + "statement-exports-list", "get", "payouts.view", 200),
    Probe(
        API + "statement-exports-list",
        "post",
        "payouts.view",
        201,
        body=lambda w: dict(_month_job),
        effect=count_of(StatementJob),
    ),  # fmt: skip
    Probe(API + "statement-exports-detail", "get", "payouts.view", 200, kwargs=_job),
    Probe(API + "statement-exports-download", "get", "payouts.view", 200, kwargs=_job),
    Probe(UI + "statements", "get", "payouts.view", 200, api=False),
    Probe(
        UI + "statements",
        "post",
        "payouts.view",
        302,
        api=False,
        body=lambda w: dict(_month_job),
        effect=count_of(StatementJob),
    ),  # fmt: skip
    Probe(UI + "statement_month", "get", "payouts.view", 200, api=False),
    Probe(UI + "statement_payout", "get", "payouts.view", 200, api=False, kwargs=_payout),
    Probe(UI + "reconciliation", "get", "payouts.view", 200, api=False),
    Probe(UI + "statement_job_download", "get", "payouts.view", 200, api=False, kwargs=_job),
]
