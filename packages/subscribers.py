"""What packages do when the calendar announces something (scheduling.events): a booking of a
covered service reserves a session, a completed visit consumes it, a cancellation in time releases
it, a late cancellation by the patient or a no-show forfeits it. Rescheduling keeps it. All inside the calendar
change's transaction, so the session and the visit commit or roll back together."""

from __future__ import annotations

from config.events import subscribe
from packages import services
from patients.events import PatientsMerged
from scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCompleted,
    AppointmentNoShow,
)
from tenants.accounts.models import User


def _actor(actor_id: int | None) -> User | None:
    return User.objects.filter(pk=actor_id).first() if actor_id else None


def reserve_on_booking(event: AppointmentBooked) -> None:
    services.session_reserve(appointment_id=event.appointment_id, actor=_actor(event.actor_id))


def consume_on_completion(event: AppointmentCompleted) -> None:
    services.session_consume(appointment_id=event.appointment_id, actor=_actor(event.actor_id))


def settle_on_cancellation(event: AppointmentCancelled) -> None:
    """Forfeited when the patient cancelled late (or asked the desk to); the clinic's own
    cancellation, late or not, gives the session back (it carries no fee either)."""
    actor = _actor(event.actor_id)
    if event.late and event.by_patient:
        services.session_forfeit(appointment_id=event.appointment_id, actor=actor, note="late cancellation")
    else:
        services.session_release(appointment_id=event.appointment_id, actor=actor, note="cancelled in time")


def forfeit_on_no_show(event: AppointmentNoShow) -> None:
    services.session_forfeit(appointment_id=event.appointment_id, actor=_actor(event.actor_id), note="no-show")


def move_purchases_on_merge(event: PatientsMerged) -> None:
    services.purchases_move_on_merge(merged_id=event.merged_id, kept_id=event.kept_id, actor=_actor(event.actor_id))


def connect() -> None:
    subscribe(AppointmentBooked, reserve_on_booking)
    subscribe(AppointmentCompleted, consume_on_completion)
    subscribe(AppointmentCancelled, settle_on_cancellation)
    subscribe(AppointmentNoShow, forfeit_on_no_show)
    subscribe(PatientsMerged, move_purchases_on_merge)
