"""Accounts use cases through the services: quotas, hierarchy, delegation, deactivation, expiry, audit."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from accounts import selectors, services
from accounts.models import ApiToken, AuditEntry, Membership, Role, Shop, UserSession
from backoffice.authz import can, load_actor, system_actor
from backoffice.authz.actions import ALL_ACTIONS, ROLE_TEMPLATES, TIER_QUOTAS
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backoffice.tenancy.models import UnscopedQueryError
from tests.fixtures import PASSWORD, make_member, make_shop, owner_actor

pytestmark = pytest.mark.django_db


def role(shop, key):
    return Role.objects.for_shop(shop).get(key=key)


def test_signup_creates_owner_shop_roles_and_audit():
    user, shop = services.shop_signup(username="seller", email="s@example.com", password=PASSWORD, shop_name="My shop")
    assert shop.tier == "basic" and shop.owner == user
    owner = Membership.objects.for_shop(shop).get(user=user)
    assert owner.is_owner and owner.is_active
    assert set(Role.objects.for_shop(shop).values_list("key", flat=True)) == set(ROLE_TEMPLATES)
    assert load_actor(user, shop).permissions == ALL_ACTIONS
    assert AuditEntry.objects.for_shop(shop).filter(action="shop.created").count() == 1


def test_signup_rejects_bad_input_without_writing():
    services.shop_signup(username="taken", email="t@example.com", password=PASSWORD, shop_name="A")
    users_before = Shop.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.shop_signup(username="taken", email="t@example.com", password=PASSWORD, shop_name="B")
    assert "username" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.shop_signup(username="new", email="n@example.com", password="123", shop_name="B")
    assert "password" in exc.value.fields
    assert Shop.objects.count() == users_before


def test_role_templates_grant_exactly_the_matrix(members):
    for key, (_name, actions) in ROLE_TEMPLATES.items():
        assert load_actor(members[key].user, members[key].shop).permissions == actions


@pytest.mark.parametrize("tier", list(TIER_QUOTAS))
def test_quota_per_tier_counts_permanent_active_members_only(tier):
    shop = make_shop(tier=tier)
    for _ in range(TIER_QUOTAS[tier]):
        make_member(shop, "viewer")
    with pytest.raises(Conflict) as exc:
        make_member(shop, "viewer")
    assert exc.value.code == "quota_exceeded" and str(TIER_QUOTAS[tier]) in exc.value.message
    # Temporary accounts do not count.
    temp = make_member(shop, "viewer", expires_at=timezone.now() + timedelta(days=1))
    assert temp.is_temporary
    # Deactivating frees a seat; reactivating past the quota is refused.
    first = Membership.objects.for_shop(shop).filter(is_owner=False, expires_at__isnull=True).first()
    services.staff_deactivate(actor=owner_actor(shop), membership=first)
    make_member(shop, "viewer")
    with pytest.raises(Conflict):
        services.staff_reactivate(actor=owner_actor(shop), membership=first)
    # Making a temporary account permanent needs a seat too.
    with pytest.raises(Conflict):
        services.staff_update(actor=owner_actor(shop), membership=temp, expires_at=None)


def test_quota_failure_writes_nothing():
    shop = make_shop(tier="basic")
    make_member(shop, "viewer")
    make_member(shop, "viewer")
    users = Membership.objects.for_shop(shop).count()
    audit = AuditEntry.objects.for_shop(shop).count()
    with pytest.raises(Conflict):
        make_member(shop, "viewer", username="wont-exist")
    assert Membership.objects.for_shop(shop).count() == users
    assert AuditEntry.objects.for_shop(shop).count() == audit
    from accounts.models import User

    assert not User.objects.filter(username="wont-exist").exists()


def test_grant_ceiling_and_owner_only(members, shop):
    admin = load_actor(members["admin"].user, shop)
    # Admin cannot hand out finance: it contains the owner-only payouts.withdraw.
    with pytest.raises(Forbidden) as exc:
        make_member(shop, "finance", actor=admin)
    assert exc.value.code == "owner_only"
    # Nor an extra grant they do not hold ... (admin holds everything but withdraw)
    with pytest.raises(Forbidden):
        make_member(shop, "viewer", actor=admin, extra_grants=["payouts.withdraw"])
    # ... but an operator with extra catalog.view_cost is fine.
    m = make_member(shop, "operator", actor=admin, extra_grants=["catalog.view_cost"])
    assert "catalog.view_cost" in selectors.member_permissions(membership=m)
    # The owner can grant withdraw.
    fin = make_member(shop, "finance")
    assert can(load_actor(fin.user, shop), "payouts.withdraw")


def test_custom_role_ceiling(members, shop):
    admin = load_actor(members["admin"].user, shop)
    with pytest.raises(Forbidden):
        services.role_create(actor=admin, name="Cashier", permissions=["payouts.withdraw"])
    r = services.role_create(actor=admin, name="Packer", permissions=["orders.view", "orders.process"])
    assert selectors.role_permissions(role=r) == {"orders.view", "orders.process"}
    member = make_member(shop, r.key, actor=admin)
    assert load_actor(member.user, shop).permissions == {"orders.view", "orders.process"}
    with pytest.raises(Conflict):
        services.role_update(actor=admin, role=role(shop, "viewer"), permissions=["orders.refund"])
    with pytest.raises(ValidationFailed):
        services.role_create(actor=admin, name="Bad", permissions=["orders.fly"])


def test_hierarchy_managers_manage_only_their_subtree_and_narrower(shop):
    admin_a = make_member(shop, "admin")
    admin_b = make_member(shop, "admin")
    actor_a = load_actor(admin_a.user, shop)
    report = make_member(shop, "operator", actor=actor_a)
    assert report.manager_id == admin_a.pk
    # A's own report: fine.
    services.staff_update(actor=actor_a, membership=report, role=role(shop, "viewer"))
    # B is not under A.
    with pytest.raises(Forbidden) as exc:
        services.staff_deactivate(actor=actor_a, membership=admin_b)
    assert exc.value.code == "not_your_report"
    # Nobody manages themselves or the owner.
    with pytest.raises(Forbidden):
        services.staff_update(actor=actor_a, membership=admin_a, extra_grants=["payouts.view"])
    owner = Membership.objects.for_shop(shop).get(is_owner=True)
    with pytest.raises(Forbidden) as exc:
        services.staff_deactivate(actor=actor_a, membership=owner)
    assert exc.value.code == "owner_protected"
    with pytest.raises(Forbidden):
        services.staff_deactivate(actor=owner_actor(shop), membership=owner)
    # The owner widens A's report beyond A: A may no longer manage them.
    services.staff_update(actor=owner_actor(shop), membership=report, extra_grants=["payouts.withdraw"])
    with pytest.raises(Forbidden) as exc:
        services.staff_deactivate(actor=load_actor(admin_a.user, shop), membership=report)
    assert exc.value.code == "member_wider"


def test_manager_loops_are_refused(shop):
    a = make_member(shop, "admin")
    b = make_member(shop, "operator", manager=a)
    with pytest.raises(ValidationFailed):
        services.staff_update(actor=owner_actor(shop), membership=a, manager=b)
    with pytest.raises(ValidationFailed):
        services.staff_update(actor=owner_actor(shop), membership=a, manager=a)


def test_deactivation_kills_sessions_and_tokens(client, shop):
    member = make_member(shop, "operator")
    client.force_login(member.user)
    services.session_record(user=member.user, session_key=client.session.session_key, ip="127.0.0.1", user_agent="t")
    _token, key = services.token_create(user=member.user)
    assert client.get(f"/shops/{shop.pk}/").status_code == 200

    services.staff_deactivate(actor=owner_actor(shop), membership=member)

    member.refresh_from_db()
    member.user.refresh_from_db()
    assert not member.is_active and member.deactivated_at is not None
    assert not member.user.is_active
    assert not Session.objects.filter(session_key=client.session.session_key).exists()
    assert not ApiToken.objects.filter(user=member.user).exists()
    assert not UserSession.objects.filter(user=member.user).exists()
    assert client.get(f"/shops/{shop.pk}/").status_code == 302  # back to login
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 401
    # Reactivation restores access (with a new login).
    services.staff_reactivate(actor=owner_actor(shop), membership=member)
    member.user.refresh_from_db()
    assert member.user.is_active and load_actor(member.user, shop) is not None


def test_member_of_two_shops_keeps_the_other_after_deactivation(shop, other_shop):
    member = make_member(shop, "operator")
    Membership.objects.for_shop(other_shop).create(shop=other_shop, user=member.user, role=role(other_shop, "viewer"))
    services.staff_deactivate(actor=owner_actor(shop), membership=member)
    member.user.refresh_from_db()
    assert member.user.is_active
    assert load_actor(member.user, shop) is None
    assert load_actor(member.user, other_shop) is not None


def test_temporary_members_expire(shop):
    now = timezone.now()
    temp = make_member(shop, "support", expires_at=now + timedelta(hours=2))
    permanent = make_member(shop, "support")
    assert services.staff_expire_due(actor=system_actor(shop)) == 0
    with time_machine.travel(now + timedelta(hours=3)):
        assert services.staff_expire_due(actor=system_actor(shop)) == 1
        assert services.staff_expire_due(actor=system_actor(shop)) == 0  # idempotent
        with pytest.raises(Conflict) as exc:
            services.staff_reactivate(actor=owner_actor(shop), membership=temp)
        assert exc.value.code == "expired"
    temp.refresh_from_db()
    permanent.refresh_from_db()
    assert not temp.is_active and permanent.is_active
    entry = AuditEntry.objects.for_shop(shop).get(action="staff.expired")
    assert entry.actor is None and entry.target_id == str(temp.pk)
    services.staff_reactivate(actor=owner_actor(shop), membership=temp, expires_at=timezone.now() + timedelta(days=1))


def test_expiry_must_be_in_future(shop):
    with pytest.raises(ValidationFailed):
        make_member(shop, "viewer", expires_at=timezone.now() - timedelta(minutes=1))


def test_every_change_writes_one_audit_entry_with_before_after(shop):
    actor = owner_actor(shop)
    start = AuditEntry.objects.for_shop(shop).count()
    m = make_member(shop, "operator")
    services.staff_update(actor=actor, membership=m, role=role(shop, "viewer"), extra_grants=["orders.export"])
    services.staff_deactivate(actor=actor, membership=m)
    services.staff_reactivate(actor=actor, membership=m)
    services.shop_update(actor=actor, name="Renamed", return_window_days=30)
    services.role_create(actor=actor, name="Custom", permissions=["orders.view"])
    entries = list(AuditEntry.objects.for_shop(shop).order_by("id")[start:])
    assert [e.action for e in entries] == [
        "staff.created", "staff.updated", "staff.deactivated", "staff.reactivated", "shop.updated", "role.created",
    ]  # fmt: skip
    updated = entries[1].changes
    assert updated["role"] == ["operator", "viewer"]
    assert updated["extra_grants"] == [[], ["orders.export"]]
    assert entries[4].changes == {"name": ["Alpha", "Renamed"], "return_window_days": [14, 30]}
    assert all(e.actor_id == shop.owner_id for e in entries)


def test_audit_rows_are_append_only(shop):
    entry = AuditEntry.objects.for_shop(shop).first()
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    # The database refuses too (PostgreSQL trigger), even for a bulk update.
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.for_shop(shop).update(action="tampered")
    assert connection.vendor == "postgresql"


def test_shop_scoped_manager_fails_closed(shop):
    with pytest.raises(UnscopedQueryError):
        list(Membership.objects.all())
    with pytest.raises(UnscopedQueryError):
        Membership.objects.filter(is_active=True)
    assert Membership.objects.for_shop(shop).count() == 1


def test_shop_settings_validation(shop):
    actor = owner_actor(shop)
    with pytest.raises(ValidationFailed):
        services.shop_update(actor=actor, require_2fa_roles=["nonsense"])
    with pytest.raises(ValidationFailed):
        services.shop_update(actor=actor, name="  ")
    with pytest.raises(ValidationFailed):
        services.shop_update(actor=actor, currency="EURO")
    shop.refresh_from_db()
    assert shop.name == "Alpha" and shop.currency == "RUB"
    services.shop_update(actor=actor, require_2fa_roles=["support"])
    shop.refresh_from_db()
    assert shop.require_2fa_roles == ["support"]


def test_shop_update_needs_manage_settings(members, shop):
    with pytest.raises(Forbidden):
        services.shop_update(actor=load_actor(members["operator"].user, shop), name="X")


def test_access_explained_names_sources(shop):
    m = make_member(shop, "support", extra_grants=["orders.export"])
    rows = {r["action"]: r["sources"] for r in selectors.access_explained(membership=m)}
    assert rows["support.reply"] == ["role:support"]
    assert rows["orders.export"] == ["extra_grant"]
    assert "payouts.view" not in rows


# --- every shop service takes an actor and checks its own action ---------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda shop, m: services.shop_update(actor=shop.owner, name="X"),
        lambda shop, m: services.shop_set_tier(actor=shop.owner, tier="gold"),
        lambda shop, m: services.role_create(actor=shop.owner, name="R", permissions=[]),
        lambda shop, m: services.staff_update(actor=shop.owner, membership=m, first_name="X"),
        lambda shop, m: services.staff_deactivate(actor=shop.owner, membership=m),
        lambda shop, m: services.staff_reactivate(actor=shop.owner, membership=m),
        lambda shop, m: services.staff_expire_due(actor=shop.owner),
        lambda shop, m: services.staff_expiry_notify(actor=shop.owner),
        lambda shop, m: services.notifications_send(actor=shop.owner, notices=[]),
        lambda shop, m: services.notifications_mark_read(actor=shop.owner),
        lambda shop, m: services.notification_preferences_set(actor=shop.owner, choices={}),
        lambda shop, m: services.staff_create(
            actor=shop.owner, username="u", email="u@example.com", password=PASSWORD, role=role(shop, "viewer")
        ),
    ],
)
def test_a_service_called_with_a_bare_user_raises(shop, call):
    member = make_member(shop, "viewer")
    before = AuditEntry.objects.for_shop(shop).count()
    with pytest.raises(TypeError):
        call(shop, member)
    assert AuditEntry.objects.for_shop(shop).count() == before


def test_services_check_their_own_action(members, shop):
    viewer = load_actor(members["viewer"].user, shop)
    with pytest.raises(Forbidden):
        services.role_create(actor=viewer, name="Mine", permissions=[])
    with pytest.raises(Forbidden):
        services.staff_deactivate(actor=viewer, membership=members["operator"])
    with pytest.raises(Forbidden):
        services.staff_expire_due(actor=viewer)
    with pytest.raises(Forbidden):  # a low-stock notice is about stock: its sender must hold catalog.manage_stock
        services.notifications_send(actor=viewer, notices=[services.Notice(shop.owner, "low_stock", "Low")])


def test_another_shops_member_is_not_found(shop, other_shop):
    foreign = make_member(other_shop, "viewer")
    with pytest.raises(NotFound):
        services.staff_deactivate(actor=owner_actor(shop), membership=foreign)
    with pytest.raises(NotFound):
        services.staff_update(actor=owner_actor(shop), membership=foreign, first_name="X")
    assert Membership.objects.for_shop(other_shop).get(pk=foreign.pk).is_active


def test_signup_and_open_are_audited_by_the_new_owner(shop):
    entry = AuditEntry.objects.for_shop(shop).get(action="shop.created")
    assert entry.actor == shop.owner and entry.membership.is_owner
    second = services.shop_open(user=shop.owner, shop_name="Second")
    entry = AuditEntry.objects.for_shop(second).get(action="shop.created")
    assert entry.actor == shop.owner and entry.membership == Membership.objects.for_shop(second).get(is_owner=True)
    with pytest.raises(TypeError):
        services.shop_open(user=owner_actor(shop), shop_name="Third")


def test_the_tier_is_the_platforms_to_set(shop):
    from accounts.models import User

    with pytest.raises(Forbidden) as exc:
        services.shop_set_tier(actor=owner_actor(shop), tier="basic")
    assert exc.value.code == "platform_only"
    staff = User.objects.create_superuser(username="platform", email="p@example.com", password=PASSWORD)
    with pytest.raises(ValidationFailed):
        services.shop_set_tier(actor=system_actor(shop, user=staff), tier="diamond")
    services.shop_set_tier(actor=system_actor(shop, user=staff), tier="silver")
    shop.refresh_from_db()
    assert shop.tier == "silver"
    entry = AuditEntry.objects.for_shop(shop).get(action="shop.tier_changed")
    assert entry.actor == staff and entry.membership is None and entry.changes == {"tier": ["platinum", "silver"]}
    services.shop_set_tier(actor=system_actor(shop, user=staff), tier="silver")  # no change, no entry
    assert AuditEntry.objects.for_shop(shop).filter(action="shop.tier_changed").count() == 1


def test_quota_selector_counts_permanent_active_members(shop):
    make_member(shop, "viewer")
    make_member(shop, "viewer", expires_at=timezone.now() + timedelta(days=1))
    gone = make_member(shop, "viewer")
    services.staff_deactivate(actor=owner_actor(shop), membership=gone)
    quota = selectors.staff_quota(shop=shop)
    assert (quota.used, quota.limit, quota.full) == (1, TIER_QUOTAS["platinum"], False)
    assert selectors.active_staff_count(shop=shop) == 2


def test_grantable_actions_follow_the_ceiling(members, shop):
    from backoffice.authz.actions import NON_DELEGABLE

    assert set(selectors.grantable_actions(actor=owner_actor(shop))) == ALL_ACTIONS
    admin = load_actor(members["admin"].user, shop)
    assert set(selectors.grantable_actions(actor=admin)) == admin.permissions - NON_DELEGABLE
    assert set(selectors.grantable_actions(actor=system_actor(shop))) == ALL_ACTIONS
