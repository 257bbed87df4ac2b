"""The access cache (backoffice.authz.cache) never serves access that was taken away, nor withholds access
that was given: after each change below, the very next request sees it. One table, each row: who, what
they try, the change, and the answer before and after. The member's first request warms the cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Role
from backoffice.authz import cache as access_cache
from backoffice.authz import load_actor
from tests.fixtures import api_client_for, make_member, owner_actor
from tests.scopeapp.models import Depot

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/shops/{shop}/audit-log/"
ORDERS = "/api/v1/shops/{shop}/orders/"


def _custom_role(shop, name: str, actions: list[str]) -> Role:
    return services.role_create(actor=owner_actor(shop), name=name, permissions=actions)


def change_role(shop, member):
    services.staff_update(actor=owner_actor(shop), membership=member, role=Role.objects.for_shop(shop).get(key="admin"))


def widen_role_grants(shop, member):
    services.role_update(actor=owner_actor(shop), role=member.role, permissions=["orders.view", "accounts.view_audit"])


def narrow_role_grants(shop, member):
    services.role_update(actor=owner_actor(shop), role=member.role, permissions=["catalog.view"])


def add_extra_grant(shop, member):
    services.staff_update(actor=owner_actor(shop), membership=member, extra_grants=["accounts.view_audit"])


def deactivate(shop, member):
    services.staff_deactivate(actor=owner_actor(shop), membership=member)


def deactivate_in_one_of_two_shops(shop, member):
    # Still a member elsewhere (their own shop), so the user and their token stay: this shop alone must close.
    services.shop_open(user=member.user, shop_name="Side shop")
    services.staff_deactivate(actor=owner_actor(shop), membership=member)


def revoke_token(shop, member):
    for token in ApiToken.objects.filter(user=member.user):
        services.token_revoke(user=member.user, token_id=token.pk)


def disable_user(shop, member):
    # Platform staff disabling an account (the admin site saves the user row).
    member.user.is_active = False
    member.user.save()


def require_2fa(shop, member):
    services.shop_update(actor=owner_actor(shop), require_2fa_roles=[member.role.key])


def reactivate(shop, member):
    services.staff_deactivate(actor=owner_actor(shop), membership=member)
    services.staff_reactivate(actor=owner_actor(shop), membership=member)


CASES = [
    # (id, role or custom actions, path, change, status before, status after)
    ("role changed to admin", "operator", AUDIT, change_role, 403, 200),
    ("role's grants widened", ["orders.view"], AUDIT, widen_role_grants, 403, 200),
    ("role's grants narrowed", ["orders.view"], ORDERS, narrow_role_grants, 200, 403),
    ("extra grant added", "operator", AUDIT, add_extra_grant, 403, 200),
    ("member deactivated", "operator", ORDERS, deactivate, 200, 401),
    ("deactivated in one of two shops", "operator", ORDERS, deactivate_in_one_of_two_shops, 200, 404),
    ("token revoked", "operator", ORDERS, revoke_token, 200, 401),
    ("user disabled", "operator", ORDERS, disable_user, 200, 401),
    ("shop requires 2FA for the role", "operator", ORDERS, require_2fa, 200, 403),
]


@pytest.mark.parametrize("role,path,change,before,after", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_next_request_sees_the_change(shop, role, path, change, before, after):
    if isinstance(role, list):
        member = make_member(shop, _custom_role(shop, "Custom", role).key)
    else:
        member = make_member(shop, role)
    api = api_client_for(member.user, reauth=False)
    url = path.format(shop=shop.pk)
    assert api.get(url).status_code == before
    assert api.get(url).status_code == before  # now from the cache
    change(shop, member)
    assert api.get(url).status_code == after


def test_reactivated_member_is_let_back_in(shop):
    member = make_member(shop, "operator")
    services.shop_open(user=member.user, shop_name="Side shop")
    api = api_client_for(member.user, reauth=False)
    url = ORDERS.format(shop=shop.pk)
    assert api.get(url).status_code == 200
    services.staff_deactivate(actor=owner_actor(shop), membership=member)
    assert api.get(url).status_code == 404
    services.staff_reactivate(actor=owner_actor(shop), membership=member)
    assert api.get(url).status_code == 200


def test_temporary_access_ends_at_its_time_even_before_the_expiry_task(shop):
    member = make_member(shop, "operator", expires_at=timezone.now() + timedelta(hours=1))
    api = api_client_for(member.user, reauth=False)
    url = ORDERS.format(shop=shop.pk)
    assert api.get(url).status_code == 200
    assert api.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert api.get(url).status_code == 404


def test_scope_change_reaches_the_cached_actor(shop):
    north, south = (Depot.objects.for_shop(shop).create(shop=shop, name=n) for n in ("North", "South"))
    member = make_member(shop, "operator", scopes={"depot": [north.pk]})
    assert load_actor(member.user, shop).scopes == {"depot": frozenset({north.pk})}
    services.staff_update(actor=owner_actor(shop), membership=member, scopes={"depot": [north.pk, south.pk]})
    assert load_actor(member.user, shop).scopes == {"depot": frozenset({north.pk, south.pk})}
    services.staff_update(actor=owner_actor(shop), membership=member, scopes={})
    assert load_actor(member.user, shop).scopes == {}


def test_shop_settings_reach_the_cached_actor(shop):
    assert load_actor(shop.owner, shop.pk).shop.return_window_days == 14
    services.shop_update(actor=owner_actor(shop), return_window_days=30)
    assert load_actor(shop.owner, shop.pk).shop.return_window_days == 30


def test_a_warm_request_reads_nothing_from_the_database_for_access(shop, django_assert_num_queries):
    assert access_cache.enabled(), "the access cache needs Redis (make test sets REDIS_URL)"
    member = make_member(shop, "operator", scopes={"depot": []})
    api = api_client_for(member.user, reauth=False)
    url = f"/api/v1/shops/{shop.pk}/"
    api.get(url)
    with django_assert_num_queries(0):
        assert api.get(url).status_code == 200


def test_entries_written_under_an_old_generation_are_never_served(shop):
    """The race the generations exist for: a reader loads the rows, the access changes and is bumped,
    then the reader stores what it loaded. The stored entry must not be served."""
    member = make_member(shop, "operator")
    stale = load_actor(member.user, shop)
    old_entry = (stale.membership, stale.permissions, stale.scopes)

    def load_then_change():
        services.staff_update(actor=owner_actor(shop), membership=member, extra_grants=["accounts.view_audit"])
        return old_entry

    access_cache.shop_changed(shop.pk)  # the cached entry is out of date: the next reader loads
    # The reader reads the generations, then loads (and meanwhile the grant is added), then stores.
    assert access_cache.membership_for(member.user, shop.pk, load_then_change) == old_entry
    assert "accounts.view_audit" in load_actor(member.user, shop).permissions


def test_without_redis_nothing_is_cached(shop, settings):
    settings.REDIS_URL = ""
    assert not access_cache.enabled()
    calls = []
    for _ in range(2):
        access_cache.membership_for(shop.owner, shop.pk, lambda: calls.append(1))
    assert len(calls) == 2
