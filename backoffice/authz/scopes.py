"""Per-object scopes: a member limited to chosen warehouses, categories, ...

A scope type is registered by the app that owns the model, with the guardian
direct-foreign-key table that holds the grants. A member is limited on a scope type
when its key is in ``Membership.scope_types``; they then see only the objects they hold
the scope permission on (none granted: nothing visible, so the check fails closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class ScopeType:
    key: str
    model: type[models.Model]
    perm_model: type[models.Model]  # a guardian UserObjectPermissionBase subclass with content_object -> model

    @property
    def codename(self) -> str:
        return f"access_{self.key}"


SCOPES: dict[str, ScopeType] = {}


def register_scope(key: str, model: type[models.Model], perm_model: type[models.Model]) -> None:
    SCOPES[key] = ScopeType(key=key, model=model, perm_model=perm_model)


def scope_permission_meta(key: str) -> tuple[str, str]:
    """The (codename, name) pair the scoped model declares in its Meta.permissions."""
    return (f"access_{key}", f"Access this {key}")
