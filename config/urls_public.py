"""URLs of the public site (the base domain): platform pages, platform API, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from config.schema_urls import schema_urls
from invoicing.connect.webhooks import connect_webhook

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tenants.accounts.urls")),
    path("", include("tenants.api.urls")),
    # This site's own operations (platform and accounts) and their docs.
    *schema_urls("config.urls_public"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    # Stripe Connect: every connected account's events (signature-verified, CSRF-exempt).
    path("stripe/connect/webhook/", connect_webhook, name="stripe-connect-webhook"),
    path("api/v1/", include(api_v1)),
    path("", include("frontend.platform_urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
