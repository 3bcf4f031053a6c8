"""An appointment as an iCalendar event (RFC 5545), for the e-mail that confirms or moves it (to add
to the patient's calendar) and the one that cancels it (``cancelled``: METHOD:CANCEL, so a calendar
that kept the event removes it). One UID per appointment, so a moved appointment updates the event
the patient already has instead of adding a second one."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduling.models import CalendarEntry

STAMP = "%Y%m%dT%H%M%SZ"
FILENAME = "appointment.ics"
MIMETYPE = "text/calendar"


def _text(value: str) -> str:
    """RFC 5545 TEXT escaping."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r", "").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets are folded (a continuation starts with a space)."""
    raw = line.encode()
    if len(raw) <= 75:
        return [line]
    parts: list[str] = []
    chunk = b""
    for char in line:
        encoded = char.encode()
        if len(chunk) + len(encoded) > (75 if not parts else 74):
            parts.append(chunk.decode())
            chunk = b""
        chunk += encoded
    parts.append(chunk.decode())
    return [parts[0], *(" " + p for p in parts[1:])]


def appointment_ics(
    appointment: CalendarEntry,
    *,
    host: str,
    summary: str,
    description: str,
    now: datetime,
    cancelled: bool = False,
) -> str:
    """The calendar file of ``appointment`` (times in UTC, which every calendar shows on its own
    clock). ``host`` makes the UID the chain's own; ``now`` stamps it and orders the updates."""
    branch = appointment.branch
    where = str(branch or "")
    if branch is not None and branch.address:
        where = f"{branch}, {branch.address}".replace("\n", ", ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Clinicflow//Appointments//EN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        "BEGIN:VEVENT",
        f"UID:appointment-{appointment.pk}@{host.split(':')[0]}",
        # Later files win: a move or a cancellation replaces what the calendar holds.
        f"SEQUENCE:{int(now.timestamp())}",
        f"DTSTAMP:{now.astimezone(UTC):{STAMP}}",
        f"DTSTART:{appointment.span.lower.astimezone(UTC):{STAMP}}",
        f"DTEND:{appointment.span.upper.astimezone(UTC):{STAMP}}",
        "SUMMARY:" + _text(summary),
        "LOCATION:" + _text(where),
        "DESCRIPTION:" + _text(description),
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n"
