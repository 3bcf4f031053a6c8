"""URLs of a clinic chain's site (<slug>.<base domain>)."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tenants.accounts.urls")),
    path("", include("tenants.org.api.urls")),
    path("", include("patients.api.urls")),
    path("", include("scheduling.api.urls")),
    # This site's own operations; the public site names its own urlconf in the same way.
    path("schema/", SpectacularAPIView.as_view(urlconf="config.urls_tenant"), name="api-schema"),
    # Split: the init script is a file of its own, so the docs need no inline script under the CSP.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="frontend/swagger_ui.html"),
        name="api-docs",
    ),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("fhir/R4/", include("scheduling.fhir.urls")),
    path("", include("frontend.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
