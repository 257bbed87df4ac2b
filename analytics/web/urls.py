from django.urls import path

from analytics.web import reports, schedules

app_name = "analytics"

R = "shops/<int:shop>/analytics/reports"
S = "shops/<int:shop>/analytics/schedules"
urlpatterns: list = [
    # Report runs (analytics/web/reports.py)
    path(f"{R}/", reports.ReportsView.as_view(), name="reports"),
    path(f"{R}/runs/", reports.RunListView.as_view(), name="report_runs"),
    path(f"{R}/runs/<int:pk>/", reports.RunDetailView.as_view(), name="report_run"),
    path(f"{R}/runs/<int:pk>/download/", reports.RunDownloadView.as_view(), name="report_run_download"),
    # Report schedules (analytics/web/schedules.py)
    path(f"{S}/", schedules.ScheduleListView.as_view(), name="schedules"),
    path(f"{S}/new/", schedules.ScheduleCreateView.as_view(), name="schedule_create"),
    path(f"{S}/<int:pk>/", schedules.ScheduleDetailView.as_view(), name="schedule_detail"),
    path(f"{S}/<int:pk>/edit/", schedules.ScheduleEditView.as_view(), name="schedule_edit"),
    path(f"{S}/<int:pk>/pause/", schedules.ScheduleToggleView.as_view(op="pause"), name="schedule_pause"),
    path(f"{S}/<int:pk>/resume/", schedules.ScheduleToggleView.as_view(op="resume"), name="schedule_resume"),
    path(f"{S}/runs/<int:pk>/download/", schedules.ScheduleRunDownloadView.as_view(), name="schedule_run_download"),
]
