"""Delegation invariants under generated sequences of grants (hypothesis).

Whatever the owner and the members do to each other, in any order:
- nobody grants an action they do not hold at that moment;
- only the owner hands out owner-only actions: a step by anyone else gives nobody one they did not hold;
- a deactivated member holds nothing; the owner is never deactivated;
- a refused change leaves everything exactly as it was (a refused create leaves no user and no membership).
"""

import itertools

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import selectors, services
from accounts.models import Membership, Role, User
from backoffice.authz import load_actor
from backoffice.authz.actions import ACTION_CODES, NON_DELEGABLE
from backoffice.errors import ServiceError
from tests.fixtures import make_member, make_shop

_seq = itertools.count(1)

perm_sets = st.frozensets(st.sampled_from(ACTION_CODES), max_size=6)
ops = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 20), st.integers(0, 20), perm_sets),
    st.tuples(st.just("update"), st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), perm_sets),
    st.tuples(st.just("role_create"), st.integers(0, 20), perm_sets),
    st.tuples(st.just("role_update"), st.integers(0, 20), st.integers(0, 20), perm_sets),
    st.tuples(st.just("deactivate"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("reactivate"), st.integers(0, 20), st.integers(0, 20)),
)


def perms_of(m: Membership) -> frozenset[str]:
    m.refresh_from_db()
    return selectors.member_permissions(membership=m)


def state_of(m: Membership) -> tuple:
    """What a refused change must leave as it was (read afresh)."""
    perms = perms_of(m)
    return (m.role_id, m.manager_id, m.is_active, perms)


@pytest.fixture
def staffed_shop(db):
    """Built once for all the generated examples of a test; each example runs in a savepoint rolled back."""
    shop = make_shop()
    admin = make_member(shop, "admin")
    make_member(shop, "admin")
    make_member(shop, "operator", manager=admin)
    make_member(shop, "support", manager=admin)
    owner = load_actor(shop.owner, shop)
    # Something to reactivate and a custom role to edit from the start (the templates are fixed).
    services.staff_deactivate(actor=owner, membership=make_member(shop, "viewer", manager=admin))
    packers = services.role_create(actor=owner, name="Packers", permissions=["orders.view", "orders.process"])
    make_member(shop, packers.key, manager=admin)
    return shop


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=st.lists(ops, min_size=1, max_size=10))
def test_no_sequence_of_grants_escapes_the_ceiling(staffed_shop, steps):
    with transaction.atomic():
        cache.clear()  # the access cache must not remember a rolled-back example
        try:
            _run_steps(staffed_shop, steps)
        finally:
            transaction.set_rollback(True)


def _run_steps(shop, steps) -> None:

    def everyone() -> list[Membership]:
        """The staff, then the owner: all of them may act (when active) and be acted on."""
        return list(Membership.objects.for_shop(shop).select_related("role", "user").order_by("is_owner", "id"))

    def roles() -> list[Role]:
        return list(Role.objects.for_shop(shop).order_by("id"))

    def pick(rows: list, n: int, preferred: list):
        """Mostly one of ``preferred`` (the cases that can succeed), sometimes any row."""
        pool = preferred if preferred and n % 4 else rows
        return pool[n % len(pool)]

    def owner_only_held() -> dict[int, frozenset[str]]:
        return {m.pk: selectors.member_permissions(membership=m) & NON_DELEGABLE for m in everyone() if not m.is_owner}

    for step in steps:
        kind, who = step[0], step[1]
        acting = [m for m in everyone() if m.is_active]
        managers = [
            m for m in acting if m.is_owner or "accounts.manage_staff" in selectors.member_permissions(membership=m)
        ]
        granter = pick(acting, who, managers)
        actor = load_actor(granter.user, shop)
        held = actor.permissions
        # Mostly grants the actor may hand out (so grants succeed and the ceiling is checked on the result),
        # sometimes any.
        asked = step[-1] if isinstance(step[-1], frozenset) else frozenset()
        grants = asked if who % 3 == 0 else asked & held - NON_DELEGABLE
        owner_only_before = {} if actor.is_owner else owner_only_held()
        try:
            if kind == "create":
                role = pick(roles(), step[2], [r for r in roles() if selectors.role_permissions(role=r) <= held])
                username = f"gen{next(_seq)}"
                count = Membership.objects.for_shop(shop).count()
                try:
                    m = services.staff_create(
                        actor=actor, username=username, email="g@example.com", password="s3cret-Pass-1",
                        role=role, extra_grants=grants, expires_at=None,
                    )  # fmt: skip
                except ServiceError:
                    assert not User.objects.filter(username=username).exists()
                    assert Membership.objects.for_shop(shop).count() == count
                    raise
                assert perms_of(m) <= held
            elif kind == "update":
                members = everyone()
                target = members[step[2] % len(members)]
                before = state_of(target)
                role = pick(roles(), step[3], [r for r in roles() if selectors.role_permissions(role=r) <= held])
                try:
                    services.staff_update(actor=actor, membership=target, role=role, extra_grants=grants)
                except ServiceError:
                    assert state_of(target) == before
                    raise
                assert not target.is_owner, "the owner's access cannot be changed"
                assert perms_of(target) <= held
            elif kind == "role_create":
                count = Role.objects.for_shop(shop).count()
                try:
                    r = services.role_create(actor=actor, name=f"R{next(_seq)}", permissions=grants)
                except ServiceError:
                    assert Role.objects.for_shop(shop).count() == count
                    raise
                assert selectors.role_permissions(role=r) <= held
            elif kind == "role_update":
                r = pick(roles(), step[2], [r for r in roles() if not r.is_template])
                before = selectors.role_permissions(role=r)
                try:
                    services.role_update(actor=actor, role=r, permissions=grants)
                except ServiceError:
                    assert selectors.role_permissions(role=r) == before
                    raise
                assert selectors.role_permissions(role=r) <= held
            elif kind in ("deactivate", "reactivate"):
                members = everyone()
                target = pick(members, step[2], [m for m in members if m.is_active == (kind == "deactivate")])
                before = state_of(target)
                fn = services.staff_deactivate if kind == "deactivate" else services.staff_reactivate
                try:
                    fn(actor=actor, membership=target)
                except ServiceError:
                    assert state_of(target) == before
                    raise
                assert not target.is_owner, "the owner is never deactivated (nor reactivated)"
                target.refresh_from_db()
                if kind == "deactivate":
                    assert not target.is_active and perms_of(target) == frozenset()
                else:
                    assert target.is_active and perms_of(target) <= held
        except ServiceError:
            pass
        if not actor.is_owner:
            after = owner_only_held()
            spread = {pk: after[pk] - owner_only_before.get(pk, frozenset()) for pk in after}
            assert not any(spread.values()), f"{granter.user.username} handed out an owner-only action: {spread}"
        owner = Membership.objects.for_shop(shop).get(is_owner=True)
        assert owner.is_active
