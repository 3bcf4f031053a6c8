"""Request parsers of the API (kept apart from config.api: DRF's settings import them while its
views module is still loading)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions as drf
from rest_framework.parsers import JSONParser as DrfJSONParser

# No request of ours nests deeper than a FHIR resource does; far deeper is an attack on the parser.
JSON_MAX_DEPTH = 32


def _too_deep(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(DrfJSONParser):
    """DRF's JSON parser with a nesting limit: a body nested past JSON_MAX_DEPTH (or deep enough to
    exhaust Python's recursion) is a 400 malformed_request, never a server error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise drf.ParseError("The JSON body is nested too deeply.") from exc
        if _too_deep(data, JSON_MAX_DEPTH):
            raise drf.ParseError(f"The JSON body is nested deeper than {JSON_MAX_DEPTH} levels.")
        return data
