"""The one checker's own rules, on the test-only scope app: shops compared by pk, non-actors refused,
multi-valued scope paths, the system actor, and the one visibility rule for background jobs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.audit import audit_record
from backoffice.authz import can, in_scope, job_scope_of, load_actor, require, restrict, system_actor
from backoffice.errors import Forbidden, NotFound
from tests.fixtures import make_member
from tests.scopeapp.models import Depot, Leg, Parcel, Route, ScopeJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def depots(shop):
    return [Depot.objects.for_shop(shop).create(shop=shop, name=n) for n in ("North", "South", "East")]


def test_can_compares_shops_by_pk(shop, other_shop):
    owner = load_actor(shop.owner, shop)
    assert can(owner, "accounts.manage_settings", shop)
    assert not can(owner, "accounts.manage_settings", other_shop)
    foreign_depot = Depot.objects.for_shop(other_shop).create(shop=other_shop, name="Theirs")
    assert not can(owner, "catalog.view", foreign_depot)
    assert set(restrict(type(shop).objects.all(), owner, "catalog.view")) == {shop}


def test_can_refuses_what_it_cannot_place(shop):
    owner = load_actor(shop.owner, shop)
    with pytest.raises(TypeError):
        can(owner, "catalog.view", shop.owner)  # a user is neither a shop nor shop-owned
    with pytest.raises(TypeError):
        can(shop.owner, "catalog.view")  # a bare user is not an actor
    with pytest.raises(TypeError):
        restrict(Depot.objects.for_shop(shop), shop.owner, "catalog.view")
    assert can(None, "catalog.view") is False


def test_require_is_a_service_check(shop, other_shop, depots):
    north, south, _east = depots
    viewer = load_actor(make_member(shop, "viewer", scopes={"depot": [north.pk]}).user, shop)
    with pytest.raises(TypeError):
        require(shop.owner, "catalog.view")
    assert require(viewer, "catalog.view", north) is viewer
    with pytest.raises(Forbidden):
        require(viewer, "catalog.edit", north)  # action not held
    with pytest.raises(Forbidden) as exc:
        require(viewer, "catalog.view", south)  # outside the depot scope
    assert exc.value.code == "out_of_scope"
    with pytest.raises(NotFound):
        require(viewer, "catalog.view", Depot.objects.for_shop(other_shop).create(shop=other_shop, name="X"))


def test_system_actor_holds_everything_and_names_its_user(shop, depots):
    actor = system_actor(shop, user=shop.owner)
    assert actor.is_system and not actor.scopes
    assert all(require(actor, action) for action in ("payouts.withdraw", "catalog.edit", "orders.refund"))
    assert actor.audit_user == shop.owner
    assert system_actor(shop).audit_user is None
    with pytest.raises(TypeError):
        system_actor(shop.pk)
    entry = audit_record(shop=shop, actor=system_actor(shop), action="test.system", target=depots[0])
    assert entry.actor_id is None and entry.membership_id is None
    with pytest.raises(TypeError):
        audit_record(shop=shop, actor=shop.owner, action="test.user", target=depots[0])


def test_multi_valued_scope_paths(shop, depots):
    """A route is in scope when any of its legs is: restrict (EXISTS) and can (.exists()) agree."""
    north, south, east = depots
    routes = {}
    for name, stops in {"n": [north], "ns": [north, south], "e": [east], "none": []}.items():
        route = routes[name] = Route.objects.for_shop(shop).create(shop=shop, name=name)
        for depot in stops:
            Leg.objects.for_shop(shop).create(shop=shop, route=route, depot=depot)
    cases = {
        (north.pk,): {"n", "ns"},
        (south.pk,): {"ns"},
        (east.pk, south.pk): {"ns", "e"},
        (): set(),
    }
    for allowed, expected in cases.items():
        actor = load_actor(make_member(shop, "viewer", scopes={"depot": list(allowed)}).user, shop)
        with CaptureQueriesContext(connection) as ctx:
            visible = {r.name for r in restrict(Route.objects.for_shop(shop), actor, "catalog.view")}
        assert visible == expected, allowed
        assert len(ctx.captured_queries) == 1
        assert not allowed or "EXISTS" in ctx.captured_queries[0]["sql"]
        for name, route in routes.items():
            assert can(actor, "catalog.view", route) == (name in expected), (allowed, name)
    owner = load_actor(shop.owner, shop)
    assert restrict(Route.objects.for_shop(shop), owner, "catalog.view").count() == 4
    assert all(in_scope(owner, route) for route in routes.values())


def test_single_valued_paths_unchanged(shop, depots):
    north, south, _east = depots
    parcels = [Parcel.objects.for_shop(shop).create(shop=shop, depot=d, label=d.name) for d in depots]
    actor = load_actor(make_member(shop, "viewer", scopes={"depot": [north.pk, south.pk]}).user, shop)
    assert {p.depot_id for p in restrict(Parcel.objects.for_shop(shop), actor, "catalog.view")} == {north.pk, south.pk}
    assert [can(actor, "catalog.view", p) for p in parcels] == [True, True, False]


def test_one_visibility_rule_for_background_jobs(shop, depots):
    """A scoped member sees the jobs they started and those whose recorded scope lies within theirs;
    never an unscoped member's job (it may cover any depot)."""
    north, south, _east = depots
    owner = load_actor(shop.owner, shop)
    narrow = load_actor(make_member(shop, "admin", scopes={"depot": [north.pk]}).user, shop)
    wide = load_actor(make_member(shop, "admin", scopes={"depot": [north.pk, south.pk]}).user, shop)
    other_narrow = load_actor(make_member(shop, "admin", scopes={"depot": [south.pk]}).user, shop)

    def job_of(actor):
        return ScopeJob.objects.for_shop(shop).create(shop=shop, created_by=actor.user, scope=job_scope_of(actor))

    jobs = {"owner": job_of(owner), "narrow": job_of(narrow), "wide": job_of(wide), "other": job_of(other_narrow)}
    assert jobs["owner"].scope == {} and jobs["wide"].scope == {"depot": sorted([north.pk, south.pk])}
    expected = {
        "owner": set(jobs),
        "narrow": {"narrow"},
        "wide": {"narrow", "wide", "other"},
        "other": {"other"},
    }
    for who, actor in {"owner": owner, "narrow": narrow, "wide": wide, "other": other_narrow}.items():
        seen = {
            name
            for name, job in jobs.items()
            if job in restrict(ScopeJob.objects.for_shop(shop), actor, "catalog.view")
        }
        assert seen == expected[who], who
        assert {name for name, job in jobs.items() if can(actor, "catalog.view", job)} == expected[who], who
