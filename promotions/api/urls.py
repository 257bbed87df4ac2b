from django.urls import path
from rest_framework.routers import SimpleRouter

from promotions.api import ads, views

router = SimpleRouter()
SHOP = r"shops/(?P<shop>\d+)"
router.register(rf"{SHOP}/promotions", views.PromotionViewSet, basename="promotions")
router.register(rf"{SHOP}/ad-campaigns", ads.AdCampaignViewSet, basename="ad-campaigns")

urlpatterns = [
    *router.urls,
    path("integration/shops/<int:shop>/ad-stats/", ads.IntegrationAdStatsView.as_view(),
         name="integration-ad-stats"),
]  # fmt: skip
