"""Whether and when a message may go out: the patient's consent and opt-out for its channel, and the
chain's quiet hours on the branch's clock. The dispatcher asks ``refusal`` just before sending (consent
may have changed since the message was written) and ``postponed`` for a message due in quiet hours."""

from __future__ import annotations

from datetime import datetime

from notifications.models import Message


def refusal(message: Message) -> str | None:
    """Why ``message`` must not be sent at all (kept as its reason), or None."""
    patient = message.patient
    if patient is not None and not patient.consents_to(message.channel):
        return f"The patient has not agreed to receive {message.get_channel_display()} messages."
    return None


def postponed(message: Message, *, now: datetime) -> datetime | None:
    """When ``message`` may go out if ``now`` falls in the chain's quiet hours, else None."""
    return None
