from django.urls import path
from rest_framework.routers import SimpleRouter

from analytics.api import dashboard, reports, schedules, storefront

app_name = "analytics_api"

SHOP = r"shops/(?P<shop>\d+)"
# Report runs and the report types (analytics/api/reports.py)
router = SimpleRouter()
router.register(rf"{SHOP}/reports", reports.ReportRunViewSet, basename="reports")
router.register(rf"{SHOP}/report-types", reports.ReportTypeViewSet, basename="report-types")
# Report schedules (analytics/api/schedules.py)
router.register(rf"{SHOP}/report-schedules", schedules.ReportScheduleViewSet, basename="report-schedules")

urlpatterns: list = [
    path("integration/shops/<int:shop>/storefront-events/", storefront.IntegrationStorefrontEventsView.as_view(),
         name="integration-storefront-events"),
    # The dashboard's sales figures (analytics/api/dashboard.py)
    path("shops/<int:shop>/dashboard/", dashboard.DashboardView.as_view({"get": "retrieve"}), name="dashboard"),
]  # fmt: skip
urlpatterns += router.urls
