"""Per-object scopes (a member limited to chosen depots), through the kernel's one checker."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import selectors, services
from backoffice.authz import can, load_actor, restrict
from backoffice.errors import Forbidden, ValidationFailed
from tests.fixtures import api_client_for, make_member, make_shop
from tests.scopeapp.models import Depot, Parcel

pytestmark = pytest.mark.django_db


@pytest.fixture
def depots(shop):
    d1, d2, d3 = (Depot.objects.for_shop(shop).create(shop=shop, name=n) for n in ("North", "South", "East"))
    for d in (d1, d2, d3):
        for i in range(3):
            Parcel.objects.for_shop(shop).create(shop=shop, depot=d, label=f"{d.name}-{i}")
    return d1, d2, d3


def test_scoped_member_sees_only_granted_objects(shop, depots):
    d1, d2, _d3 = depots
    m = make_member(shop, "operator", scopes={"depot": [d1.pk, d2.pk]})
    actor = load_actor(m.user, shop)
    visible = restrict(Parcel.objects.for_shop(shop), actor, "catalog.view")
    assert {p.depot_id for p in visible} == {d1.pk, d2.pk}
    assert set(restrict(Depot.objects.for_shop(shop), actor, "catalog.view")) == {d1, d2}
    assert can(actor, "catalog.view", Parcel.objects.for_shop(shop).filter(depot=d1).first())
    assert not can(actor, "catalog.view", Parcel.objects.for_shop(shop).exclude(depot__in=[d1, d2]).first())
    # Unscoped members see everything; a member limited to nothing sees nothing (fails closed).
    assert restrict(Parcel.objects.for_shop(shop), load_actor(shop.owner, shop), "catalog.view").count() == 9
    empty = make_member(shop, "operator", scopes={"depot": []})
    assert restrict(Parcel.objects.for_shop(shop), load_actor(empty.user, shop), "catalog.view").count() == 0


def test_scope_costs_constant_queries(shop, depots):
    m = make_member(shop, "operator", scopes={"depot": [d.pk for d in depots]})
    with CaptureQueriesContext(connection) as ctx:
        actor = load_actor(m.user, shop)
        list(restrict(Parcel.objects.for_shop(shop), actor, "catalog.view"))
    assert len(ctx.captured_queries) == 4  # membership, permissions, depot scope, the list


def test_scoped_manager_cannot_widen(shop, depots):
    d1, d2, _d3 = depots
    manager = make_member(shop, "admin", scopes={"depot": [d1.pk]})
    actor = load_actor(manager.user, shop)
    with pytest.raises(Forbidden) as exc:
        make_member(shop, "viewer", actor=actor)  # unscoped = wider than the manager
    assert exc.value.code == "scope_ceiling"
    with pytest.raises(Forbidden):
        make_member(shop, "viewer", actor=actor, scopes={"depot": [d1.pk, d2.pk]})
    report = make_member(shop, "viewer", actor=actor, scopes={"depot": [d1.pk]})
    # The owner widens the report: the scoped manager may no longer manage them.
    services.staff_update(actor=load_actor(shop.owner, shop), membership=report, scopes={"depot": [d1.pk, d2.pk]})
    with pytest.raises(Forbidden):
        services.staff_deactivate(actor=actor, membership=report)


def test_scope_objects_must_belong_to_the_shop(shop, depots):
    other = make_shop()
    foreign = Depot.objects.for_shop(other).create(shop=other, name="Foreign")
    with pytest.raises(ValidationFailed):
        make_member(shop, "operator", scopes={"depot": [foreign.pk]})
    with pytest.raises(ValidationFailed):
        make_member(shop, "operator", scopes={"nowhere": [1]})


def test_scope_through_the_api_and_access_explained(shop, depots):
    d1 = depots[0]
    api = api_client_for(shop.owner)
    r = api.post(
        f"/api/v1/shops/{shop.pk}/staff/",
        {
            "username": "scoped",
            "email": "s@example.com",
            "password": "s3cret-Pass-1",
            "role": "operator",
            "scope": {"depot": [d1.pk]},
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    member_id = r.json()["id"]
    assert r.json()["scope_types"] == ["depot"]
    access = api.get(f"/api/v1/shops/{shop.pk}/staff/{member_id}/access/").json()
    assert access["scopes"] == {"depot": [d1.pk]}
    r = api.patch(f"/api/v1/shops/{shop.pk}/staff/{member_id}/", {"scope": {}}, format="json")
    assert r.status_code == 200 and r.json()["scope_types"] == []
    from accounts.models import Membership

    assert selectors.member_scopes(membership=Membership.objects.for_shop(shop).get(pk=member_id)) == {}
