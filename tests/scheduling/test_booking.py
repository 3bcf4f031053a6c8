from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from config.errors import PermissionDenied
from scheduling import services as sched
from scheduling.exceptions import (
    BookingRefused,
    EntryNotFound,
    HoldExpired,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidScheduling,
    TooLateToCancel,
)
from scheduling.models import Appointment, Source, Status
from scheduling.selectors import slot_list_available
from tests.factories.scheduling import MONDAY, book, clinic_setup


def refused(code, fn, *args, **kwargs):
    with pytest.raises(BookingRefused) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value


def test_a_free_slot_is_booked(clinic):
    appointment = book(clinic, clinic.at(MONDAY, 10))
    assert appointment.status == Status.BOOKED
    assert appointment.span.lower == clinic.at(MONDAY, 10)
    assert appointment.span.upper == clinic.at(MONDAY, 10, 30)
    assert appointment.booked_by == clinic.receptionist
    assert appointment.history.first().history_user == clinic.receptionist


@pytest.mark.parametrize(
    ("hh", "mm", "code"),
    [(7, 0, "branch_closed"), (17, 45, "branch_closed"), (8, 30, "outside_shift"), (16, 45, "outside_shift")],
)
def test_hours_and_shifts_are_enforced(clinic, hh, mm, code):
    refused(code, book, clinic, clinic.at(MONDAY, hh, mm))


def test_doctor_busy_and_patient_busy(clinic):
    patient = clinic.patient()
    book(clinic, clinic.at(MONDAY, 10), patient=patient)
    refused("doctor_busy", book, clinic, clinic.at(MONDAY, 10, 15))
    refused("patient_busy", book, clinic, clinic.at(MONDAY, 10, 15), doctor=clinic.doctors[1], patient=patient)
    # back to back is fine: intervals are half-open
    book(clinic, clinic.at(MONDAY, 10, 30))


def test_leave_blocks_bookings_and_bookings_block_leave(clinic):
    doc = clinic.doctors[0]
    sched.leave_create(
        actor=clinic.owner, doctor=doc, start=clinic.at(MONDAY, 12), end=clinic.at(MONDAY, 14), reason="Dentist"
    )
    refused("doctor_on_leave", book, clinic, clinic.at(MONDAY, 13))
    booked = book(clinic, clinic.at(MONDAY, 15))
    from scheduling.exceptions import LeaveConflicts

    with pytest.raises(LeaveConflicts) as info:
        sched.leave_create(actor=clinic.owner, doctor=doc, start=clinic.at(MONDAY, 14, 30), end=clinic.at(MONDAY, 16))
    assert info.value.fields["appointments"] == [str(booked.pk)]


def test_buffers_keep_the_doctor_busy(in_a):
    clinic = clinic_setup(in_a, before=10, after=15, doctors=1)
    book(clinic, clinic.at(MONDAY, 10))  # doctor busy 09:50 - 10:45
    refused("doctor_busy", book, clinic, clinic.at(MONDAY, 10, 40))
    book(clinic, clinic.at(MONDAY, 10, 55))  # its own buffer starts at 10:45
    refused("outside_shift", book, clinic, clinic.at(MONDAY, 9))  # the buffer before would start 08:50


def test_breaks_are_not_bookable(in_a):
    clinic = clinic_setup(in_a, break_=(time(12), time(13)), doctors=1)
    refused("outside_shift", book, clinic, clinic.at(MONDAY, 12, 15))
    refused("outside_shift", book, clinic, clinic.at(MONDAY, 11, 45))
    book(clinic, clinic.at(MONDAY, 13))


def test_rooms_are_allocated_and_cannot_be_double_booked(in_a):
    clinic = clinic_setup(in_a, requires_room=True, rooms=1, doctors=2)
    first = book(clinic, clinic.at(MONDAY, 10))
    assert first.room == clinic.rooms[0]
    refused("room_taken", book, clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[1])


def test_doctor_must_offer_the_service_there(clinic, in_a):
    other = clinic_setup(in_a, doctors=1)
    refused("service_not_offered", book, clinic, clinic.at(MONDAY, 10), doctor=other.doctors[0])


def test_bad_times(clinic):
    with pytest.raises(InvalidScheduling) as info:
        book(clinic, clinic.at(MONDAY, 10, 7))
    assert "start" in info.value.fields
    with pytest.raises(InvalidScheduling):
        book(clinic, datetime.combine(MONDAY, time(10)))  # naive on purpose
    refused("in_the_past", book, clinic, clinic.at(timezone.localdate() - timedelta(days=1), 10))


