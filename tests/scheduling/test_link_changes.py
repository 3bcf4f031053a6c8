"""A booking link's holder cancels or moves the appointment through one service each, as the
patient, all or nothing: a refusal makes no portal account and leaves the appointment as it was."""

from __future__ import annotations

import pytest

from patients.models import Patient
from scheduling import services as sched
from scheduling.exceptions import ManageLinkInvalid, TooLateToCancel
from scheduling.models import Appointment, Status
from tests.factories.scheduling import Clinic, book


def _linked(clinic: Clinic, days: int = 3, hour: int = 10) -> tuple[Appointment, str]:
    appointment = book(clinic, clinic.at(clinic.days_ahead(days), hour))
    return appointment, sched.manage_link_issue(appointment=appointment)


def test_a_link_cancels_its_appointment_as_the_patient(clinic):
    # given a booked appointment with its link, and no cancellation window
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    appointment, token = _linked(clinic)

    # when the link's holder cancels
    cancelled = sched.manage_link_cancel(token=token)

    # then the appointment is cancelled by the patient's own account, and the link is dead
    stored = Appointment.objects.get(pk=appointment.pk)
    assert stored.status == Status.CANCELLED
    assert stored.cancellation_reason == "Cancelled online from the booking link"
    assert Patient.objects.get(pk=appointment.patient_id).user_id is not None
    assert cancelled.pk == appointment.pk
    with pytest.raises(ManageLinkInvalid):
        sched.manage_link_resolve(token=token)


def test_a_refused_cancel_from_a_link_changes_nothing(clinic):
    # given a booked appointment with its link, inside a week-long cancellation window
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24 * 7)
    appointment, token = _linked(clinic)

    # when the link's holder cancels, then it is refused
    with pytest.raises(TooLateToCancel):
        sched.manage_link_cancel(token=token)

    # and the appointment is still booked, the link still works, and no portal account was made
    assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED
    assert sched.manage_link_resolve(token=token).pk == appointment.pk
    assert Patient.objects.get(pk=appointment.patient_id).user_id is None


def test_a_link_moves_its_appointment_and_still_opens_it(clinic):
    # given a booked appointment with its link
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    appointment, token = _linked(clinic, days=3, hour=10)
    later = clinic.at(clinic.days_ahead(4), 11)

    # when the link's holder moves it a day later
    moved = sched.manage_link_reschedule(token=token, start=later)

    # then it starts at the new time with the same doctor, and the link opens the moved appointment
    stored = Appointment.objects.get(pk=appointment.pk)
    assert (stored.span.lower, stored.doctor_id) == (later, appointment.doctor_id)
    assert moved.pk == appointment.pk
    assert sched.manage_link_resolve(token=token).span.lower == later


def test_a_forged_link_changes_nothing(clinic):
    # given a booked appointment with its link
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    appointment, token = _linked(clinic)

    # when someone tries a forged link to cancel or move, then it opens nothing
    with pytest.raises(ManageLinkInvalid):
        sched.manage_link_cancel(token=token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(ManageLinkInvalid):
        sched.manage_link_reschedule(token="forged", start=clinic.at(clinic.days_ahead(4), 11))

    # and the appointment is as it was
    stored = Appointment.objects.get(pk=appointment.pk)
    assert (stored.status, stored.span.lower) == (Status.BOOKED, appointment.span.lower)
    assert Patient.objects.get(pk=appointment.patient_id).user_id is None
