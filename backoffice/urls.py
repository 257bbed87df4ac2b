"""The project's URLs: each app in DOMAIN_APPS contributes ``<app>/api/urls.py`` (under ``/api/v1/``)
and ``<app>/web/urls.py`` (pages), so a new app plugs in without this file naming it."""

from importlib.util import find_spec

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.module_loading import import_string
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def _app_urls(module: str) -> list:
    return [(app, f"{app}.{module}.urls") for app in settings.DOMAIN_APPS if find_spec(f"{app}.{module}") is not None]


api_v1 = [path("", include((urls, f"{app}_api"))) for app, urls in _app_urls("api")]

urlpatterns = [
    path("", import_string(settings.HOME_VIEW), name="home"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg"), name="favicon"),
    *[path("", include(urls)) for _app, urls in _app_urls("web")],
]
