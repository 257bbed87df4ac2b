"""Demo data: two shops, each with an owner and one member per role template. Safe to run again."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from accounts import services
from accounts.models import Role, Shop, User
from backoffice.authz import load_actor, system_actor
from backoffice.authz.actions import ROLE_TEMPLATES
from catalog.moderation import moderators_group

DEMO_PASSWORD = "demo-pass-2026"
DEMO_MODERATOR = "platform-moderator"
DEMO_SHOPS = [("alice", "Alice's Gadgets", "gold"), ("boris", "Boris Home & Garden", "silver")]


class Command(BaseCommand):
    help = "Load demo shops, owners and staff (one per role) and print their logins."

    # Demo notifications (low stock, ...) stay in the app: no emails to the example.com addresses. The
    # emails go out when the transaction commits, so the override wraps the whole transaction.
    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    @transaction.atomic
    def handle(self, *args, **options):
        rows = []
        for owner_name, shop_name, tier in DEMO_SHOPS:
            owner = User.objects.filter(username=owner_name).first()
            if owner is None:
                owner, shop = services.shop_signup(
                    username=owner_name, email=f"{owner_name}@example.com", password=DEMO_PASSWORD, shop_name=shop_name
                )
                # Tiers are set by the platform; the demo shops get room for a full team.
                services.shop_set_tier(actor=system_actor(shop), tier=tier)
            shop = Shop.objects.get(owner=owner, name=shop_name)
            actor = load_actor(owner, shop)
            rows.append((shop.name, "owner", owner_name))
            for key in ROLE_TEMPLATES:
                username = f"{owner_name}-{key}"
                if not User.objects.filter(username=username).exists():
                    services.staff_create(
                        actor=actor, username=username, email=f"{username}@example.com", password=DEMO_PASSWORD,
                        role=Role.objects.for_shop(shop).get(key=key),
                    )  # fmt: skip
                rows.append((shop.name, key, username))
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for shop_name, role, username in rows:
            self.stdout.write(f"  {shop_name:<24} {role:<9} {username}")
        from django.core.management import call_command

        demo_shops = Shop.objects.filter(name__in=[name for _owner, name, _tier in DEMO_SHOPS]).order_by("id")
        # The demo catalog first (categories, warehouses, products in every state, stock, low-stock alerts).
        call_command("load_catalog_demo", shop=[s.pk for s in demo_shops], stdout=self.stdout)
        # Orders in every state, pushed through the integration logic by the storefront simulator.
        call_command("simulate_orders", shop=[s.pk for s in demo_shops], stdout=self.stdout)
        # Then every other domain app's own demo (``load_<app>_demo``, e.g. promotions and ad campaigns), so an
        # app adds its demo data without editing this command.
        from django.conf import settings
        from django.core.management import get_commands

        for app in settings.DOMAIN_APPS:
            command = f"load_{app.rsplit('.', 1)[-1]}_demo"
            if app not in ("catalog", "orders") and command in get_commands():
                call_command(command, shop=[s.pk for s in demo_shops], stdout=self.stdout)
        # The platform's moderator (made by the catalog demo) moderates products in the admin: platform
        # staff in the moderators' group (catalog migration 0004, catalog.moderation), not a superuser.
        moderator = User.objects.get(username=DEMO_MODERATOR)
        if not moderator.is_staff:
            User.objects.filter(pk=moderator.pk).update(is_staff=True)
        moderator.groups.add(moderators_group())  # made again if a flush removed the migration's group
        self.stdout.write(f"  Platform moderator: {DEMO_MODERATOR} (same password), moderates products at /admin/")
