from django.urls import include, path

from invoicing.api import views

urlpatterns = [
    path("invoicing/invoices/", views.InvoiceListApi.as_view(), name="api-invoices"),
    path("invoicing/invoices/<int:pk>/", views.InvoiceDetailApi.as_view(), name="api-invoice"),
    path("invoicing/invoices/<int:pk>/pdf/", views.InvoicePdfApi.as_view(), name="api-invoice-pdf"),
    path("invoicing/invoices/<int:pk>/issue/", views.InvoiceIssueApi.as_view(), name="api-invoice-issue"),
    path("invoicing/invoices/<int:pk>/void/", views.InvoiceVoidApi.as_view(), name="api-invoice-void"),
    path("invoicing/invoices/<int:pk>/payments/", views.PaymentRecordApi.as_view(), name="api-invoice-payments"),
    path("invoicing/invoices/<int:pk>/credit-notes/", views.CreditNoteApi.as_view(), name="api-invoice-credit-notes"),
    path("invoicing/payments/<int:pk>/refunds/", views.RefundRecordApi.as_view(), name="api-payment-refunds"),
    path("invoicing/patients/<int:pk>/balance/", views.PatientBalanceApi.as_view(), name="api-patient-balance"),
    path(
        "invoicing/appointments/<int:pk>/invoice/",
        views.AppointmentInvoiceApi.as_view(),
        name="api-appointment-invoice",
    ),
    path("invoicing/receivables/", views.ReceivablesApi.as_view(), name="api-receivables"),
    path("", include("invoicing.api.fee_urls")),  # fees and cards on file
    path("", include("invoicing.api.package_urls")),  # cancelling a package sale
    path("", include("invoicing.api.desk_urls")),  # a patient's whole balance paid at once, a day's takings
]
