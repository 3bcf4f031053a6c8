"""What pages list comes from selectors: the appointments in a leave's way (not parsed out of the
refusal), and which branches and doctors a user administers (tenants.org.selectors)."""

from __future__ import annotations

from scheduling import services as sched
from scheduling.selectors import leave_conflicts
from tenants.org.models import StaffMember
from tenants.org.selectors import branch_ids_managed, branch_list_managed, doctor_list_managed
from tests.factories.scheduling import MONDAY, book


def test_leave_conflicts_lists_the_doctors_active_appointments_in_the_span(clinic):
    # given two appointments of one doctor, one inside the span and one after, and a cancelled one
    inside = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    book(clinic, clinic.at(MONDAY, 15), actor=clinic.owner)
    gone = book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner)
    sched.appointment_cancel(actor=clinic.owner, appointment=gone)
    # when the conflicts of a leave from 9 to 12 are asked for
    found = leave_conflicts(
        actor=clinic.owner, doctor=clinic.doctors[0], start=clinic.at(MONDAY, 9), end=clinic.at(MONDAY, 12)
    )
    # then only the active one inside is listed
    assert [a.pk for a in found] == [inside.pk]


def test_who_administers_which_branches(in_a):
    # given an owner, a branch manager of the first branch, a doctor and a receptionist
    owner, manager = in_a.users["owner"], in_a.users["branch_manager"]
    doctor, reception = in_a.users["doctor"], in_a.users["receptionist"]
    first = in_a.branches[0]
    # then the owner administers every branch, the manager hers, the others none
    assert branch_ids_managed(actor=owner) is None
    assert branch_ids_managed(actor=manager) == frozenset({first.pk})
    assert branch_ids_managed(actor=reception) == frozenset()
    assert list(branch_list_managed(actor=manager)) == [first]
    # and leave is managed for the doctors of those branches, or for herself
    doctor_staff = StaffMember.objects.get(user=doctor)
    assert doctor_staff in doctor_list_managed(actor=owner)
    assert doctor_staff in doctor_list_managed(actor=manager)
    assert list(doctor_list_managed(actor=doctor)) == [doctor_staff]
    assert not doctor_list_managed(actor=reception).exists()
