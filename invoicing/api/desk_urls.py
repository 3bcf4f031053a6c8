from django.urls import path

from invoicing.api import desk_views as views

urlpatterns = [
    path("invoicing/patients/<int:pk>/payments/", views.BalancePaymentApi.as_view(), name="api-patient-payments"),
    path("invoicing/takings/", views.TakingsApi.as_view(), name="api-takings"),
]
