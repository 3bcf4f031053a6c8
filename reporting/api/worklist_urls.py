"""The work lists' API (reporting/api/worklist_views.py), under /api/v1/reports/."""

from django.urls import path

from reporting.api import worklist_views as views

urlpatterns = [
    path("reports/call-backs/", views.CallBackListApi.as_view(), name="api-report-call-backs"),
    path("reports/call-backs/counts/", views.CallBackCountsApi.as_view(), name="api-report-call-back-counts"),
    path("reports/receivables/", views.ReceivableListApi.as_view(), name="api-report-receivables"),
    path("reports/receivables/aging/", views.ReceivablesAgingApi.as_view(), name="api-report-receivables-aging"),
    path("reports/packages/", views.PackageListApi.as_view(), name="api-report-packages"),
    path("reports/packages/products/", views.PackageTotalsApi.as_view(), name="api-report-package-products"),
]
