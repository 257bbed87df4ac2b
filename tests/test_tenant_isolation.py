"""Tenant isolation, swept over every shop route from the URL resolver (via the one probe table).

A member of shop B — even its owner, who holds every action there — gets 404 for shop A's URLs
and for A's objects under B's own URL, 400/404 for A's objects named in the body of a request to B,
and nothing in either shop changes (checked by snapshot).
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
from tests.shop_routes import (
    PROBES,
    app_probe_modules,
    body_refs,
    keyed_prefixes,
    leaf_paths,
    send,
    swap_ref,
    unprobed,
)


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


def test_the_sweep_covers_every_route(world):
    assert not unprobed(PROBES, world)
    assert sum(len(p.refs) for p in PROBES) >= MIN_BODY_REFS, "the body-reference sweep lost its cases"


# Today's floor of body references (order, ids, sku, warehouse, manager, role, ...) the sweep swaps.
MIN_BODY_REFS = 30


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_other_shops_member_gets_404_and_changes_nothing(probe, world, other_world):
    victim, intruder = world, other_world
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


REF_CASES = [(probe, ref) for probe in PROBES for ref in probe.refs]


@pytest.mark.parametrize(("probe", "ref"), REF_CASES, ids=[f"{p.id}:{ref}" for p, ref in REF_CASES])
def test_another_shops_object_in_the_body_is_refused(probe, ref, world, other_world):
    """The owner of shop B, on B's own URL with B's own objects, names one of shop A's objects in one body
    field: 400/404, and neither shop changes (not A's object, not half of B's action)."""
    victim, intruder = world, other_world
    body = swap_ref(probe.body(intruder), probe.body(victim), ref)
    before = snapshot(victim.shop), snapshot(intruder.shop)
    user = intruder.shop.owner
    client = api_client_for(user) if probe.api else web_client_for(user)
    response = send(client, probe, intruder, body=body)
    assert response.status_code in (400, 404), (probe.id, ref, response.status_code, response.content[:300])
    assert (snapshot(victim.shop), snapshot(intruder.shop)) == before, (probe.id, ref)


def test_body_refs_are_declared(world, other_world):
    """Every body value that names an object of the shop (an id that differs between two shops' worlds but
    not between two calls on the same world) is declared in the probe's ``refs``, and every declared ref is
    in the body: a new probe cannot leave a reference out of the sweep."""
    undeclared, stale = [], []
    for probe in PROBES:
        if not probe.writes:
            continue
        found = body_refs(probe.body(world), probe.body(world), probe.body(other_world))
        undeclared += [f"{probe.id}: {ref}" for ref in sorted(found - set(probe.refs))]
        paths = set(leaf_paths(probe.body(world))) | {f"key:{prefix}" for prefix in keyed_prefixes(probe.body(world))}
        stale += [f"{probe.id}: {ref}" for ref in probe.refs if ref not in paths]
    assert not undeclared, f"body fields naming the shop's objects, not in the probe's refs: {undeclared}"
    assert not stale, f"refs that are not in the probe's body: {stale}"


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_deactivated_member_is_treated_as_outsider(probe, world, other_world):
    w = world
    ex_admin = w.members["admin"]
    from accounts import services
    from tests.fixtures import owner_actor

    # A second shop keeps the user active, so only membership decides.
    other = other_world
    Membership.objects.for_shop(other.shop).create(shop=other.shop, user=ex_admin.user,
                                                   role=Role.objects.for_shop(other.shop).get(key="viewer"))  # fmt: skip
    client = api_client_for(ex_admin.user) if probe.api else web_client_for(ex_admin.user)
    services.staff_deactivate(actor=owner_actor(w.shop), membership=ex_admin)
    before = snapshot(w.shop)
    assert send(client, probe, w).status_code == 404
    assert snapshot(w.shop) == before


def test_anonymous_requests_are_refused(client, world):
    from rest_framework.test import APIClient

    api = APIClient()
    before = snapshot(world.shop)
    for probe in PROBES:
        response = send(api if probe.api else client, probe, world)
        if probe.api:
            assert response.status_code in (401, 403), probe.id
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], probe.id
    assert snapshot(world.shop) == before
