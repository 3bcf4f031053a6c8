"""What the calendar does when modules below it announce something."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from config.events import subscribe
from patients.events import PatientsMerged
from patients.exceptions import MergeRefused
from scheduling.models import CalendarEntry
from tenants.accounts.models import User
from tenants.audit.history import changed_by


def move_appointments_on_merge(event: PatientsMerged) -> None:
    """The merged record's appointments become the kept record's. If both records were booked at
    overlapping times the patient constraint refuses, and so does the whole merge."""
    try:
        actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
        with transaction.atomic():
            for entry in CalendarEntry.objects.filter(patient_id=event.merged_id).order_by("pk"):
                entry.patient_id = event.kept_id
                changed_by(entry, actor, reason=f"patient record {event.merged_id} merged into {event.kept_id}")
                entry.save(update_fields=["patient", "updated_at"])
    except IntegrityError as exc:
        raise MergeRefused(
            "Both records have appointments at overlapping times; cancel or move one of them first."
        ) from exc


def connect() -> None:
    from scheduling.services import waitlist

    subscribe(PatientsMerged, move_appointments_on_merge)
    waitlist.connect()  # freed times go to the waitlist
