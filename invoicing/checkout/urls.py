from django.urls import path

from invoicing.checkout import api

urlpatterns = [
    path("invoicing/online-payments/policy/", api.OnlinePaymentPolicyApi.as_view(), name="api-online-payment-policy"),
    path(
        "invoicing/online-booking/holds/<int:pk>/checkout/",
        api.OnlineBookingCheckoutApi.as_view(),
        name="api-online-booking-checkout",
    ),
    path(
        "invoicing/online-booking/checkouts/<str:token>/",
        api.OnlineCheckoutApi.as_view(),
        name="api-online-checkout",
    ),
]
