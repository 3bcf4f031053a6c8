"""The waitlist over the API: list, add and remove entries, read the offers; refusals documented."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduling.models import WaitlistEntry, WaitlistStatus
from tests.helpers import assert_error
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, join, patient

pytestmark = pytest.mark.django_db
URL = "/api/v1/scheduling/waitlist/"


def _body(clinic, who, **change):
    return {
        "patient": who.pk,
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "doctor": None,
        "date_from": DAY.isoformat(),
        "date_to": (DAY + timedelta(days=7)).isoformat(),
        "time_from": "09:00",
        "time_to": "12:00",
        "weekdays": [0, 1],
        **change,
    }


def test_the_desk_adds_lists_and_removes_an_entry(api, clinic, chain_a):
    # given a patient and the receptionist's client
    who = patient(clinic)
    desk = api(chain_a, "receptionist")

    # when she adds the patient, lists the branch's waitlist, then removes the entry
    added = desk.call("POST", URL, _body(clinic, who))
    listed = desk.call("GET", f"{URL}?branch={clinic.branch.pk}")
    removed = desk.call("DELETE", f"{URL}{added.json()['id']}/")

    # then each answer says so, and the entry is closed
    assert added.status_code == 201, added.content
    assert (added.json()["weekdays"], added.json()["origin"]) == ([0, 1], "staff")
    assert [e["patient"] for e in listed.json()] == [who.pk]
    assert removed.json()["status"] == WaitlistStatus.REMOVED
    assert WaitlistEntry.objects.get(pk=added.json()["id"]).status == WaitlistStatus.REMOVED


def test_an_impossible_window_is_a_validation_error(api, clinic, chain_a):
    answer = api(chain_a, "receptionist").call("POST", URL, _body(clinic, patient(clinic), time_to="08:00"))
    error = assert_error(answer, 400, "validation_error")
    assert "time_to" in error["fields"]
    assert not WaitlistEntry.objects.exists()


def test_billing_may_not_add_and_nothing_is_added(api, clinic, chain_a):
    answer = api(chain_a, "billing").call("POST", URL, _body(clinic, patient(clinic)))
    assert_error(answer, 403)
    assert not WaitlistEntry.objects.exists()


def test_an_entry_of_a_branch_not_seen_is_not_found(api, clinic, chain_a):
    # given an entry at a branch the receptionist does not work at
    other = clinic_other_branch(clinic)
    entry = join(other)

    # when she tries to remove it
    answer = api(chain_a, "receptionist").call("DELETE", f"{URL}{entry.pk}/")

    # then it does not exist for her, and it still waits
    assert_error(answer, 404, "waitlist_link_invalid")
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


def test_offers_are_read_with_their_state(api, clinic, chain_a):
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    answer = api(chain_a, "receptionist").call("GET", f"{URL}offers/?branch={clinic.branch.pk}&status=open")
    [offer] = answer.json()
    assert (offer["entry"], offer["status"], offer["patient"]) == (entry.pk, "open", entry.patient_id)


def clinic_other_branch(clinic):
    from tests.factories.scheduling import clinic_setup

    return clinic_setup(clinic.chain, branch=clinic.chain.branches[1], doctors=1)
