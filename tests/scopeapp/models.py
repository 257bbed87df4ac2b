from django.db import models
from guardian.models import UserObjectPermissionBase

from backoffice.authz.scopes import scope_permission_meta
from backoffice.tenancy.models import ShopOwnedModel


class Depot(ShopOwnedModel):
    name = models.CharField(max_length=50)
    scope_paths = {"depot": "pk"}

    class Meta:
        permissions = [scope_permission_meta("depot")]
        default_manager_name = "unscoped"


class DepotUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Depot, on_delete=models.CASCADE)


class Parcel(ShopOwnedModel):
    depot = models.ForeignKey(Depot, on_delete=models.CASCADE)
    label = models.CharField(max_length=50)
    scope_paths = {"depot": "depot_id"}

    class Meta:
        default_manager_name = "unscoped"
