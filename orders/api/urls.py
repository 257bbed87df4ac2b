from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import views

router = SimpleRouter()
SHOP = r"shops/(?P<shop>\d+)"
router.register(rf"{SHOP}/orders", views.OrderViewSet, basename="orders")
router.register(rf"{SHOP}/returns", views.ReturnViewSet, basename="returns")
router.register(rf"{SHOP}/refunds", views.RefundViewSet, basename="refunds")
router.register(rf"{SHOP}/order-exports", views.ExportViewSet, basename="order-exports")
router.register(rf"{SHOP}/carriers", views.CarrierViewSet, basename="carriers")

urlpatterns = [
    *router.urls,
    path("integration/shops/<int:shop>/orders/", views.IntegrationOrderIntakeView.as_view(),
         name="integration-orders"),
    path("integration/shops/<int:shop>/orders/<int:pk>/tracking-events/", views.IntegrationTrackingEventView.as_view(),
         name="integration-tracking-events"),
    path("integration/shops/<int:shop>/orders/<int:pk>/returns/", views.IntegrationReturnRequestView.as_view(),
         name="integration-returns"),
]  # fmt: skip
