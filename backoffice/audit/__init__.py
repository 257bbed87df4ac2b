"""The audit trail writer every service calls, inside the service's own transaction."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings

from backoffice.middleware import client_ip_var, request_id_var


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return (
            sorted(_jsonable(v) for v in value)
            if isinstance(value, (set, frozenset))
            else [_jsonable(v) for v in value]
        )
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    return {
        k: [_jsonable(before.get(k)), _jsonable(after.get(k))]
        for k in sorted(set(before) | set(after))
        if _jsonable(before.get(k)) != _jsonable(after.get(k))
    }


@cache
def _audit_model():
    return apps.get_model(settings.AUDIT_ENTRY_MODEL)


def audit_record(
    *,
    shop,
    actor,
    action: str,
    target: Any,
    changes: dict[str, list[Any]] | None = None,
):
    """Append one audit entry. ``actor`` is an authz Actor (a member's or the system's)."""
    from backoffice.authz import as_actor

    as_actor(actor, who="audit_record()")
    return (
        _audit_model()
        .objects.for_shop(shop)
        .create(
            shop=shop,
            actor=actor.audit_user,
            membership=actor.membership,
            action=action,
            target_type=target._meta.label_lower if hasattr(target, "_meta") else str(type(target).__name__),
            target_id=str(getattr(target, "pk", "") or ""),
            target_repr=str(target)[:200],
            changes=changes or {},
            ip=client_ip_var.get(),
            request_id=request_id_var.get() or "",
        )
    )
