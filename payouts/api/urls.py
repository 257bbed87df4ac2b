from django.urls import path
from rest_framework.routers import SimpleRouter

from payouts.api import views

router = SimpleRouter()
SHOP = r"shops/(?P<shop>\d+)"
router.register(rf"{SHOP}/ledger", views.LedgerViewSet, basename="ledger")

urlpatterns = [
    *router.urls,
    path("shops/<int:shop>/balance/", views.BalanceView.as_view({"get": "retrieve"}), name="balance"),
]
