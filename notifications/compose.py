"""What a message says, decided when it is sent: the placeholders of its context (names, the local
time on the branch's clock, the manage link...) filled into the chain's template for its kind,
channel and language. Secrets (a manage link's token, a sign-in code) are in the text sent and
masked in the text kept for the log."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications.models import Message
from notifications.placeholders import placeholders
from notifications.templates import render


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str
    #: The body as the message log keeps it: each secret value replaced by "…".
    logged_body: str
    #: Files an e-mail carries: (filename, content, mimetype). SMS ignores them.
    attachments: tuple[tuple[str, str, str], ...] = field(default=())


def compose(message: Message, *, preview: bool = False) -> Composed:
    """``message``'s text as it is sent now; a ``preview`` (the message's page) issues nothing."""
    values = placeholders(message, preview=preview)
    subject, body = render(kind=message.kind, channel=message.channel, language=message.language, values=values.values)
    return Composed(
        subject=subject,
        body=body,
        logged_body=masked(body, values.secrets),
        attachments=values.attachments,
    )


def masked(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each secret value replaced by "…"."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "…")
    return text