def test_online_rules(clinic):
    now = clinic.at(MONDAY, 9)
    online = {"source": Source.ONLINE, "now": now}
    refused("too_soon", book, clinic, clinic.at(MONDAY, 10), **online)  # 2 h notice by default
    refused("too_far_ahead", book, clinic, clinic.at(MONDAY + timedelta(days=70), 10), **online)
    with pytest.raises(InvalidScheduling):
        book(clinic, clinic.at(MONDAY, 11, 5), **online)  # the online grid is 15 minutes
    assert book(clinic, clinic.at(MONDAY, 11, 15), **online).source == Source.ONLINE


def test_idempotency_key(clinic):
    patient = clinic.patient()
    first = book(clinic, clinic.at(MONDAY, 10), patient=patient, idempotency_key="k-1")
    again = book(clinic, clinic.at(MONDAY, 10), patient=patient, idempotency_key="k-1")
    assert again.pk == first.pk
    assert Appointment.objects.filter(patient=patient).count() == 1
    with pytest.raises(IdempotencyKeyReused):
        book(clinic, clinic.at(MONDAY, 11), patient=patient, idempotency_key="k-1")


def test_override_needs_permission_and_reason_and_is_recorded(clinic, in_a):
    book(clinic, clinic.at(MONDAY, 10))
    with pytest.raises(PermissionDenied):
        book(clinic, clinic.at(MONDAY, 10), override=True, override_reason="Emergency")
    forced = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, override=True, override_reason="Emergency fit-in")
    assert forced.is_override
    assert forced.history.first().override_reason == "Emergency fit-in"
    assert forced.history.first().history_user == clinic.owner
    # an override does not free the time for ordinary bookings
    refused("doctor_busy", book, clinic, clinic.at(MONDAY, 10, 15))


def _hold_at_ten(clinic, *, now):
    """An anonymous hold of Monday 10:00 with the first doctor, taken at `now`."""
    return sched.appointment_hold(
        actor=None,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(MONDAY, 10),
        now=now,
    )


def test_hold_then_confirm(clinic):
    hold = _hold_at_ten(clinic, now=clinic.at(MONDAY, 6))
    assert hold.status == Status.HELD
    refused("doctor_busy", book, clinic, clinic.at(MONDAY, 10))
    patient = clinic.patient()
    with pytest.raises(EntryNotFound):  # a wrong token: as if there were no such hold
        sched.appointment_hold_confirm(actor=None, hold=hold, hold_token="guess", patient=patient)
    booked = sched.appointment_hold_confirm(
        actor=None, hold=hold, hold_token=hold.hold_token, patient=patient, now=clinic.at(MONDAY, 6, 5)
    )
    assert (booked.status, booked.patient) == (Status.BOOKED, patient)


def test_an_expired_hold_frees_the_slot_without_any_task(clinic):
    t0 = clinic.at(MONDAY, 6)
    hold = _hold_at_ten(clinic, now=t0)
    later = t0 + timedelta(minutes=11)
    offered = slot_list_available(
        service=clinic.service,
        branch=clinic.branch,
        date_from=MONDAY,
        date_to=MONDAY,
        doctor_ids=[clinic.doctors[0].pk],
        now=later,
    )
    assert clinic.at(MONDAY, 10) in [s.start for s in offered]
    booked = book(clinic, clinic.at(MONDAY, 10), now=later)
    hold.refresh_from_db()
    assert hold.status == Status.EXPIRED
    assert booked.status == Status.BOOKED
    with pytest.raises(HoldExpired):
        sched.appointment_hold_confirm(
            actor=None, hold=hold, hold_token=hold.hold_token, patient=clinic.patient(), now=later
        )


def test_reschedule_is_atomic(clinic):
    a = book(clinic, clinic.at(MONDAY, 10))
    b = book(clinic, clinic.at(MONDAY, 11))
    refused(
        "doctor_busy",
        sched.appointment_reschedule,
        actor=clinic.receptionist,
        appointment=a,
        start=clinic.at(MONDAY, 11),
    )
    a.refresh_from_db()
    assert a.span.lower == clinic.at(MONDAY, 10)  # the old time is kept
    moved = sched.appointment_reschedule(actor=clinic.receptionist, appointment=a, start=clinic.at(MONDAY, 10, 15))
    assert moved.span.lower == clinic.at(MONDAY, 10, 15)  # overlapping its own old time is fine
    moved = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=a, start=clinic.at(MONDAY, 11), doctor=clinic.doctors[1]
    )
    assert moved.doctor == clinic.doctors[1]
    assert b.pk != moved.pk


