from django.urls import include, path

from reporting.api import views

urlpatterns = [
    path("reports/figures/", views.FiguresApi.as_view(), name="api-report-figures"),
    path("reports/money/", views.MoneyApi.as_view(), name="api-report-money"),
    path("reports/messages/", views.MessagesApi.as_view(), name="api-report-messages"),
    path("reports/load/", views.LoadApi.as_view(), name="api-report-load"),
    path("reports/appointments/", views.AppointmentsBehindApi.as_view(), name="api-report-appointments"),
    path("", include("reporting.api.worklist_urls")),
]
