from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register(r"shops/(?P<shop>\d+)/staff", views.StaffViewSet, basename="staff")
router.register(r"shops/(?P<shop>\d+)/roles", views.RoleViewSet, basename="roles")
router.register(r"shops/(?P<shop>\d+)/audit-log", views.AuditLogViewSet, basename="audit-log")
router.register(r"shops/(?P<shop>\d+)/notifications", views.NotificationViewSet, basename="notifications")

urlpatterns = [
    path("auth/signup/", views.SignupView.as_view(), name="signup"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/reauth/", views.ReauthView.as_view(), name="reauth"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password"),
    path("me/tokens/", views.MyTokensView.as_view(), name="my-tokens"),
    path("me/tokens/<int:pk>/", views.MyTokenRevokeView.as_view(), name="my-token"),
    path("me/sessions/", views.MySessionsView.as_view(), name="my-sessions"),
    path("me/sessions/<int:pk>/", views.MySessionRevokeView.as_view(), name="my-session"),
    path("shops/<int:shop>/", views.ShopView.as_view({"get": "retrieve", "patch": "partial_update"}), name="shop"),
    *router.urls,
]
