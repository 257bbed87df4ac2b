"""The permission matrix of SPEC §1, from one table: every role template × every action.

``SPEC_MATRIX`` is copied from the spec by hand (not derived from the code), so a drift between
the code's role templates and the contract fails here. Every route and method the URL resolver
knows is then exercised per role from the probe table (tests/shop_routes.py): allowed → the probe's
status and its declared effect, not allowed → 403 and nothing changed.
"""

import pytest

from backoffice.authz import can, load_actor
from backoffice.authz.actions import ACTIONS, NON_DELEGABLE, ROLE_TEMPLATES
from tests.fixtures import api_client_for, web_client_for
from tests.shop_routes import ANY_MEMBER, NON_MEMBER_ROUTES, PROBES, all_routes, send, unprobed

ROLES = ["admin", "operator", "support", "finance", "viewer"]
A, O, S, F, V = ROLES  # noqa: E741
SPEC_MATRIX: dict[str, set[str]] = {
    "catalog.view": {A, O, S, F, V},
    "catalog.edit": {A, O},
    "catalog.publish": {A, O},
    "catalog.manage_stock": {A, O},
    "catalog.view_cost": {A, F},
    "orders.view": {A, O, S, F, V},
    "orders.process": {A, O},
    "orders.cancel": {A, O},
    "orders.manage_returns": {A, O, S},
    "orders.refund": {A, F},
    "orders.view_buyer_contact": {A, O, S},
    "orders.export": {A, O, F},
    "promotions.view": {A, O, S, F, V},
    "promotions.manage": {A, O},
    "promotions.manage_ads": {A, O},
    "payouts.view": {A, F},
    "payouts.withdraw": {F},
    "payouts.approve": {F},  # issue #13: the second approver of large withdrawals (finance holds view and approve)
    "support.reply": {A, S},
    "support.view_all": {A},
    "support.manage_routing": {A},
    "support.manage_reviews": {A, S},
    "support.manage_complaints": {A, S},
    "analytics.view": {A, O, F, V},
    "analytics.export": {A, F},
    "analytics.manage_schedules": {A, F},
    "accounts.manage_staff": {A},
    "accounts.view_audit": {A},
    "accounts.manage_settings": {A},
}


def test_every_catalog_action_has_a_matrix_row():
    assert set(SPEC_MATRIX) == set(ACTIONS), "an action in the catalog has no row in SPEC_MATRIX (or vice versa)"
    assert set(ROLE_TEMPLATES) == set(ROLES)
    assert {"payouts.withdraw"} == NON_DELEGABLE


@pytest.mark.parametrize("action", sorted(SPEC_MATRIX))
def test_checker_matches_matrix(action, world):
    for role in ROLES:
        actor = load_actor(world.members[role].user, world.shop)
        assert can(actor, action) == (role in SPEC_MATRIX[action]), (role, action)
    assert can(load_actor(world.shop.owner, world.shop), action), "the owner holds every action"


# Today's floor: a refactor that makes the resolver walk find fewer routes fails here, not silently.
MIN_MEMBER_ROUTES, MIN_MEMBER_ROUTE_METHODS = 110, 150


def test_every_route_and_method_has_a_probe(world):
    routes = all_routes()
    names = {r.name for r in routes}
    member_routes = [r for r in routes if r.name not in NON_MEMBER_ROUTES]
    assert len(member_routes) >= MIN_MEMBER_ROUTES, f"only {len(member_routes)} member routes found"
    assert sum(len(r.methods) for r in member_routes) >= MIN_MEMBER_ROUTE_METHODS
    missing = unprobed(PROBES, world)
    assert not missing, f"routes/methods with no probe in the probe table: {missing}"
    assert not {p.route for p in PROBES} - names, "a probe names a route the resolver does not know"
    assert not set(NON_MEMBER_ROUTES) - names, "NON_MEMBER_ROUTES names a route the resolver does not know"
    assert all(p.action == ANY_MEMBER or p.action in ACTIONS for p in PROBES)
    assert all(p.method in r.methods for p in PROBES for r in routes if r.name == p.route), "a probe's method 405s"


def test_every_write_probe_declares_its_effect():
    silent = [p.id for p in PROBES if p.writes and p.effect is None]
    assert not silent, f"write probes without an effect (the matrix cannot tell success from a no-op): {silent}"


def _allowed(role: str, action: str) -> bool:
    return role == "owner" or action == ANY_MEMBER or role in SPEC_MATRIX[action]


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
@pytest.mark.parametrize("role", ["owner", *ROLES])
def test_route_answers_per_matrix(role, probe, world):
    """Allowed: the probe's status and its effect (the rows it is about changed; a list is not empty).
    Refused: 403 and the rows unchanged."""
    user = world.members[role].user
    client = api_client_for(user) if probe.api else web_client_for(user)
    allowed = _allowed(role, probe.action)
    before = probe.effect(world) if probe.effect else None
    response = send(client, probe, world)
    expected = probe.ok if allowed else 403
    assert response.status_code == expected, (role, probe.id, getattr(response, "content", b"")[:300])
    if probe.effect:
        after = probe.effect(world)
        if allowed:
            assert after != before, f"{probe.id} as {role} answered {expected} but changed nothing: {after}"
        else:
            assert after == before, f"{probe.id} refused to {role} yet changed {before} -> {after}"
    if not allowed and probe.api:
        assert response.json()["error"]["code"] in ("permission_denied", "forbidden")
    if allowed and probe.api and probe.method == "get" and response["Content-Type"].startswith("application/json"):
        data = response.json()
        if isinstance(data, dict) and "results" in data:
            assert data["results"], f"{probe.id} as {role}: the list came back empty (the world has rows for it)"
