"""The home page shows each person today's work (scheduling.today.today_for): the desk's arrivals and
waiting patients, a doctor's next patient and the rest of her day, a manager's branches at a glance,
the chain's day and set-up shortcuts for an owner; scoped to the branches each may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

import pytest
import time_machine
from django_tenants.utils import schema_context

from patients.portal import portal_user_for
from scheduling import services as sched
from scheduling.models import Appointment
from scheduling.today import today_for
from tenants.audit.models import AccessLog
from tenants.org import services as org
from tenants.org.models import Role
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import sign_in


@dataclass
class Day:
    clinic: Clinic
    early: Appointment  # 09:00 with doctor 0, checked in at 09:05
    later: Appointment  # 10:00 with doctor 0
    other: Appointment  # 11:00 with doctor 1
    missed: Appointment  # 08:30 with doctor 1, a no-show
    dropped: Appointment  # 12:00 with doctor 1, cancelled
    elsewhere: Appointment  # 10:00 at the second branch, which the desk and the manager do not see


@pytest.fixture
def day(in_a) -> Day:
    # given a Monday at branch 1 (two doctors) and branch 2 (one doctor), booked ahead through the services
    clinic = clinic_setup(in_a, doctors=2, shift=(time(8), time(17)))
    second = clinic_setup(in_a, branch=in_a.branches[1], doctors=1)
    d0, d1 = clinic.doctors
    early = book(clinic, clinic.at(MONDAY, 9), doctor=d0, patient=clinic.patient("Early"))
    later = book(clinic, clinic.at(MONDAY, 10), doctor=d0, patient=clinic.patient("Later"))
    other = book(clinic, clinic.at(MONDAY, 11), doctor=d1, patient=clinic.patient("Other"))
    missed = book(clinic, clinic.at(MONDAY, 8, 30), doctor=d1, patient=clinic.patient("Missed"))
    dropped = book(clinic, clinic.at(MONDAY, 12), doctor=d1, patient=clinic.patient("Dropped"))
    elsewhere = book(second, second.at(MONDAY, 10), actor=second.owner, patient=second.patient("Elsewhere"))
    # on the day: Early arrives at 09:05, Missed never came, Dropped called off
    sched.appointment_check_in(actor=clinic.receptionist, appointment=early, now=clinic.at(MONDAY, 9, 5))
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=missed, now=clinic.at(MONDAY, 9, 10))
    sched.appointment_cancel(
        actor=clinic.receptionist, appointment=dropped, reason="Called off", now=clinic.at(MONDAY, 9)
    )
    return Day(clinic, early, later, other, missed, dropped, elsewhere)


def names(visits) -> list[str]:  # type: ignore[no-untyped-def]
    return [v.patient_name.split()[0] for v in visits]


def test_the_receptionist_sees_arrivals_by_time_and_who_is_waiting_at_her_branch(day: Day) -> None:
    # when the receptionist's day is read at 09:20
    today = today_for(actor=day.clinic.receptionist, now=day.clinic.at(MONDAY, 9, 20))

    # then the arrivals still expected are in time order, only at her branch; Early waits 15 minutes
    assert today.desk
    assert not today.doctor
    assert not today.manages
    assert names(today.arrivals) == ["Later", "Other"]
    assert [(names([v])[0], v.minutes_waiting, v.status_label) for v in today.waiting] == [("Early", 15, "Checked in")]


def test_the_doctor_sees_her_next_patient_and_the_rest_of_her_day_only(day: Day) -> None:
    today = today_for(actor=day.clinic.doctors[0].user, now=day.clinic.at(MONDAY, 9, 20))
    assert today.doctor
    assert not today.desk
    assert not today.manages
    assert names([today.next_visit]) == ["Early"]  # waiting for her: the next patient
    assert names(today.rest_of_day) == ["Later"]


def test_the_doctors_next_patient_moves_on_as_the_day_goes(day: Day) -> None:
    # the other doctor: her 08:30 patient never came, her 11:00 is next, her 12:00 was cancelled
    today = today_for(actor=day.clinic.doctors[1].user, now=day.clinic.at(MONDAY, 9, 20))
    assert names([today.next_visit]) == ["Other"]
    assert today.rest_of_day == []


def test_the_branch_manager_sees_her_branch_at_a_glance(day: Day) -> None:
    manager = day.clinic.chain.users["branch_manager"]
    today = today_for(actor=manager, now=day.clinic.at(MONDAY, 9, 20))
    assert today.manages
    assert today.chain is None
    [branch] = today.branches
    assert branch.branch_id == day.clinic.branch.pk
    assert (
        branch.appointments,
        branch.expected,
        branch.arrived,
        branch.waiting,
        branch.no_shows,
        branch.cancelled,
    ) == (
        4,
        2,
        1,
        1,
        1,
        1,
    )


def test_the_owner_sees_every_branch_and_the_chain(day: Day) -> None:
    today = today_for(actor=day.clinic.owner, now=day.clinic.at(MONDAY, 9, 20))
    assert today.chain is not None
    assert today.chain.appointments == 5  # four at branch 1 (one cancelled aside), one at branch 2
    by_branch = {b.branch_id: b.appointments for b in today.branches}
    assert by_branch[day.clinic.branch.pk] == 4
    assert by_branch[day.elsewhere.branch_id] == 1


def test_a_doctor_who_also_works_the_desk_sees_both(day: Day) -> None:
    # given doctor 1, who also works at the desk
    doctor = day.clinic.doctors[1]
    org.staff_update(actor=day.clinic.owner, staff=doctor, roles=[Role.DOCTOR, Role.RECEPTIONIST])

    today = today_for(actor=doctor.user, now=day.clinic.at(MONDAY, 9, 20))

    assert today.doctor
    assert today.desk
    assert names([today.next_visit]) == ["Other"]
    assert names(today.arrivals) == ["Later", "Other"]


def test_another_day_is_not_today(day: Day) -> None:
    today = today_for(actor=day.clinic.receptionist, now=day.clinic.at(MONDAY, 9, 20) - timedelta(days=1))
    assert today.arrivals == []
    assert today.waiting == []


def test_the_home_page_shows_the_receptionist_her_day_and_logs_the_patients_shown(day: Day, client) -> None:
    host = day.clinic.chain.host
    before = AccessLog.objects.count()
    with time_machine.travel(day.clinic.at(MONDAY, 9, 20), tick=False):
        with schema_context(day.clinic.chain.schema):  # signed in on the day: a session of today has expired by then
            sign_in(client, day.clinic.receptionist)
        page = client.get("/", HTTP_HOST=host)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Arrivals still expected" in html
    assert "Waiting" in html
    assert html.index("Later") < html.index("Other")
    assert "15 min" in html
    assert "Elsewhere" not in html
    assert f'action="/desk/appointments/{day.later.pk}/check-in/"' in html
    assert AccessLog.objects.count() > before


def test_the_home_page_gives_the_doctor_her_next_patient_with_a_link_to_the_chart(day: Day, client) -> None:
    host = day.clinic.chain.host
    with time_machine.travel(day.clinic.at(MONDAY, 9, 20), tick=False):
        with schema_context(day.clinic.chain.schema):  # signed in on the day: a session of today has expired by then
            sign_in(client, day.clinic.doctors[0].user)
        html = client.get("/", HTTP_HOST=host).content.decode()
    assert "Your next patient" in html
    assert f'href="/patients/{day.early.patient_id}/"' in html
    assert "09:00" in html  # the branch's clock
    assert "Arrivals still expected" not in html


def test_the_home_page_gives_the_owner_the_chain_and_set_up_shortcuts(day: Day, client) -> None:
    host = day.clinic.chain.host
    with time_machine.travel(day.clinic.at(MONDAY, 9, 20), tick=False):
        with schema_context(day.clinic.chain.schema):  # signed in on the day: a session of today has expired by then
            sign_in(client, day.clinic.owner)
        html = client.get("/", HTTP_HOST=host).content.decode()
    assert "The chain today" in html
    assert "All branches" in html
    assert "Set up" in html
    assert 'href="/settings/staff/invite/"' in html


def test_a_patient_signed_in_to_the_portal_starts_at_the_portal(day: Day, client) -> None:
    # given a patient with a portal account, signed in
    with schema_context(day.clinic.chain.schema):
        user = portal_user_for(patient=day.later.patient)
    client.force_login(user)
    # when she opens the site's start page
    page = client.get("/", HTTP_HOST=day.clinic.chain.host)
    # then she is sent to the portal, not shown an empty staff home
    assert page.status_code == 302
    assert page["Location"] == "/portal/"


def test_arrivals_past_their_start_are_marked_late_and_no_show_once_their_time_is_over(day: Day) -> None:
    # when the desk reads the day at 10:12, then again at 15:00 (nobody else arrived)
    at_ten = today_for(actor=day.clinic.receptionist, now=day.clinic.at(MONDAY, 10, 12))
    afternoon = today_for(actor=day.clinic.receptionist, now=day.clinic.at(MONDAY, 15))

    # then Later (10:00) is 12 minutes late, Other (11:00) not yet; by 15:00 both are likely no-shows
    assert [(names([v])[0], v.late) for v in at_ten.arrivals] == [("Later", "12 min late"), ("Other", "")]
    assert [(names([v])[0], v.late) for v in afternoon.arrivals] == [("Later", "no-show?"), ("Other", "no-show?")]


def test_the_doctors_rest_of_the_day_keeps_every_appointment_not_done_as_my_day_does(day: Day) -> None:
    # when the first doctor reads her day at 15:00: Early is still waiting, Later never arrived
    today = today_for(actor=day.clinic.doctors[0].user, now=day.clinic.at(MONDAY, 15))

    # then Early is next and Later is still in the rest of her day, marked
    assert names([today.next_visit]) == ["Early"]
    assert [(names([v])[0], v.late) for v in today.rest_of_day] == [("Later", "no-show?")]


def test_the_home_page_says_who_is_late(day: Day, client) -> None:
    host = day.clinic.chain.host
    with time_machine.travel(day.clinic.at(MONDAY, 10, 12), tick=False):
        with schema_context(day.clinic.chain.schema):
            sign_in(client, day.clinic.receptionist)
        html = client.get("/", HTTP_HOST=host).content.decode()
    assert '<strong class="late">12 min late</strong>' in html
