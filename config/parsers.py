"""Request parsers of the API (kept apart from config.api: DRF's settings import them while its
views module is still loading)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions as drf
from rest_framework.parsers import JSONParser as DrfJSONParser

# No request of ours nests deeper than a FHIR resource does; far deeper is an attack on the parser.
JSON_MAX_DEPTH = 32


def _problem(data: Any, limit: int) -> str | None:
    """Why a parsed body is refused: nested past `limit`, or a NUL byte in a key or a string
    (PostgreSQL cannot store one in text, so it would surface as a server error deep in a query)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "The JSON body contains a NUL character (\\u0000)."
        elif isinstance(value, dict | list):
            if depth > limit:
                return f"The JSON body is nested deeper than {limit} levels."
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return None


class JSONParser(DrfJSONParser):
    """DRF's JSON parser with a nesting limit and no NUL characters: a body nested past JSON_MAX_DEPTH
    (or deep enough to exhaust Python's recursion), or with \\u0000 anywhere, is a 400
    malformed_request, never a server error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise drf.ParseError("The JSON body is nested too deeply.") from exc
        problem = _problem(data, JSON_MAX_DEPTH)
        if problem:
            raise drf.ParseError(problem)
        return data
