"""The words of each message: a built-in default per kind, channel and language, which a chain may
override (``notifications.models.Template``). Rendering only replaces ``{name}`` placeholders from a
fixed list with plain values: no template language, so text a user writes can never run code."""

from __future__ import annotations

import re
from collections.abc import Mapping

from notifications.models import Channel, Kind, Template

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    (Kind.REMINDER, Channel.SMS): ("", "Reminder: {patient}, your {service} with {doctor} at {branch} is on {when}."),
    (Kind.REMINDER, Channel.EMAIL): (
        "Reminder: {service} on {when}",
        "Hello {patient},\n\nThis is a reminder of your {service} with {doctor} at {branch} on {when}.",
    ),
    (Kind.CONFIRMATION, Channel.SMS): ("", "{clinic}: your {service} is booked for {when}. Manage it: {manage_link}"),
    (Kind.CONFIRMATION, Channel.EMAIL): (
        "Booked: {service} on {when}",
        "Hello {patient},\n\nYour {service} with {doctor} at {branch} is booked for {when}.\n\n"
        "To move or cancel it: {manage_link}",
    ),
}


def render(*, kind: str, channel: str, language: str, values: Mapping[str, str]) -> tuple[str, str]:
    """(subject, body) of a message: the chain's template for (kind, channel, language), else the
    default, with each ``{name}`` replaced by its value (unknown names by nothing)."""
    own = Template.objects.filter(kind=kind, channel=channel, language=language).first()
    subject, body = (own.subject, own.body) if own else DEFAULTS.get((kind, channel), ("", "{text}"))

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), text)

    return fill(subject), fill(body)
