"""Grant ``payouts.approve`` to the built-in finance role of every existing shop.

0006 only added the action to the permission catalog (``Shop.Meta.permissions``): shops opened before it have a
finance role without it (``accounts.services.shops`` copies ``ROLE_TEMPLATES`` only when a shop is opened), so
nobody there could give the second approval issue #13 asks for. Only built-in finance roles (``is_template``)
get it — per the permission matrix, ``payouts.approve`` is finance's alone; custom roles keep what their owner
chose. Idempotent (a role that holds it already is skipped); the reverse is a no-op (the grant may be wanted by
then, and removing it could remove one an owner gave).

The permission row itself is normally made by ``post_migrate`` after every migration has run, so it is made
here when missing (same codename and name as ``backoffice.authz.actions``). Cached actors are dropped
(``backoffice.authz.cache.shop_changed``) so the grant takes effect at once rather than after the cache's TTL.
"""

from django.db import migrations

CODENAME = "payouts__approve"
NAME = "Approve withdrawals as the second person"


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")  # noqa: N806
    Permission = apps.get_model("auth", "Permission")  # noqa: N806
    Role = apps.get_model("accounts", "Role")  # noqa: N806
    Grant = apps.get_model("accounts", "ShopGroupObjectPermission")  # noqa: N806
    db = schema_editor.connection.alias
    roles = list(
        Role._default_manager.using(db).filter(key="finance", is_template=True).values_list("group_id", "shop_id")
    )
    if not roles:
        return
    ct, _created = ContentType.objects.using(db).get_or_create(app_label="accounts", model="shop")
    perm, _created = Permission.objects.using(db).get_or_create(
        content_type=ct, codename=CODENAME, defaults={"name": NAME}
    )
    held = set(
        Grant._default_manager.using(db)
        .filter(permission=perm, group_id__in=[g for g, _s in roles])
        .values_list("group_id", "content_object_id")
    )
    missing = [(g, s) for g, s in roles if (g, s) not in held]
    Grant._default_manager.using(db).bulk_create(
        [Grant(group_id=g, permission=perm, content_object_id=s) for g, s in missing]
    )
    if missing:
        from backoffice.authz import cache as access_cache

        access_cache.shop_changed(*sorted({s for _g, s in missing}))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_payouts_approve_action"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
