"""The API's OpenAPI document and its docs page, as each site (public, a chain's) serves them."""

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


def schema_urls(urlconf: str) -> list[URLPattern]:
    """`schema/`: the operations of the site whose urlconf is `urlconf` (without it, spectacular
    reads ROOT_URLCONF, the chain's, whichever site serves the schema); `docs/`: Swagger UI on it."""
    return [
        path("schema/", SpectacularAPIView.as_view(urlconf=urlconf), name="api-schema"),
        # Split: the init script is a file of its own, so the docs need no inline script under the CSP.
        path(
            "docs/",
            SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="frontend/swagger_ui.html"),
            name="api-docs",
        ),
    ]
