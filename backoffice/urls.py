from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.web.views import home

api_v1 = [
    path("", include(("accounts.api.urls", "accounts_api"))),
    path("", include(("catalog.api.urls", "catalog_api"))),
    path("", include(("orders.api.urls", "orders_api"))),
]

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg")),
    path("", include("accounts.web.urls")),
    path("", include("catalog.web.urls")),
    path("", include("orders.web.urls")),
]
