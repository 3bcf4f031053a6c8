"""The values a message's template may use, read when the message is sent (so a reminder always
names the appointment's current time, on its branch's clock, in the recipient's language).

Placeholders: patient, doctor, branch, service, date, time, when (date and time together), manage_link,
amount, clinic, code, link, text. Unknown ones render empty."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications.models import Message


@dataclass(frozen=True)
class Values:
    values: dict[str, str]
    #: Values that must not be kept in the log (a manage link's token, a code).
    secrets: tuple[str, ...] = field(default=())


def placeholders(message: Message) -> Values:
    """The values of ``message``'s context as text; the ones named in ``context["secret"]`` are secrets."""
    values = {str(name): str(value) for name, value in message.context.items() if name != "secret"}
    secret_names = message.context.get("secret") or []
    return Values(values=values, secrets=tuple(values.get(str(n), "") for n in secret_names))
