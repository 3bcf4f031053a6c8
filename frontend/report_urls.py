"""The reports' pages (frontend/report_views.py); the work lists are pages of their own
(frontend/worklist_views.py)."""

from django.urls import path

from frontend import report_views

urlpatterns = [
    path("reports/", report_views.reports, name="reports"),
    path("reports/overview/", report_views.overview, name="report-overview"),
    path("reports/branches/<int:pk>/", report_views.branch_dashboard, name="report-branch"),
    path("reports/doctors/<int:pk>/", report_views.doctor_dashboard, name="report-doctor"),
    path("reports/appointments/", report_views.appointments, name="report-appointments"),
]
