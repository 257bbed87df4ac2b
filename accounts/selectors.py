"""Reads for accounts: memberships, permissions and their sources, staff lists and quota, audit log,
notifications. Keyword-only and typed, like every selector."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import (
    ApiToken,
    AuditEntry,
    Membership,
    Notification,
    NotificationPreference,
    Role,
    Shop,
    ShopGroupObjectPermission,
    ShopUserObjectPermission,
    User,
    UserSession,
)
from backoffice.authz import Actor, can, load_actor, restrict
from backoffice.authz.actions import ACTIONS, ALL_ACTIONS, BY_CODENAME, NON_DELEGABLE, TIER_QUOTAS
from backoffice.authz.scopes import SCOPES
from backoffice.notifications import kinds_for
from backoffice.parsing import parse_day_or_moment, parse_id


def _codes(codenames) -> frozenset[str]:
    return frozenset(BY_CODENAME[c] for c in codenames if c in BY_CODENAME)


# ---------------------------------------------------------------- shops


def shop_get(*, shop_id: int) -> Shop:
    """The shop with this id (platform code and tasks, which take ids)."""
    return Shop.objects.get(pk=shop_id)


# ---------------------------------------------------------------- roles and grants


def role_list(*, shop: Shop) -> QuerySet[Role]:
    """The shop's roles, built-in templates first."""
    return Role.objects.for_shop(shop)


def role_permissions(*, role: Role) -> frozenset[str]:
    return _codes(
        ShopGroupObjectPermission.objects.filter(group_id=role.group_id, content_object_id=role.shop_id).values_list(
            "permission__codename", flat=True
        )
    )


def roles_with_permissions(*, shop: Shop) -> list[tuple[Role, list[str]]]:
    """Every role of the shop with its actions (sorted), in two queries."""
    roles = list(Role.objects.for_shop(shop))
    by_group: dict[int, set[str]] = {r.group_id: set() for r in roles}
    rows = ShopGroupObjectPermission.objects.filter(content_object_id=shop.pk, group_id__in=by_group).values_list(
        "group_id", "permission__codename"
    )
    for group_id, codename in rows:
        if codename in BY_CODENAME:
            by_group[group_id].add(BY_CODENAME[codename])
    return [(r, sorted(by_group[r.group_id])) for r in roles]


def role_get_by_key_or_id(*, shop: Shop, value: Any) -> Role | None:
    qs = Role.objects.for_shop(shop)
    value = str(value).strip()
    if value.isdigit():  # also "²": refused by the parsing layer (400), never int()'d here
        return qs.filter(pk=parse_id(value, "role")).first()
    return qs.filter(key=value).first()


def grantable_actions(*, actor: Actor) -> list[str]:
    """What ``actor`` may hand out (to a member or a role), in catalog order: the owner and platform
    code anything; anyone else only what they hold themselves, and never an owner-only action."""
    if actor.is_owner or actor.is_system:
        return list(ACTIONS)
    return [a for a in ACTIONS if a in actor.permissions and a not in NON_DELEGABLE]


@dataclass(frozen=True)
class ScopeChoices:
    """What the staff form may offer on one scope type: the objects the actor may hand out (id, name), and
    whether it may leave a member unlimited on it."""

    key: str
    unlimited_allowed: bool
    objects: list[tuple[int, str]]


def _object_names(objects: list) -> dict[int, str]:
    """Each object's name; for a tree (a ``parent``), its path ("Clothes › Shoes"), so that two nodes of the
    same name under different parents read apart."""
    by_id = {o.pk: o for o in objects}
    names: dict[int, str] = {}
    for o in objects:
        parts, node, seen = [], o, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            parts.append(str(node))
            node = by_id.get(getattr(node, "parent_id", None))
        names[o.pk] = " › ".join(reversed(parts))
    return names


def scope_choices(*, shop: Shop, actor: Actor) -> list[ScopeChoices]:
    """For each registered scope type (warehouse, category, ...), what the staff form offers ``actor``: the
    delegation ceiling of ``accounts.services.staff`` read ahead — an actor limited on a type hands out only
    its own objects and never "all"; anyone else every object of the shop. One query per type."""
    result = []
    for key, scope in SCOPES.items():
        qs = scope.model.objects.for_shop(shop)
        limited = key in actor.scopes
        if limited:
            qs = qs.filter(pk__in=actor.scopes[key])
        names = _object_names(list(qs))
        objects = sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))
        result.append(ScopeChoices(key=key, unlimited_allowed=not limited, objects=objects))
    return result


def extra_grants(*, membership: Membership) -> frozenset[str]:
    return _codes(
        ShopUserObjectPermission.objects.filter(
            user_id=membership.user_id, content_object_id=membership.shop_id
        ).values_list("permission__codename", flat=True)
    )


