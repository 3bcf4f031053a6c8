"""What the reporting triggers mark for the writes a clinic's day is made of (reporting migration
0006): a booking marks its cell once, with its patient; a reminder marks its visit only when whether
it was sent changes; a write that changes nothing a figure reads marks nothing. Fewer marks are a
cheaper booking, and each still leads the refresh to every cell it changes."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone

from notifications.models import Kind, Message
from reporting.models import Dirty, DoctorDay
from reporting.rollups import Scope, rollups_refresh_all
from scheduling import services as sched
from scheduling.models import Appointment
from tests.factories.scheduling import clinic_setup
from tests.notifications.sent_world import messaging, reachable

pytestmark = pytest.mark.django_db


def _marks() -> list[tuple[str, int | None, int | None, int | None]]:
    return list(Dirty.objects.order_by("pk").values_list("scope", "doctor_id", "patient_id", "ref_id"))


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def booked(in_a):
    """A reachable patient booked for a visit a week ahead, with its confirmation and a reminder
    written; the marks that booking left."""
    clinic = clinic_setup(in_a)
    messaging(offsets=[24 * 60])
    patient = reachable(clinic)
    day = _weekday(clinic.days_ahead(7))
    Dirty.objects.all().delete()
    appointment = sched.appointment_book(
        actor=clinic.owner,
        patient=patient,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(day, 10),
        source="phone",
    )
    return clinic, appointment, _marks()


def test_a_booking_marks_its_cell_once_with_its_patient(booked):
    clinic, appointment, marks = booked
    visits = [m for m in marks if m[0] == Scope.VISIT]
    assert visits == [(Scope.VISIT, clinic.doctors[0].pk, appointment.patient_id, None)]
    mark = Dirty.objects.get(scope=Scope.VISIT)
    # the patient's visits from 31 days before the booking: their rebooked figures may change
    assert mark.day_from <= (appointment.created_at - timedelta(days=31)).astimezone(UTC).date()
    assert mark.day_from >= (appointment.created_at - timedelta(days=32)).astimezone(UTC).date()
    assert not [m for m in marks if m[0] == Scope.PATIENT]
    # its messages mark their own days; a reminder not yet sent marks no visit
    written = Message.objects.filter(appointment_id=appointment.pk).count()
    assert Message.objects.filter(appointment_id=appointment.pk, kind=Kind.REMINDER).exists()
    assert [m for m in marks if m[0] == Scope.MESSAGE] == [(Scope.MESSAGE, None, None, None)] * written
    assert not [m for m in marks if m[0] == Scope.VISIT_OF]


def test_a_reminder_marks_its_visit_when_it_is_sent_and_when_that_is_undone(booked):
    _, appointment, _ = booked
    reminder = Message.objects.filter(appointment_id=appointment.pk, kind=Kind.REMINDER).first()
    Dirty.objects.all().delete()
    Message.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
    assert (Scope.VISIT_OF, None, None, appointment.pk) in _marks()
    Dirty.objects.all().delete()
    Message.objects.filter(pk=reminder.pk).update(sent_at=None)
    assert (Scope.VISIT_OF, None, None, appointment.pk) in _marks()
    Dirty.objects.all().delete()
    Message.objects.filter(pk=reminder.pk).delete()  # unsent: the figure never counted it
    assert [m[0] for m in _marks()] == [Scope.MESSAGE]


def test_a_write_that_changes_no_figure_marks_nothing(booked):
    _, appointment, _ = booked
    Dirty.objects.all().delete()
    Appointment.objects.filter(pk=appointment.pk).update(notes="Bring the last letter", updated_at=timezone.now())
    Message.objects.filter(appointment_id=appointment.pk).update(body="Reworded")
    assert _marks() == []


def test_a_visit_moved_to_another_day_marks_both_cells_and_both_are_computed_again(booked):
    clinic, appointment, _ = booked
    rollups_refresh_all()
    first_day = appointment.span.lower.astimezone(clinic.tz).date()
    later = _weekday(first_day + timedelta(days=1))
    Dirty.objects.all().delete()
    sched.appointment_reschedule(actor=clinic.owner, appointment=appointment, start=clinic.at(later, 11))
    visits = [m for m in Dirty.objects.filter(scope=Scope.VISIT)]
    assert sorted(m.at.astimezone(clinic.tz).date() for m in visits) == [first_day, later]
    rollups_refresh_all()
    by_day = dict(
        DoctorDay.objects.filter(doctor_id=clinic.doctors[0].pk, day__in=[first_day, later]).values_list(
            "day", "bookings"
        )
    )
    assert by_day.get(later) == 1
    assert by_day.get(first_day, 0) == 0
