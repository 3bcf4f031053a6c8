"""The appointments behind a figure (reporting.drill): the list has as many appointments as the figure
says, for every figure that counts appointments, whatever the filters and whoever reads it.

Two days are lived through the real services (tests/reporting/report_world.py: every source, early and
late cancellations by patients and by the clinic, a reschedule, reminders, new and returning patients,
a rebooked visit, no-shows, visits either side of a local midnight); the rollups are refreshed as the
worker does, then each figure is compared with its list."""

from __future__ import annotations

import pytest

from config.errors import PermissionDenied
from reporting.drill import Figure, appointments_behind, behind_rows, figure_value
from reporting.exceptions import BranchNotInReach, DoctorNotInReach
from reporting.selectors import Filters, figures_total
from scheduling.models import Status
from tests.reporting.report_world import World, lived

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(in_a) -> World:
    return lived(in_a)


def _count_and_figure(actor, world: World, figure: Figure, filters: Filters) -> tuple[int, int]:
    listed = appointments_behind(actor=actor, period=world.period, figure=figure, filters=filters).count()
    counted = figure_value(figures_total(actor=actor, period=world.period, filters=filters), figure)
    return listed, counted


def test_every_figure_has_as_many_appointments_as_it_says(world):
    owner = world.day_clinic.owner
    doc_b = world.day_clinic.doctors[1]
    narrowings = {
        "the chain": Filters(),
        "one branch": Filters.of(branch_ids=[world.day_clinic.branch.pk]),
        "the other branch": Filters.of(branch_ids=[world.night.branch.pk]),
        "one doctor": Filters.of(doctor_ids=[doc_b.pk]),
        "one service": Filters.of(service_ids=[world.day_clinic.service.pk]),
        "branch, doctor and service": Filters.of(
            branch_ids=[world.day_clinic.branch.pk], doctor_ids=[doc_b.pk], service_ids=[world.day_clinic.service.pk]
        ),
    }
    # when each figure's list is read beside the figure, however narrowed
    found = {
        (name, figure.value): _count_and_figure(owner, world, figure, filters)
        for name, filters in narrowings.items()
        for figure in Figure
    }
    # then the list always has as many appointments as the figure says
    assert {k: v for k, v in found.items() if v[0] != v[1]} == {}
    # and the two days hold every kind of figure (no comparison of two zeros)
    assert {f for f in Figure if found[("the chain", f.value)][1] == 0} == set()


def test_the_lists_are_the_appointments_the_figures_count(world):
    owner = world.day_clinic.owner

    def listed(figure: Figure, **filters) -> set[int]:
        qs = appointments_behind(actor=owner, period=world.period, figure=figure, filters=Filters.of(**filters))
        return {a.pk for a in qs}

    assert listed(Figure.NO_SHOWS) == world.ids("missed_reminded", "missed_unreminded")
    assert listed(Figure.NO_SHOWS_REMINDED) == world.ids("missed_reminded")
    assert listed(Figure.NO_SHOWS_NOT_REMINDED) == world.ids("missed_unreminded")
    assert listed(Figure.CANCELLED_EARLY_PATIENT) == world.ids("early_by_patient")
    assert listed(Figure.CANCELLED_EARLY_CLINIC) == world.ids("early_by_clinic")
    assert listed(Figure.CANCELLED_LATE_PATIENT) == world.ids("late_by_patient")
    assert listed(Figure.CANCELLED_LATE_CLINIC) == world.ids("late_by_clinic")
    assert listed(Figure.NEW_PATIENTS) == world.ids("first_visit", "night_first")
    assert listed(Figure.RETURNING_PATIENTS) == world.ids("second_visit")
    assert listed(Figure.REBOOKED) == world.ids("first_visit")
    assert listed(Figure.SOURCE_ONLINE) == world.ids("missed_unreminded", "booked_ahead")
    # a visit belongs to the local day of its start at its branch: 23:15 is in, 00:15 the day after is not,
    # nor 23:20 the evening before
    night = listed(Figure.BOOKINGS, branch_ids=[world.night.branch.pk])
    assert night == world.ids("night_in", "night_first")
    # the moved visit counts on its new day with its new doctor
    assert world.visits["moved"].pk in listed(Figure.APPOINTMENTS, doctor_ids=[world.day_clinic.doctors[1].pk])
    assert world.visits["moved"].pk not in listed(Figure.APPOINTMENTS, doctor_ids=[world.day_clinic.doctors[0].pk])


def test_the_rows_show_each_visit_on_its_branch_clock(world):
    owner = world.day_clinic.owner
    qs = appointments_behind(actor=owner, period=world.period, figure=Figure.CANCELLED)
    rows = behind_rows(qs)
    # ordered by start
    assert [r.start for r in rows] == sorted(r.start for r in rows)
    late = next(r for r in rows if r.id == world.visits["late_by_patient"].pk)
    assert (late.start.hour, late.start.minute) == (14, 0)
    assert str(late.start.tzinfo) == "Europe/London"
    assert late.cancelled_by == "patient"
    assert late.late_cancellation is True
    assert late.patient
    assert late.mrn
    early = next(r for r in rows if r.id == world.visits["early_by_clinic"].pk)
    assert (early.cancelled_by, early.late_cancellation) == ("clinic", False)
    assert early.export_row()["late_cancellation"] == "no"
    assert early.export_row()["source"] == "Waitlist"
    completed = behind_rows(appointments_behind(actor=owner, period=world.period, figure=Figure.COMPLETED))
    assert {r.cancelled_by for r in completed} == {None}
    assert {r.status for r in completed} == {Status.COMPLETED}


def test_a_doctor_lists_her_own_appointments_only(world):
    doc_b = world.day_clinic.doctors[1]
    # when the doctor reads the list of bookings
    mine = appointments_behind(actor=doc_b.user, period=world.period, figure=Figure.BOOKINGS)
    # then it is hers only, as many as her figure says
    assert {a.doctor_id for a in mine} == {doc_b.pk}
    assert mine.count() == figures_total(actor=doc_b.user, period=world.period).bookings > 0
    # and asking for a colleague's is refused, not narrowed
    with pytest.raises(DoctorNotInReach):
        appointments_behind(
            actor=doc_b.user,
            period=world.period,
            figure=Figure.BOOKINGS,
            filters=Filters.of(doctor_ids=[world.day_clinic.doctors[0].pk]),
        )


def test_readers_beyond_reach_are_refused(world, in_a):
    # a manager of the first branch asking for the second
    with pytest.raises(BranchNotInReach):
        appointments_behind(
            actor=in_a.users["branch_manager"],
            period=world.period,
            figure=Figure.BOOKINGS,
            filters=Filters.of(branch_ids=[world.night.branch.pk]),
        )
    # billing and reception have no visit figures, and so no list
    for role in ("billing", "receptionist"):
        with pytest.raises(PermissionDenied):
            appointments_behind(actor=in_a.users[role], period=world.period, figure=Figure.BOOKINGS)