def member_permissions(*, membership: Membership) -> frozenset[str]:
    """Everything the member holds in its shop: role grants plus extra grants, in one query."""
    if membership.is_owner:
        return ALL_ACTIONS
    if not membership.is_active:
        return frozenset()
    role_perms = ShopGroupObjectPermission.objects.filter(
        group_id=membership.role.group_id if membership.role_id else None, content_object_id=membership.shop_id
    ).values("permission_id")
    user_perms = ShopUserObjectPermission.objects.filter(
        user_id=membership.user_id, content_object_id=membership.shop_id
    ).values("permission_id")
    return _codes(
        Permission.objects.filter(Q(id__in=role_perms) | Q(id__in=user_perms)).values_list("codename", flat=True)
    )


def member_scopes(*, membership: Membership) -> dict[str, frozenset[int]]:
    """For each scope type the member is limited on, the ids it may touch (one query per limited type)."""
    result: dict[str, frozenset[int]] = {}
    for key in membership.scope_types or []:
        scope = SCOPES.get(key)
        if scope is None:
            # A scope whose app is not installed: fail closed.
            result[key] = frozenset()
            continue
        ids = scope.perm_model.objects.filter(
            user_id=membership.user_id,
            permission__codename=scope.codename,
            content_object__shop_id=membership.shop_id,
        ).values_list("content_object_id", flat=True)
        result[key] = frozenset(ids)
    return result


def access_explained(*, membership: Membership) -> list[dict[str, Any]]:
    """Each action the member holds and where it comes from (owner, role, extra grant) plus scopes."""
    if membership.is_owner:
        return [{"action": code, "label": ACTIONS[code].label, "sources": ["owner"]} for code in ACTIONS]
    active = membership.is_active
    from_role = role_permissions(role=membership.role) if membership.role_id and active else frozenset()
    extra = extra_grants(membership=membership) if active else frozenset()
    scopes = member_scopes(membership=membership)
    rows = []
    for code, action in ACTIONS.items():
        sources = []
        if code in from_role:
            sources.append(f"role:{membership.role.key}")
        if code in extra:
            sources.append("extra_grant")
        if sources:
            rows.append({"action": code, "label": action.label, "sources": sources, "scopes": sorted(scopes)})
    return rows


