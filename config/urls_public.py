"""URLs of the public site (the base domain): platform pages, platform API, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tenants.accounts.urls")),
    path("", include("tenants.api.urls")),
    # This site's own operations (platform and accounts): without the urlconf, spectacular reads
    # ROOT_URLCONF, the chain's, whichever site serves the schema.
    path("schema/", SpectacularAPIView.as_view(urlconf="config.urls_public"), name="api-schema"),
    # Split: the init script is a file of its own, so the docs need no inline script under the CSP.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="frontend/swagger_ui.html"),
        name="api-docs",
    ),
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
