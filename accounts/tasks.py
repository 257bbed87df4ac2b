from celery import shared_task

from accounts import services


@shared_task(name="accounts.tasks.expire_temporary_members")
def expire_temporary_members() -> int:
    """Periodic (beat): deactivate temporary sub-accounts whose expiry has passed."""
    return services.expire_temporary_members()


@shared_task(name="accounts.tasks.notify_expiring_members")
def notify_expiring_members() -> int:
    """Periodic (beat): tell temporary sub-accounts and their managers that access ends soon."""
    return services.expiring_members_notify()
