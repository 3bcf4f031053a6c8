"""Leave that meets appointments: the manager decides per appointment or for all (move to another
doctor at the same time, to the doctor's next free time, or cancel with a reason), and the leave is
saved with every decision in one transaction, or nothing is."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from config.errors import ApplicationError
from config.events import subscribe
from scheduling import events
from scheduling import services as sched
from scheduling.leave_plan import LeaveAction, leave_proposal
from scheduling.models import ACTIVE_STATUSES, Appointment, Leave, Status
from scheduling.services import LeaveDecision
from tests.factories.scheduling import MONDAY, book, clinic_setup, works_also_at

pytestmark = pytest.mark.django_db

MOVE_ANY = LeaveDecision(LeaveAction.MOVE_TO_DOCTOR)
NEXT = LeaveDecision(LeaveAction.NEXT_FREE_TIME)


@pytest.fixture
def clinic(in_a):
    return clinic_setup(in_a, doctors=3)


def _leave_day(clinic, day=MONDAY):
    return {"start": clinic.at(day, 9), "end": clinic.at(day, 17)}


def _state(*appointments: Appointment) -> list[tuple[int, int, object, str]]:
    fresh = Appointment.objects.filter(pk__in=[a.pk for a in appointments]).order_by("pk")
    return [(a.pk, a.doctor_id, a.span, a.status) for a in fresh]


def test_a_week_of_leave_over_appointments_moves_them_all_to_another_doctor_in_one_go(clinic, in_a):
    # given: the first doctor has two appointments every day of the week
    away, other = clinic.doctors[0], clinic.doctors[1]
    days = [MONDAY + timedelta(days=n) for n in range(5)]
    booked = [book(clinic, clinic.at(day, hour), doctor=away) for day in days for hour in (10, 14)]
    seen: list[events.AppointmentRescheduled] = []
    subscribe(events.AppointmentRescheduled, seen.append)

    # when: the branch manager saves the week's leave, moving everything to the other doctor
    done = sched.leave_create_resolving(
        actor=in_a.users["branch_manager"],
        doctor=away,
        start=clinic.at(days[0], 8),
        end=clinic.at(days[-1], 18),
        reason="Conference",
        for_all=LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=other),
    )

    # then: the other doctor has every one at its own time, and the leave exists
    assert len(done.moved) == len(booked)
    for before in booked:
        after = Appointment.objects.get(pk=before.pk)
        assert (after.doctor_id, after.span, after.status) == (other.pk, before.span, Status.BOOKED)
    leave = Leave.objects.get(doctor=away, status=Status.BOOKED)
    assert (leave.span.lower, leave.span.upper, leave.notes) == (
        clinic.at(days[0], 8),
        clinic.at(days[-1], 18),
        "Conference",
    )
    # and each move was announced as caused by the leave (the notifications' hook)
    mine = [e for e in seen if e.appointment_id in {a.pk for a in booked}]
    assert {e.cause for e in mine} == {events.Cause.LEAVE}
    assert {e.previous_doctor_id for e in mine} == {away.pk}


def test_decisions_per_appointment_move_to_any_free_doctor_next_free_time_or_cancel(clinic, in_a):
    # given: three appointments on the day; the second doctor is busy at 10:00
    away = clinic.doctors[0]
    first = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    book(clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[1])
    second = book(clinic, clinic.at(MONDAY, 11), doctor=away)
    third = book(clinic, clinic.at(MONDAY, 12), doctor=away)
    cancelled: list[events.AppointmentCancelled] = []
    subscribe(events.AppointmentCancelled, cancelled.append)

    # when
    sched.leave_create_resolving(
        actor=clinic.owner,
        doctor=away,
        start=clinic.at(MONDAY, 9),
        end=clinic.at(MONDAY, 13),
        decisions={
            first.pk: MOVE_ANY,
            second.pk: NEXT,
            third.pk: LeaveDecision(LeaveAction.CANCEL, reason="Dr away; please call us"),
        },
    )

    # then: the first went to the only doctor free at 10:00, the second to 13:00 that day
    # (the doctor's first free start after the leave), the third was cancelled with the reason
    assert Appointment.objects.get(pk=first.pk).doctor_id == clinic.doctors[2].pk
    moved = Appointment.objects.get(pk=second.pk)
    assert (moved.doctor_id, moved.span.lower) == (away.pk, clinic.at(MONDAY, 13))
    gone = Appointment.objects.get(pk=third.pk)
    assert (gone.status, gone.cancellation_reason) == (Status.CANCELLED, "Dr away; please call us")
    hook = [e for e in cancelled if e.appointment_id == third.pk]
    assert [(e.cause, e.reason) for e in hook] == [(events.Cause.LEAVE, "Dr away; please call us")]


def test_next_free_times_are_handed_out_in_time_order_without_clashing(in_a):
    # given: a doctor working 09-17 with a leave over the morning's three appointments
    clinic = clinic_setup(in_a, doctors=1, shift=(time(9), time(17)))
    away = clinic.doctors[0]
    booked = [book(clinic, clinic.at(MONDAY, 9) + timedelta(minutes=30 * n), doctor=away) for n in range(3)]
    proposal = leave_proposal(actor=clinic.owner, doctor=away, start=clinic.at(MONDAY, 9), end=clinic.at(MONDAY, 11))

    # when
    sched.leave_create_resolving(
        actor=clinic.owner, doctor=away, start=clinic.at(MONDAY, 9), end=clinic.at(MONDAY, 11), for_all=NEXT
    )

    # then: 11:00, 11:30, 12:00, as the proposal said
    starts = [Appointment.objects.get(pk=a.pk).span.lower for a in booked]
    assert starts == [clinic.at(MONDAY, 11), clinic.at(MONDAY, 11, 30), clinic.at(MONDAY, 12)]
    assert [i.next_free for i in proposal.items] == starts


def test_one_decision_that_cannot_be_carried_out_refuses_all_and_names_it(clinic, in_a):
    # given: at 10:00 both other doctors are busy
    away = clinic.doctors[0]
    movable = book(clinic, clinic.at(MONDAY, 11), doctor=away)
    stuck = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    for other in clinic.doctors[1:]:
        book(clinic, clinic.at(MONDAY, 10), doctor=other)
    before = _state(movable, stuck)

    # when
    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(actor=clinic.owner, doctor=away, **_leave_day(clinic), for_all=MOVE_ANY)

    # then: the refusal names the 10:00 appointment; nothing moved and no leave was saved
    assert refused.value.code == "leave_decisions_failed"
    assert list(refused.value.fields) == [str(stuck.pk)]
    assert "No other doctor" in refused.value.fields[str(stuck.pk)][0]
    assert _state(movable, stuck) == before
    assert not Leave.objects.filter(doctor=away).exists()


def test_a_move_onto_a_busy_doctor_is_refused_by_the_booking_door(clinic, in_a):
    away, busy = clinic.doctors[0], clinic.doctors[1]
    wanted = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    book(clinic, clinic.at(MONDAY, 10), doctor=busy)
    before = _state(wanted)

    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(
            actor=clinic.owner,
            doctor=away,
            **_leave_day(clinic),
            decisions={wanted.pk: LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=busy)},
        )

    assert refused.value.code == "leave_decisions_failed"
    assert "already has an appointment" in refused.value.fields[str(wanted.pk)][0]
    assert _state(wanted) == before
    assert not Leave.objects.filter(doctor=away).exists()


def test_without_a_decision_for_each_the_leave_is_refused_as_before(clinic, in_a):
    away = clinic.doctors[0]
    decided = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    undecided = book(clinic, clinic.at(MONDAY, 11), doctor=away)

    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(
            actor=clinic.owner, doctor=away, **_leave_day(clinic), decisions={decided.pk: MOVE_ANY}
        )

    assert refused.value.code == "leave_conflicts_appointments"
    assert refused.value.fields == {"appointments": [str(undecided.pk)]}
    assert Appointment.objects.get(pk=decided.pk).doctor_id == away.pk


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        (LeaveDecision(LeaveAction.CANCEL, reason="  "), "for_all"),
        (LeaveDecision(LeaveAction.CANCEL), "for_all"),
    ],
)
def test_cancelling_needs_a_reason(clinic, decision, field):
    away = clinic.doctors[0]
    wanted = book(clinic, clinic.at(MONDAY, 10), doctor=away)

    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(actor=clinic.owner, doctor=away, **_leave_day(clinic), for_all=decision)

    assert refused.value.code == "validation_error"
    assert field in refused.value.fields
    assert Appointment.objects.get(pk=wanted.pk).status == Status.BOOKED


def test_a_decision_for_an_appointment_not_in_the_way_is_refused(clinic):
    away, other = clinic.doctors[0], clinic.doctors[1]
    mine = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    elsewhere = book(clinic, clinic.at(MONDAY, 10), doctor=other)

    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(
            actor=clinic.owner,
            doctor=away,
            **_leave_day(clinic),
            for_all=NEXT,
            decisions={elsewhere.pk: NEXT},
        )

    assert refused.value.code == "validation_error"
    assert str(elsewhere.pk) in refused.value.fields["decisions"][0]
    assert _state(mine, elsewhere) == [
        (mine.pk, away.pk, mine.span, "booked"),
        (elsewhere.pk, other.pk, elsewhere.span, "booked"),
    ]


def test_an_appointment_at_a_branch_the_manager_does_not_see_blocks_without_being_shown(in_a):
    # given: a doctor working at both branches, booked at the second; the manager runs the first
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(13)))
    away = clinic.doctors[0]
    second = in_a.branches[1]
    there = works_also_at(clinic, away, second, shift=(time(14), time(17)))
    unseen = sched.appointment_book(
        actor=clinic.owner,
        patient=clinic.patient("Hidden"),
        doctor=away,
        branch=second,
        service=there.service,
        start=clinic.at(MONDAY + timedelta(days=1), 15),
    )
    seen = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    manager = in_a.users["branch_manager"]
    week = {"start": clinic.at(MONDAY, 8), "end": clinic.at(MONDAY + timedelta(days=2), 18)}

    # when
    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(actor=manager, doctor=away, **week, for_all=MOVE_ANY)

    # then: refused as a plain leave is, the hidden one counted, not shown; nothing moved
    assert refused.value.code == "leave_conflicts_appointments"
    assert "1 at a branch you do not manage" in refused.value.message
    assert "Hidden" not in refused.value.message
    assert refused.value.fields == {"appointments": [str(seen.pk)]}
    assert _state(seen, unseen) == sorted(
        [(seen.pk, away.pk, seen.span, "booked"), (unseen.pk, away.pk, unseen.span, "booked")]
    )
    proposal = leave_proposal(actor=manager, doctor=away, **week)
    assert ([i.appointment.pk for i in proposal.items], proposal.hidden) == ([seen.pk], 1)


def test_a_receptionist_may_not_put_a_doctor_on_leave(clinic, in_a):
    wanted = book(clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[0])

    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(
            actor=clinic.receptionist, doctor=clinic.doctors[0], **_leave_day(clinic), for_all=MOVE_ANY
        )

    assert refused.value.code == "permission_denied"
    assert _state(wanted) == [(wanted.pk, clinic.doctors[0].pk, wanted.span, "booked")]
    assert not Leave.objects.exists()


def test_the_proposal_lists_the_appointments_in_time_order_with_their_options(clinic):
    away = clinic.doctors[0]
    late = book(clinic, clinic.at(MONDAY, 15), doctor=away)
    early = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    book(clinic, clinic.at(MONDAY, 15), doctor=clinic.doctors[1])

    proposal = leave_proposal(actor=clinic.owner, doctor=away, **_leave_day(clinic))

    assert [i.appointment.pk for i in proposal.items] == [early.pk, late.pk]
    first, second = proposal.items
    assert {o.pk for o in first.free_doctors} == {clinic.doctors[1].pk, clinic.doctors[2].pk}
    assert [o.pk for o in second.free_doctors] == [clinic.doctors[2].pk]
    # her shift ends at 17:00: the next free times are the next morning's, one after the other
    tuesday = MONDAY + timedelta(days=1)
    assert (first.next_free, second.next_free) == (clinic.at(tuesday, 9), clinic.at(tuesday, 9, 30))
    assert proposal.hidden == 0


def test_the_proposal_of_forty_appointments_takes_a_few_queries(clinic, django_assert_max_num_queries):
    away = clinic.doctors[0]
    days = [MONDAY + timedelta(days=n) for n in range(5)]
    for day in days:
        for n in range(8):
            book(clinic, clinic.at(day, 9, 0) + timedelta(hours=n), doctor=away)

    with django_assert_max_num_queries(15):
        proposal = leave_proposal(
            actor=clinic.owner, doctor=away, start=clinic.at(days[0], 8), end=clinic.at(days[-1], 18)
        )

    assert len(proposal.items) == 40
    assert all(len(i.free_doctors) == 2 for i in proposal.items)


def test_held_times_in_the_way_are_given_back_with_the_leave(clinic):
    away = clinic.doctors[0]
    hold = sched.appointment_hold(
        actor=None, doctor=away, branch=clinic.branch, service=clinic.service, start=clinic.at(MONDAY, 10)
    )

    sched.leave_create(actor=clinic.owner, doctor=away, **_leave_day(clinic))

    assert Appointment.objects.get(pk=hold.pk).status == Status.CANCELLED
    assert Leave.objects.filter(doctor=away, status__in=ACTIVE_STATUSES).count() == 1


def test_an_incomplete_decision_and_one_that_cannot_be_carried_out_are_refused_in_one_round(clinic):
    # given: two appointments in the way; the other doctor is busy at the first one's time
    away, busy = clinic.doctors[0], clinic.doctors[1]
    moving = book(clinic, clinic.at(MONDAY, 10), doctor=away)
    cancelling = book(clinic, clinic.at(MONDAY, 14), doctor=away)
    book(clinic, clinic.at(MONDAY, 10), doctor=busy)

    # when: one is to move to the busy doctor, the other cancelled without a reason
    with pytest.raises(ApplicationError) as refused:
        sched.leave_create_resolving(
            actor=clinic.owner,
            doctor=away,
            **_leave_day(clinic),
            decisions={
                moving.pk: LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=busy),
                cancelling.pk: LeaveDecision(LeaveAction.CANCEL),
            },
        )

    # then: both are named at once, and nothing changed
    assert refused.value.code == "validation_error"
    assert set(refused.value.fields) == {str(moving.pk), str(cancelling.pk)}
    assert _state(moving, cancelling) == [
        (moving.pk, away.pk, moving.span, "booked"),
        (cancelling.pk, away.pk, cancelling.span, "booked"),
    ]
    assert not Leave.objects.filter(doctor=away).exists()
