from django.db import models
from guardian.models import UserObjectPermissionBase

from backoffice.authz.scopes import scope_permission_meta
from backoffice.jobs import BackgroundJob
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


class Route(ShopOwnedModel):
    """Multi-valued scope: a route is in a member's depot scope when any of its legs is."""

    name = models.CharField(max_length=50)
    scope_paths = {"depot": "legs__depot_id"}

    class Meta:
        default_manager_name = "unscoped"


class Leg(ShopOwnedModel):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="legs")
    depot = models.ForeignKey(Depot, on_delete=models.CASCADE)
    scope_paths = {"depot": "depot_id"}

    class Meta:
        default_manager_name = "unscoped"


class ScopeJob(BackgroundJob):
    """A background job kind of this test app: visibility follows the kernel's one job rule."""

    class Meta:
        default_manager_name = "unscoped"
