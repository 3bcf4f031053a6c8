from django.urls import path

from invoicing.connect import api

urlpatterns = [
    path("payments/stripe/", api.StripeConnectionApi.as_view(), name="api-stripe-connection"),
    path("payments/stripe/onboarding/", api.StripeOnboardingApi.as_view(), name="api-stripe-onboarding"),
    path("payments/stripe/refresh/", api.StripeRefreshApi.as_view(), name="api-stripe-refresh"),
]
