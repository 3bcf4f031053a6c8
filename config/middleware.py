"""Middleware of the shared kernel: rules about responses that hold for every module."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers

# Everything under these prefixes is about someone's data, so it never enters any cache.
PRIVATE_PREFIXES = ("/api/", "/fhir/")


class NoStoreMiddleware:
    """`Cache-Control: no-store` (and `Pragma: no-cache` for old proxies) on every response to a
    signed-in user (staff or portal patient), every API and FHIR response and every file download,
    error responses included: health data must not linger in a browser's or a proxy's cache, nor come
    back through the Back button after sign-out. Public pages and static files keep their caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if _private(request, response):
            # Replaces any caching a view asked for: max-age=0, no-cache, no-store, must-revalidate, private.
            add_never_cache_headers(response)
            response["Pragma"] = "no-cache"
        return response


def _private(request: HttpRequest, response: HttpResponseBase) -> bool:
    if request.path.startswith(PRIVATE_PREFIXES):
        return True
    # A file (an attachment, an .ics reached through a signed link) is private whoever asks. Static
    # files carry no Content-Disposition, so they keep their caching.
    if response.has_header("Content-Disposition"):
        return True
    # Set by AuthenticationMiddleware, or by DRF's authentication; absent when an earlier layer answered.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class RejectNulMiddleware:
    """A NUL byte in the path or the query string is never a real request (PostgreSQL cannot store
    one in text, so it would otherwise surface as a server error deep in a query): 400, through the
    site's error handler, before any view runs. Bodies are checked by their parsers and forms."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            raise BadRequest("NUL byte in the request")
        return self.get_response(request)
