"""The "Platform moderators" group: the platform staff who moderate products, in the admin
(``catalog.admin.ProductAdmin``) and through the platform API (``catalog.api.views.PlatformProductViewSet``).

Migration ``0004_platform_moderators_group`` creates it; ``moderators_group()`` makes sure it is there with
its permissions for code that cannot rely on the migration's rows (the demo loader on a database that was
flushed, tests after a transactional test's flush)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

MODERATORS_GROUP = "Platform moderators"

# What a moderator holds: see products and their SKUs; ``change_product`` is the right to decide on a
# product (approve, reject), never to edit one. Same as migration 0004.
VIEW_PERMISSION = "catalog.view_product"
MODERATE_PERMISSION = "catalog.change_product"
PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    "product": [("view_product", "Can view product"), ("change_product", "Can change product")],
    "sku": [("view_sku", "Can view SKU")],
}


def moderators_group() -> Group:
    """The moderators' group with its permissions, created if missing; safe to call again."""
    group, _created = Group.objects.get_or_create(name=MODERATORS_GROUP)
    perms = []
    for model, codenames in PERMISSIONS.items():
        content_type, _created = ContentType.objects.get_or_create(app_label="catalog", model=model)
        for codename, name in codenames:
            perm, _created = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            perms.append(perm)
    group.permissions.add(*perms)
    return group
