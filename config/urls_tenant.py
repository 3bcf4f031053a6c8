"""URLs of a clinic chain's site (<slug>.<base domain>)."""

from django.urls import URLPattern, URLResolver, include, path

from config.schema_urls import schema_urls

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tenants.accounts.urls")),
    path("", include("tenants.org.api.urls")),
    path("", include("patients.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("invoicing.connect.urls")),
    path("", include("packages.api.urls")),
    path("", include("invoicing.api.urls")),
    path("", include("invoicing.reconciliation.urls")),
    path("", include("invoicing.checkout.urls")),
    path("", include("notifications.api.urls")),
    path("", include("reporting.api.urls")),
    # This site's own operations and their docs.
    *schema_urls("config.urls_tenant"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("fhir/R4/", include("scheduling.fhir.urls")),
    path("", include("notifications.urls")),  # Twilio's webhooks
    path("", include("frontend.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
