"""Periodic work on temporary sub-accounts: a scan over all shops queues one task per shop
(``fan_out``), which calls the service with the shop's system actor. Ids in, nothing else."""

from celery import shared_task
from django.utils import timezone

from accounts import selectors, services
from backoffice.authz import system_actor
from backoffice.jobs import fan_out


@shared_task(name="accounts.tasks.expire_temporary_members")
def expire_temporary_members() -> int:
    """Periodic (beat): queue the expiry of every shop with a temporary sub-account past its end; returns
    how many shops were queued."""
    shop_ids = selectors.shops_with_members_past_expiry(now=timezone.now())
    return fan_out("accounts.tasks.expire_temporary_members_in_shop", shop_ids)


@shared_task(name="accounts.tasks.expire_temporary_members_in_shop")
def expire_temporary_members_in_shop(shop_id: int) -> int:
    """Deactivate one shop's temporary sub-accounts whose time is up; returns how many."""
    return services.staff_expire_due(actor=system_actor(selectors.shop_get(shop_id=shop_id)))


@shared_task(name="accounts.tasks.notify_expiring_members")
def notify_expiring_members() -> int:
    """Periodic (beat): queue the "access ends soon" notices of every shop that has some to send."""
    shop_ids = selectors.shops_with_members_expiring(now=timezone.now(), within=services.EXPIRY_NOTICE)
    return fan_out("accounts.tasks.notify_expiring_members_in_shop", shop_ids)


@shared_task(name="accounts.tasks.notify_expiring_members_in_shop")
def notify_expiring_members_in_shop(shop_id: int) -> int:
    """Tell one shop's expiring temporary sub-accounts, their managers and the owner; returns how many members."""
    return services.staff_expiry_notify(actor=system_actor(selectors.shop_get(shop_id=shop_id)))
