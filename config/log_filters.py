"""Filters of the console log."""

from __future__ import annotations

import logging


class RefusalsOneLine(logging.Filter):
    """A refused request (a 4xx: 403 not allowed, 404 not found) is logged as one line, what was
    refused and where, without the traceback of the exception that refused it: refusals are
    expected, and a traceback per refusal buries the log's real errors. A 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
