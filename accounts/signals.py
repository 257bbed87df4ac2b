"""Framework hooks only (no business logic): a saved or deleted row that decides who may do what
bumps its generation in the access cache (``backoffice.authz.cache``), so the next request re-reads it.
Bulk writes send no signals; the services that make them call the cache themselves."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import ApiToken, Membership, Role, Shop, ShopGroupObjectPermission, ShopUserObjectPermission, User
from backoffice.authz import cache as access_cache


@receiver([post_save, post_delete], sender=Shop)
def _shop_changed(sender, instance: Shop, **kwargs) -> None:
    access_cache.shop_changed(instance.pk)


@receiver([post_save, post_delete], sender=Membership)
@receiver([post_save, post_delete], sender=Role)
@receiver([post_save, post_delete], sender=ShopUserObjectPermission)
@receiver([post_save, post_delete], sender=ShopGroupObjectPermission)
def _shop_access_changed(sender, instance, **kwargs) -> None:
    access_cache.shop_changed(getattr(instance, "shop_id", None) or instance.content_object_id)


@receiver([post_save, post_delete], sender=User)
def _user_changed(sender, instance: User, **kwargs) -> None:
    if not access_cache.enabled():
        return
    access_cache.user_changed(instance.pk)
    # A cached token carries its user: it must be re-read too.
    access_cache.token_changed(*ApiToken.objects.filter(user_id=instance.pk).values_list("key_hash", flat=True))


@receiver([post_save, post_delete], sender=ApiToken)
def _token_changed(sender, instance: ApiToken, **kwargs) -> None:
    access_cache.token_changed(instance.key_hash)
