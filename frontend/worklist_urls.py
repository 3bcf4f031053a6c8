"""The work lists' pages (frontend/worklist_views.py), among the reports."""

from django.urls import path

from frontend import worklist_views

urlpatterns = [
    path("reports/call-backs/", worklist_views.call_backs, name="report-call-backs"),
    path("reports/receivables/", worklist_views.receivables, name="report-receivables"),
    path("reports/packages/", worklist_views.packages, name="report-packages"),
]
