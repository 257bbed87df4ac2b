"""The base every shop-owned row inherits: a non-null, indexed ``shop`` key and a
manager that refuses to build a query without a shop.

``Model.objects.for_shop(shop)`` is the only way in for request code;
``Model.unscoped`` is the explicit, greppable door for platform code, migrations
and tasks that loop over shops (it is also the default manager, so Django's own
machinery - admin, related managers, dumpdata - keeps working).
"""

from __future__ import annotations

from django.db import models


class UnscopedQueryError(RuntimeError):
    """A query on a shop-owned model was started without naming the shop."""


class ShopScopedManager(models.Manager):
    def get_queryset(self):
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects needs a shop: use .for_shop(shop), "
            f"or {self.model.__name__}.unscoped for platform code."
        )

    def none(self) -> models.QuerySet:
        # An empty queryset reads no shop's rows; schema generators and form defaults ask for it.
        return super().get_queryset().none()

    def for_shop(self, shop) -> models.QuerySet:
        shop_id = getattr(shop, "pk", shop)
        if shop_id is None:
            raise UnscopedQueryError("for_shop() was given no shop")
        return super().get_queryset().filter(shop_id=shop_id)


class ShopOwnedModel(models.Model):
    shop = models.ForeignKey("accounts.Shop", on_delete=models.PROTECT, related_name="+", db_index=True)

    unscoped = models.Manager()
    objects = ShopScopedManager()

    # Which per-object scopes narrow this model, as {scope key: lookup to the scoped object's id}.
    # e.g. a stock row: {"warehouse": "warehouse_id"}; a warehouse itself: {"warehouse": "pk"}.
    scope_paths: dict[str, str] = {}

    class Meta:
        abstract = True
        default_manager_name = "unscoped"
