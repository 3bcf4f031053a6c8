from django.urls import path

from invoicing.api import fee_views as views

urlpatterns = [
    path("invoicing/fee-policy/", views.FeePolicyApi.as_view(), name="api-fee-policy"),
    path("invoicing/fees/", views.FeeListApi.as_view(), name="api-fees"),
    path("invoicing/fees/<int:pk>/retry/", views.FeeRetryApi.as_view(), name="api-fee-retry"),
    path("invoicing/fees/<int:pk>/waive/", views.FeeWaiveApi.as_view(), name="api-fee-waive"),
    path("invoicing/patients/<int:pk>/card/", views.PatientCardApi.as_view(), name="api-patient-card"),
    path("invoicing/patients/<int:pk>/card/link/", views.PatientCardLinkApi.as_view(), name="api-patient-card-link"),
]