def access_read(*, user_id: int, shop_id: int) -> tuple[Membership, frozenset[str], dict[str, frozenset[int]]] | None:
    """The kernel's access reader (``settings.AUTHZ_ACCESS_READER``): the active membership of the user
    in the shop with its shop and role loaded, its permissions and scopes; None when there is none. A
    membership past its ``expires_at`` no longer counts, even before the expiry task deactivates it."""
    membership = (
        Membership.unscoped.select_related("shop", "role")
        .filter(shop_id=shop_id, user_id=user_id, is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if membership is None:
        return None
    if membership.is_owner:
        return membership, ALL_ACTIONS, {}
    return membership, member_permissions(membership=membership), member_scopes(membership=membership)


def actors_holding(*, shop: Shop, action: str) -> list[Actor]:
    """Every active member of ``shop`` who may do ``action``, as actors (scopes loaded): the recipients
    of a domain's notices, each to be told only about what their scope covers."""
    members = Membership.objects.for_shop(shop).filter(is_active=True, user__is_active=True).select_related("user")
    actors = (load_actor(m.user, shop) for m in members.order_by("id"))
    return [a for a in actors if a is not None and can(a, action)]


# ---------------------------------------------------------------- staff


@dataclass(frozen=True)
class StaffQuota:
    """Permanent active sub-accounts in use against the shop's plan (the owner and temporary accounts
    do not count)."""

    used: int
    limit: int

    @property
    def full(self) -> bool:
        return self.used >= self.limit


def staff_quota(*, shop: Shop, exclude: Membership | None = None) -> StaffQuota:
    """The quota of ``shop`` (as loaded: a service passes the row it locked), not counting ``exclude``."""
    qs = Membership.objects.for_shop(shop).counted_in_quota()
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return StaffQuota(used=qs.count(), limit=TIER_QUOTAS[shop.tier])


def active_staff_count(*, shop: Shop) -> int:
    """Active sub-accounts, permanent and temporary (the owner left out)."""
    return Membership.objects.for_shop(shop).filter(is_active=True, is_owner=False).count()


def membership_list_for_user(*, user: User) -> list[Membership]:
    return list(
        Membership.unscoped.filter(user=user, is_active=True).select_related("shop", "role").order_by("shop__name")
    )


def staff_list(*, shop: Shop, actor: Actor, filters: Mapping[str, Any] | None = None) -> QuerySet[Membership]:
    filters = filters or {}
    qs = restrict(Membership.objects.for_shop(shop), actor, "accounts.manage_staff").select_related(
        "user", "role", "manager__user"
    )
    search = (filters.get("search") or "").strip()
    if search:
        qs = qs.filter(
            Q(user__username__icontains=search)
            | Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    if filters.get("role"):
        role = str(filters["role"]).strip()
        qs = qs.filter(Q(role__key=role) | Q(role_id=parse_id(role, "role")) if role.isdigit() else Q(role__key=role))
    status = filters.get("status")
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    if filters.get("temporary") in ("1", "true", True):
        qs = qs.filter(expires_at__isnull=False)
    if filters.get("manager"):
        qs = qs.filter(manager_id=parse_id(filters["manager"], "manager"))
    return qs.order_by("-is_owner", "user__username", "id")


def manager_choices(*, shop: Shop, actor: Actor) -> QuerySet[Membership]:
    """Active members (not the owner) whom ``actor`` may name as a manager on the staff form."""
    return staff_list(shop=shop, actor=actor, filters={"status": "active"}).filter(is_owner=False)


def subtree_ids(*, shop: Shop, root: Membership) -> set[int]:
    """Ids of every member under ``root`` (transitively), from one query over the shop's staff."""
    children: dict[int | None, list[int]] = {}
    for mid, manager_id in Membership.objects.for_shop(shop).values_list("id", "manager_id"):
        children.setdefault(manager_id, []).append(mid)
    seen: set[int] = set()
    stack = list(children.get(root.pk, []))
    while stack:
        mid = stack.pop()
        if mid not in seen:
            seen.add(mid)
            stack.extend(children.get(mid, []))
    return seen


def shops_with_members_past_expiry(*, now: datetime) -> list[int]:
    """Ids of the shops with an active temporary sub-account whose time is up (the expiry scan, all shops)."""
    due = Membership.unscoped.filter(is_active=True, is_owner=False, expires_at__lte=now)
    return sorted(set(due.values_list("shop_id", flat=True)))


def shops_with_members_expiring(*, now: datetime, within: timedelta) -> list[int]:
    """Ids of the shops with an active temporary sub-account that ends within ``within`` and was not told yet."""
    due = Membership.unscoped.filter(
        is_active=True, is_owner=False, expiry_notified_at__isnull=True, expires_at__gt=now,
        expires_at__lte=now + within,
    )  # fmt: skip
    return sorted(set(due.values_list("shop_id", flat=True)))


# ---------------------------------------------------------------- own account


def active_user(*, pk: int | None) -> User | None:
    """The active user with this id (a login half done: the password was right, the code is awaited)."""
    return User.objects.filter(pk=pk, is_active=True).first() if pk else None


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own personal tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def session_list(*, user: User) -> QuerySet[UserSession]:
    """The user's own browser sessions, newest first."""
    return UserSession.objects.filter(user=user).order_by("-created_at", "-id")


# Where a browser session keeps the moment it was last seen (set by ``accounts.web.history.SessionSeenMiddleware``
# at most once a minute): in the session itself, so a session list reads it without a column of its own.
SESSION_SEEN_KEY = "_seen_at"


def session_last_seen(*, keys: list[str]) -> dict[str, datetime]:
    """When each of these browser sessions was last seen (one query); a session not seen since it began is
    absent (its start is its last sight)."""
    from django.contrib.sessions.models import Session

    seen = {}
    for session in Session.objects.filter(session_key__in=keys):
        stamp = session.get_decoded().get(SESSION_SEEN_KEY)
        if isinstance(stamp, (int, float)):
            seen[session.session_key] = datetime.fromtimestamp(stamp, tz=UTC)
    return seen


# ---------------------------------------------------------------- audit


AUDIT_COLUMNS = ("id", "created_at", "actor", "action", "target_type", "target_id", "target", "changes", "ip",
                 "request_id")  # fmt: skip


def audit_list(
    *, shop: Shop, actor: Actor, filters: Mapping[str, Any] | None = None, member: Membership | None = None
) -> QuerySet[AuditEntry]:
    """The shop's audit trail, newest first, filtered from query-string text (the API and the page pass the
    same): ``actor`` (username or id), ``action`` (prefix), ``target_type``, ``target_id``, ``date_from`` and
    ``date_to`` (a day, whole, or an ISO date-time). A bad value raises ``ValidationFailed`` naming the field.
    ``member``: only what that member did (their activity page), whatever ``actor`` says."""
    get = (filters or {}).get
    qs = restrict(AuditEntry.objects.for_shop(shop), actor, "accounts.view_audit").select_related("actor")
    if member is not None:
        # By the user, not the membership: work a member started that the system finished for them (an
        # import, an export) is recorded with their user and no membership.
        qs = qs.filter(actor_id=member.user_id)
    if actor_user := str(get("actor") or "").strip():
        qs = qs.filter(
            Q(actor__username=actor_user) | Q(actor_id=parse_id(actor_user, "actor"))
            if actor_user.isdigit()
            else Q(actor__username=actor_user)
        )
    if action := str(get("action") or "").strip():
        qs = qs.filter(action__startswith=action)
    if target_type := str(get("target_type") or "").strip():
        qs = qs.filter(target_type=target_type)
    if target_id := str(get("target_id") or "").strip():
        qs = qs.filter(target_id=target_id)
    # The one date parser (as the orders list): a calendar-invalid day is refused, and date_to=<day> takes
    # that day in whole, not its first instant.
    if (start := parse_day_or_moment(get("date_from"), "date_from")) is not None:
        qs = qs.filter(created_at__gte=start)
    if (end := parse_day_or_moment(get("date_to"), "date_to", end_of_day=True)) is not None:
        qs = qs.filter(created_at__lte=end)
    return qs.order_by("-id")


def audit_member(*, shop: Shop, actor: Actor, pk: int) -> Membership | None:
    """A member of the shop whose activity ``actor`` may read (whoever may read the audit log), or None."""
    qs = restrict(Membership.objects.for_shop(shop), actor, "accounts.view_audit")
    return qs.select_related("user", "role").filter(pk=pk).first()


def audit_actor_choices(*, shop: Shop) -> list[tuple[str, str]]:
    """The audit filter's people: every member of the shop (deactivated ones too: their history stays), by
    username, as (username, "Full Name (username)")."""
    members = Membership.objects.for_shop(shop).select_related("user").order_by("user__username")
    choices = []
    for m in members:
        full = m.user.get_full_name().strip()
        username = m.user.get_username()
        choices.append((username, f"{full} ({username})" if full else username))
    return choices


# Fields of an audit entry's changes shown only to members who may see them elsewhere (the same rule as
# the API and exports of those domains): action needed -> field names, wherever they appear in the changes.
AUDIT_REDACTED_FIELDS: dict[str, frozenset[str]] = {
    "catalog.view_cost": frozenset({"cost"}),
    "orders.view_buyer_contact": frozenset({"buyer_name", "buyer_phone", "buyer_address"}),
    "payouts.view": frozenset({"withdrawal_amount", "second_approval_above"}),
}
REDACTED = "•••"


def audit_redactor(*, actor: Actor):
    """A function that hides, in an entry's changes, the fields ``actor`` may not see (``AUDIT_REDACTED_FIELDS``)."""
    return _redactor(frozenset().union(*(f for action, f in AUDIT_REDACTED_FIELDS.items() if not can(actor, action))))


def audit_redact_all(changes: Any) -> Any:
    """Hide every field of ``AUDIT_REDACTED_FIELDS`` (no reader known: fail closed)."""
    return _redactor(frozenset().union(*AUDIT_REDACTED_FIELDS.values()))(changes)


def _redactor(hidden: frozenset[str]):

    def redact(value: Any) -> Any:
        if not hidden:
            return value
        if isinstance(value, dict):
            return {k: (_masked(v) if k in hidden else redact(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [redact(v) for v in value]
        return value

    return redact


def _masked(value: Any) -> Any:
    """A redacted value keeps its shape (a [before, after] pair stays a pair) but not its content."""
    if isinstance(value, list):
        return [None if v is None else REDACTED for v in value]
    return None if value is None else REDACTED


def audit_rows(*, entries: QuerySet[AuditEntry], actor: Actor) -> Iterator[list[Any]]:
    """The entries as rows of ``AUDIT_COLUMNS`` (read from the database in chunks), changes as JSON with
    the fields ``actor`` may not see redacted."""
    redact = audit_redactor(actor=actor)
    for e in entries.iterator(chunk_size=2000):
        changes = json.dumps(redact(e.changes), ensure_ascii=False, sort_keys=True)
        yield [e.pk, e.created_at, e.actor.username if e.actor_id else "system", e.action, e.target_type,
               e.target_id, e.target_repr, changes, e.ip or "", e.request_id]  # fmt: skip


# ---------------------------------------------------------------- notifications


def notification_list(*, shop: Shop, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The actor's own notifications in this shop, newest first."""
    qs = Notification.objects.for_shop(shop).filter(recipient_id=actor.user.pk)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-id")


def notification_unread_count(*, shop: Shop, actor: Actor) -> int:
    return notification_list(shop=shop, actor=actor, unread_only=True).count()


def notification_preferences(*, actor: Actor) -> dict[str, dict[str, Any]]:
    """For each kind this member can receive here (catalog order): label, in_app, email."""
    saved = {p.kind: p for p in NotificationPreference.objects.for_shop(actor.shop).filter(user_id=actor.user.pk)}
    result = {}
    for kind in kinds_for(actor):
        pref = saved.get(kind.key)
        result[kind.key] = {
            "kind": kind.key,
            "label": kind.label,
            "in_app": pref.in_app if pref else True,
            "email": pref.email if pref else True,
        }
    return result