def test_cancellation_window(clinic):
    from patients.portal import _portal_user

    now = clinic.at(MONDAY, 9)
    patient = clinic.patient()
    soon = book(clinic, clinic.at(MONDAY, 15), patient=patient)
    later = book(clinic, clinic.at(MONDAY + timedelta(days=3), 15), patient=patient)
    patient_user = _portal_user(patient)
    with pytest.raises(TooLateToCancel):
        sched.appointment_cancel(actor=patient_user, appointment=soon, by_patient=True, now=now)
    cancelled = sched.appointment_cancel(actor=clinic.receptionist, appointment=soon, reason="Called in sick", now=now)
    assert (cancelled.status, cancelled.late_cancellation) == (Status.CANCELLED, True)
    with pytest.raises(PermissionDenied):  # someone else's appointment
        sched.appointment_cancel(actor=_portal_user(clinic.patient()), appointment=later, by_patient=True, now=now)
    on_time = sched.appointment_cancel(actor=patient_user, appointment=later, by_patient=True, now=now)
    assert on_time.late_cancellation is False
    # a cancelled slot is free again
    book(clinic, clinic.at(MONDAY, 15))


def test_state_machine(clinic):
    a = book(clinic, clinic.at(MONDAY, 10))
    with pytest.raises(IllegalTransition):
        sched.appointment_complete(actor=clinic.receptionist, appointment=a)
    with pytest.raises(IllegalTransition):
        sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=a, now=clinic.at(MONDAY, 9))
    with time_machine.travel(clinic.at(MONDAY, 9, 50), tick=False):  # the patient arrives on the day
        for step in (
            sched.appointment_confirm,
            sched.appointment_check_in,
            sched.appointment_start,
            sched.appointment_complete,
        ):
            a = step(actor=clinic.doctors[0].user, appointment=a)
    a.refresh_from_db()  # what was stored, not what the last step returned
    assert a.status == Status.COMPLETED
    assert a.checked_in_at == a.completed_at == clinic.at(MONDAY, 9, 50)  # stamped by the clock of the day
    with pytest.raises(IllegalTransition):
        sched.appointment_cancel(actor=clinic.receptionist, appointment=a)
    with pytest.raises(IllegalTransition):
        sched.appointment_reschedule(actor=clinic.receptionist, appointment=a, start=clinic.at(MONDAY, 12))
    b = book(clinic, clinic.at(MONDAY, 11))
    b = sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=b, now=clinic.at(MONDAY, 11, 20))
    assert b.status == Status.NO_SHOW


def test_walk_in_takes_the_first_free_doctor(clinic):
    now = clinic.at(MONDAY, 10, 2)
    book(clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[0])
    walk_in = sched.walk_in_book(
        actor=clinic.receptionist, patient=clinic.patient(), branch=clinic.branch, service=clinic.service, now=now
    )
    # the patient who walked in at 10:02 is seen in the 10:00 slot of the doctor who is free
    assert walk_in.doctor == clinic.doctors[1]
    assert walk_in.span.lower == clinic.at(MONDAY, 10)
    assert walk_in.source == Source.WALK_IN
    # with both doctors busy until 10:30, the next walk-in gets the first doctor free after that
    after = sched.walk_in_book(
        actor=clinic.receptionist, patient=clinic.patient(), branch=clinic.branch, service=clinic.service, now=now
    )
    assert after.span.lower == clinic.at(MONDAY, 10, 30)


def test_series_all_or_nothing_and_partial(clinic):
    patient = clinic.patient()
    blocker = book(clinic, clinic.at(MONDAY + timedelta(weeks=3), 10))
    from scheduling.exceptions import SeriesConflicts

    def eight_mondays(*, all_or_nothing: bool):
        return sched.series_book(
            actor=clinic.receptionist,
            patient=patient,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            first_start=clinic.at(MONDAY, 10),
            count=8,
            all_or_nothing=all_or_nothing,
        )

    with pytest.raises(SeriesConflicts) as info:
        eight_mondays(all_or_nothing=True)
    assert list(info.value.fields) == [clinic.at(MONDAY + timedelta(weeks=3), 10).isoformat()]
    assert not Appointment.objects.filter(patient=patient).exists()

    series, results = eight_mondays(all_or_nothing=False)
    assert [r.problem for r in results].count("doctor_busy") == 1
    assert Appointment.objects.filter(patient=patient, series=series).count() == 7
    assert blocker.status == Status.BOOKED


def test_reception_of_another_branch_cannot_book(clinic, in_a):
    from tests.factories import user_with_roles

    stranger = user_with_roles(email="desk2@alpha.example", roles=["receptionist"], branches=[in_a.branches[1]])
    with pytest.raises(PermissionDenied):
        book(clinic, clinic.at(MONDAY, 10), actor=stranger)
    with pytest.raises(PermissionDenied):
        book(clinic, clinic.at(MONDAY, 10), actor=in_a.users["billing"])
    assert not Appointment.objects.filter(branch=clinic.branch).exists()
