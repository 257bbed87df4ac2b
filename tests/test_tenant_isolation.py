"""Tenant isolation, swept over every shop route from the URL resolver (via the one probe table).

A member of shop B — even its owner, who holds every action there — gets 404 for shop A's URLs
and for A's objects under B's own URL, and nothing in shop A changes.
"""

import pytest
from django.forms.models import model_to_dict

from accounts.models import (
    AuditEntry,
    Membership,
    Notification,
    NotificationPreference,
    Role,
    Shop,
    ShopGroupObjectPermission,
    ShopUserObjectPermission,
)
from tests.fixtures import api_client_for, web_client_for
from tests.shop_routes import PROBES, World, app_probe_modules, send, shop_routes


def snapshot(shop: Shop) -> dict:
    """Everything of shop A that a request could change."""
    return {
        "shop": model_to_dict(Shop.objects.get(pk=shop.pk)),
        "members": [model_to_dict(m) for m in Membership.objects.for_shop(shop).order_by("id")],
        "users": list(Membership.objects.for_shop(shop).order_by("id").values_list("user__email", "user__is_active")),
        "roles": [model_to_dict(r) for r in Role.objects.for_shop(shop).order_by("id")],
        "role_grants": sorted(
            ShopGroupObjectPermission.objects.filter(content_object=shop).values_list("group_id", "permission_id")
        ),
        "extra_grants": sorted(
            ShopUserObjectPermission.objects.filter(content_object=shop).values_list("user_id", "permission_id")
        ),
        "audit": AuditEntry.objects.for_shop(shop).count(),
        "notifications": list(Notification.objects.for_shop(shop).order_by("id").values_list("id", "read_at")),
        "notification_preferences": list(
            NotificationPreference.objects.for_shop(shop)
            .order_by("id")
            .values_list("user_id", "kind", "in_app", "email")
        ),
        **{
            f"{module.__name__}:{key}": value
            for module in app_probe_modules()
            if hasattr(module, "snapshot")
            for key, value in module.snapshot(shop).items()
        },
    }


def test_the_sweep_covers_every_shop_route():
    assert shop_routes() <= {p.route for p in PROBES}


@pytest.mark.django_db
@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_other_shops_member_gets_404_and_changes_nothing(probe):
    victim = World.build("Victim")
    intruder = World.build("Intruder")
    before = snapshot(victim.shop)
    user = intruder.shop.owner
    client = api_client_for(user) if probe.api else web_client_for(user)

    # Shop A's URL, shop A's objects.
    response = send(client, probe, victim)
    assert response.status_code == 404, (probe.id, response.status_code)

    # Own shop's URL with shop A's object ids.
    if set(probe.kwargs(victim)) - {"shop"}:
        response = send(client, probe, victim, shop=intruder.shop)
        assert response.status_code == 404, (probe.id, "cross-shop object", response.status_code)

    assert snapshot(victim.shop) == before


@pytest.mark.django_db
@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_deactivated_member_is_treated_as_outsider(probe):
    w = World.build()
    ex_admin = w.members["admin"]
    from accounts import services
    from tests.fixtures import owner_actor

    # A second shop keeps the user active, so only membership decides.
    other = World.build("Elsewhere")
    Membership.objects.for_shop(other.shop).create(shop=other.shop, user=ex_admin.user,
                                                   role=Role.objects.for_shop(other.shop).get(key="viewer"))  # fmt: skip
    client = api_client_for(ex_admin.user) if probe.api else web_client_for(ex_admin.user)
    services.staff_deactivate(actor=owner_actor(w.shop), membership=ex_admin)
    assert send(client, probe, w).status_code == 404


def test_anonymous_requests_are_refused(client, db):
    w = World.build()
    from rest_framework.test import APIClient

    api = APIClient()
    for probe in PROBES:
        response = send(api if probe.api else client, probe, w)
        if probe.api:
            assert response.status_code in (401, 403), probe.id
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], probe.id
