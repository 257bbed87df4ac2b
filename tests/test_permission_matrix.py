"""The permission matrix of SPEC §1, from one table: every role template × every action.

``SPEC_MATRIX`` is copied from the spec by hand (not derived from the code), so a drift between
the code's role templates and the contract fails here. Every shop route is then exercised per
role: allowed → it works, not allowed → 403.
"""

import pytest

from backoffice.authz import can, load_actor
from backoffice.authz.actions import ACTIONS, NON_DELEGABLE, ROLE_TEMPLATES
from tests.fixtures import api_client_for, web_client_for
from tests.shop_routes import ANY_MEMBER, PROBES, World, send, shop_routes

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


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(SPEC_MATRIX))
def test_checker_matches_matrix(action):
    w = World.build()
    for role in ROLES:
        actor = load_actor(w.members[role].user, w.shop)
        assert can(actor, action) == (role in SPEC_MATRIX[action]), (role, action)
    assert can(load_actor(w.shop.owner, w.shop), action), "the owner holds every action"


def test_every_shop_route_is_in_the_probe_table():
    probed = {p.route for p in PROBES}
    missing = shop_routes() - probed
    assert not missing, f"shop routes with no probe in tests/shop_routes.py: {sorted(missing)}"
    assert all(p.action == ANY_MEMBER or p.action in ACTIONS for p in PROBES)


def _allowed(role: str, action: str) -> bool:
    return role == "owner" or action == ANY_MEMBER or role in SPEC_MATRIX[action]


@pytest.mark.django_db
@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
@pytest.mark.parametrize("role", ["owner", *ROLES])
def test_route_answers_per_matrix(role, probe):
    w = World.build()
    user = w.members[role].user
    client = api_client_for(user) if probe.api else web_client_for(user)
    response = send(client, probe, w)
    expected = probe.ok if _allowed(role, probe.action) else 403
    assert response.status_code == expected, (role, probe.id, getattr(response, "content", b"")[:300])
    if expected == 403 and probe.api:
        assert response.json()["error"]["code"] in ("permission_denied", "forbidden")
