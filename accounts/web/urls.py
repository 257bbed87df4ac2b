from django.urls import path

from accounts.web import history, views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/login/otp/", views.LoginOtpView.as_view(), name="login_otp"),
    path("accounts/password/choose/", views.PasswordChooseView.as_view(), name="password_choose"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/signup/", views.SignupView.as_view(), name="signup"),
    path("accounts/reauth/", views.ReauthView.as_view(), name="reauth"),
    path("accounts/security/", views.SecurityView.as_view(), name="security"),
    path("shops/new/", views.OpenShopView.as_view(), name="open_shop"),
    path("shops/<int:shop>/", views.DashboardView.as_view(), name="dashboard"),
    path("shops/<int:shop>/staff/", views.StaffListView.as_view(), name="staff_list"),
    path("shops/<int:shop>/staff/new/", views.StaffCreateView.as_view(), name="staff_create"),
    path("shops/<int:shop>/staff/<int:pk>/", views.StaffDetailView.as_view(), name="staff_detail"),
    path("shops/<int:shop>/staff/<int:pk>/deactivate/", views.StaffDeactivateView.as_view(), name="staff_deactivate"),
    path("shops/<int:shop>/staff/<int:pk>/reactivate/", views.StaffReactivateView.as_view(), name="staff_reactivate"),
    path("shops/<int:shop>/roles/", views.RoleListView.as_view(), name="role_list"),
    path("shops/<int:shop>/roles/new/", views.RoleFormView.as_view(), name="role_create"),
    path("shops/<int:shop>/roles/<int:pk>/", views.RoleFormView.as_view(), name="role_edit"),
    path("shops/<int:shop>/audit/", history.AuditLogView.as_view(), name="audit_log"),
    path("shops/<int:shop>/staff/<int:member>/activity/", history.MemberActivityView.as_view(), name="member_activity"),
    path("accounts/security/sessions/end-others/", history.SessionsEndOthersView.as_view(), name="sessions_end_others"),
    path("shops/<int:shop>/settings/", views.ShopSettingsView.as_view(), name="shop_settings"),
    path("shops/<int:shop>/notifications/", views.NotificationListView.as_view(), name="notifications"),
    path(
        "shops/<int:shop>/notifications/preferences/",
        views.NotificationPreferencesView.as_view(),
        name="notification_preferences",
    ),
]
