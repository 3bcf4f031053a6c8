"""URLs of the public site (the base domain): platform pages, platform API, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from config.schema_urls import schema_urls

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tenants.accounts.urls")),
    path("", include("tenants.api.urls")),
    # This site's own operations (platform and accounts) and their docs.
    *schema_urls("config.urls_public"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("frontend.platform_urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
