from django.urls import path

from invoicing.reconciliation import api

urlpatterns = [
    path("invoicing/reconciliation/", api.ReconciliationApi.as_view(), name="api-reconciliation"),
    path("invoicing/reconciliation/mismatches/", api.MismatchListApi.as_view(), name="api-mismatches"),
    path(
        "invoicing/reconciliation/mismatches/<int:pk>/resolve/",
        api.MismatchResolveApi.as_view(),
        name="api-mismatch-resolve",
    ),
    path(
        "invoicing/reconciliation/mismatches/<int:pk>/record/",
        api.MismatchRecordApi.as_view(),
        name="api-mismatch-record",
    ),
    path("invoicing/reconciliation/payouts/<int:pk>/", api.PayoutDetailApi.as_view(), name="api-payout"),
]
