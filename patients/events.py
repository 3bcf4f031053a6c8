"""What the patient record announces."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from config.events import Event


@dataclass(frozen=True)
class PatientsMerged(Event):
    """`merged_id` was folded into `kept_id`: modules holding patient rows move them over, in the
    same transaction (a refusal by any of them undoes the whole merge)."""

    kept_id: int
    merged_id: int
    actor_id: int | None


class CodePurpose(StrEnum):
    SIGN_IN = "sign_in"
    BOOKING = "booking"


@dataclass(frozen=True)
class PortalCodeIssued(Event):
    """A one-time code was issued (patients/portal.py): notifications sends it to `destination`
    on `channel` ("email" or "sms") once the transaction commits. The code is in the clear only
    here, in memory, on its way to the message."""

    purpose: CodePurpose
    channel: str
    destination: str
    code: str
    minutes: int
