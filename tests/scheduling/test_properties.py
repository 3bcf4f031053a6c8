"""Property-based: whatever happens to the calendar, it never holds two active overlapping rows,
and availability and booking always agree."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import ApplicationError
from scheduling import services as sched
from scheduling.models import ACTIVE_STATUSES, Appointment, CalendarEntry, Status
from scheduling.selectors import plan_load
from tests.factories.scheduling import MONDAY, book, clinic_setup

DAYS = [MONDAY, MONDAY + timedelta(days=1)]
GRID = 15  # minutes
SLOTS = list(range(7 * 60 // GRID, 19 * 60 // GRID))  # 07:00 .. 18:45, wider than the hours on purpose

op = st.one_of(
    st.tuples(st.just("book"), st.integers(0, 2), st.integers(0, 3), st.sampled_from(SLOTS), st.integers(0, 1)),
    st.tuples(st.just("reschedule"), st.integers(0, 30), st.sampled_from(SLOTS), st.integers(0, 2), st.integers(0, 1)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("leave"), st.integers(0, 2), st.sampled_from(SLOTS), st.integers(1, 12), st.integers(0, 1)),
    st.tuples(st.just("hold"), st.integers(0, 2), st.sampled_from(SLOTS), st.integers(0, 1)),
    st.tuples(st.just("wait"), st.integers(1, 30)),
)


def _overlapping_pairs(column: str, span: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM scheduling_calendarentry a JOIN scheduling_calendarentry b
                ON a.id < b.id AND a.{column} = b.{column} AND a.{span} && b.{span}
                WHERE a.status = ANY(%s) AND b.status = ANY(%s)
                  AND NOT a.is_override AND NOT b.is_override""",  # noqa: S608 (fixed identifiers)
            [list(ACTIVE_STATUSES), list(ACTIVE_STATUSES)],
        )
        return cursor.fetchone()[0]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(ops=st.lists(op, min_size=1, max_size=20), probe_day=st.integers(0, 1))
def test_random_histories_keep_the_calendar_sound(in_a, ops, probe_day):
    with transaction.atomic():
        clinic = clinic_setup(
            in_a, doctors=3, duration=30, before=5, after=10, requires_room=True, rooms=2, break_=(time(12), time(13))
        )
        patients = [clinic.patient() for _ in range(4)]
        now = datetime.combine(MONDAY - timedelta(days=1), time(8), tzinfo=clinic.tz)

        def at(slot: int, day: int) -> datetime:
            return datetime.combine(DAYS[day], time(slot * GRID // 60, slot * GRID % 60), tzinfo=clinic.tz)

        for step in ops:
            appointments = list(Appointment.objects.filter(branch=clinic.branch).order_by("pk"))
            try:
                with transaction.atomic():
                    if step[0] == "book":
                        _, d, p, slot, day = step
                        book(
                            clinic,
                            at(slot, day),
                            actor=clinic.owner,
                            patient=patients[p],
                            doctor=clinic.doctors[d],
                            now=now,
                        )
                    elif step[0] == "reschedule" and appointments:
                        _, i, slot, d, day = step
                        sched.appointment_reschedule(
                            actor=clinic.owner,
                            appointment=appointments[i % len(appointments)],
                            start=at(slot, day),
                            doctor=clinic.doctors[d],
                            now=now,
                        )
                    elif step[0] == "cancel" and appointments:
                        sched.appointment_cancel(
                            actor=clinic.owner, appointment=appointments[step[1] % len(appointments)], now=now
                        )
                    elif step[0] == "leave":
                        _, d, slot, length, day = step
                        sched.leave_create(
                            actor=clinic.owner,
                            doctor=clinic.doctors[d],
                            start=at(slot, day),
                            end=at(slot, day) + timedelta(minutes=GRID * length),
                        )
                    elif step[0] == "hold":
                        _, d, slot, day = step
                        sched.appointment_hold(
                            actor=clinic.owner,
                            doctor=clinic.doctors[d],
                            branch=clinic.branch,
                            service=clinic.service,
                            start=at(slot, day),
                            source="staff",
                            now=now,
                        )
                    elif step[0] == "wait":
                        now += timedelta(minutes=step[1])
            except ApplicationError:
                pass

            # never two active overlapping rows
            assert _overlapping_pairs("doctor_id", "busy") == 0
            assert _overlapping_pairs("patient_id", "span") == 0
            assert _overlapping_pairs("room_id", "busy") == 0

        # availability and booking agree on every grid point of the probed day
        day = DAYS[probe_day]
        plan = plan_load(service=clinic.service, branch=clinic.branch, days=[day], now=now)
        for doctor in clinic.doctors:
            offered = set(plan.free_starts(doctor.pk, day, GRID))
            for slot in SLOTS:
                start = at(slot, probe_day)
                assert (plan.problem(doctor.pk, start) is None) == (start in offered), (doctor.pk, start)
            # and the database agrees with the plan: an offered slot really books, a refused one does not
            for start in sorted(offered)[:: max(1, len(offered) // 3)]:
                with transaction.atomic():
                    booked = book(clinic, start, actor=clinic.owner, doctor=doctor, now=now)
                    assert (booked.span.lower, booked.doctor_id, booked.status) == (start, doctor.pk, Status.BOOKED)
                    transaction.set_rollback(True)
        transaction.set_rollback(True)
    assert not CalendarEntry.objects.filter(branch=clinic.branch).exists()


def test_grid_points_refused_by_availability_are_refused_by_booking(in_a):
    clinic = clinic_setup(in_a, doctors=1, duration=45, before=5, after=5, break_=(time(12), time(12, 30)))
    now = datetime.combine(MONDAY - timedelta(days=1), time(8), tzinfo=clinic.tz)
    book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, now=now)
    plan = plan_load(service=clinic.service, branch=clinic.branch, days=[MONDAY], now=now)
    offered = set(plan.free_starts(clinic.doctors[0].pk, MONDAY, 15))
    refused = [clinic.at(MONDAY, h, m) for h in range(7, 19) for m in (0, 15, 30, 45)]
    refused = [s for s in refused if s not in offered]
    assert refused
    for start in refused:
        try:
            with transaction.atomic():
                book(clinic, start, actor=clinic.owner, now=now)
        except ApplicationError:
            continue
        raise AssertionError(f"{start} was not offered but could be booked")
