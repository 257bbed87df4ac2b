"""The "Platform moderators" group: the platform staff role that moderates products in the admin.

Its members may see products (with their SKUs) in the admin, read-only, and may run the moderation
actions (approve; reject with a reason), which ``catalog.admin.ProductAdmin`` gates on
``catalog.change_product``: the admin itself never edits a product (every change goes through the
services). A superuser puts a staff user in the group; the demo's ``platform-moderator`` is in it.

Permissions are created here if they are not there yet (Django creates them after the migrations of a
fresh database, too late for this one); Django then finds them and leaves them alone."""

from django.db import migrations

GROUP = "Platform moderators"
PERMISSIONS = {
    ("catalog", "product"): [("view_product", "Can view product"), ("change_product", "Can change product")],
    ("catalog", "sku"): [("view_sku", "Can view SKU")],
}


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _created = Group.objects.get_or_create(name=GROUP)
    for (app_label, model), perms in PERMISSIONS.items():
        content_type, _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
        for codename, name in perms:
            permission, _created = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_export_job"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
