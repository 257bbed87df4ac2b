"""Delegation invariants under generated sequences of grants (hypothesis).

Whatever members do to each other, in any order:
- nobody grants an action they do not hold at that moment;
- only the owner hands out owner-only actions (the owner does not act here, so nobody gets one);
- a refused change leaves the target exactly as it was.
"""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import selectors, services
from accounts.models import Membership, Role
from backoffice.authz import load_actor
from backoffice.authz.actions import ACTION_CODES, NON_DELEGABLE
from backoffice.errors import ServiceError
from tests.fixtures import make_member, make_shop

_seq = itertools.count(1)
ROLE_KEYS = ["admin", "operator", "support", "finance", "viewer"]

perm_sets = st.sets(st.sampled_from(ACTION_CODES), max_size=6)
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


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=st.lists(ops, min_size=1, max_size=10))
def test_no_sequence_of_grants_escapes_the_ceiling(steps):
    shop = make_shop()
    admin = make_member(shop, "admin")
    make_member(shop, "admin")
    make_member(shop, "operator", manager=admin)
    make_member(shop, "support", manager=admin)
    made = 0

    def staff() -> list[Membership]:
        return list(
            Membership.objects.for_shop(shop).filter(is_owner=False).select_related("role", "user").order_by("id")
        )

    def roles() -> list[Role]:
        return list(Role.objects.for_shop(shop).order_by("id"))

    for step in steps:
        kind, who = step[0], step[1]
        members = [m for m in staff() if m.is_active]
        granter = members[who % len(members)]
        actor = load_actor(granter.user, shop)
        held = actor.permissions
        try:
            if kind == "create":
                role = roles()[step[2] % len(roles())]
                made += 1
                m = services.staff_create(
                    actor=actor, username=f"gen{next(_seq)}", email="g@example.com", password="s3cret-Pass-1",
                    role=role, extra_grants=step[3], expires_at=None,
                )  # fmt: skip
                assert perms_of(m) <= held
            elif kind == "update":
                everyone = staff()
                target = everyone[step[2] % len(everyone)]
                before = perms_of(target)
                role = roles()[step[3] % len(roles())]
                try:
                    services.staff_update(actor=actor, membership=target, role=role, extra_grants=step[4])
                except ServiceError:
                    assert perms_of(target) == before
                    raise
                assert perms_of(target) <= held
            elif kind == "role_create":
                r = services.role_create(actor=actor, name=f"R{next(_seq)}", permissions=step[2])
                assert selectors.role_permissions(role=r) <= held
            elif kind == "role_update":
                r = roles()[step[2] % len(roles())]
                before = selectors.role_permissions(role=r)
                try:
                    services.role_update(actor=actor, role=r, permissions=step[3])
                except ServiceError:
                    assert selectors.role_permissions(role=r) == before
                    raise
                assert selectors.role_permissions(role=r) <= held
            elif kind in ("deactivate", "reactivate"):
                everyone = staff()
                target = everyone[step[2] % len(everyone)]
                fn = services.staff_deactivate if kind == "deactivate" else services.staff_reactivate
                fn(actor=actor, membership=target)
                assert perms_of(target) <= held or kind == "deactivate"
        except ServiceError:
            pass
        for m in staff():
            assert not (perms_of(m) & NON_DELEGABLE), f"{m.user.username} holds an owner-only action"
