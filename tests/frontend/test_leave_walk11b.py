"""The leave page as a manager walks it: saving with appointments left to no decision is an error
naming how many (each row marked, the choices kept, the summary takes the focus), and a coming
leave is cancelled only through the product's one confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import Leave, Status
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.frontend.test_leave_pages import _form, _states
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(in_a, client):
    clinic = clinic_setup(in_a, doctors=3)
    away = clinic.doctors[0]
    booked = [
        book(clinic, clinic.at(MONDAY, 10), doctor=away, patient=clinic.patient("Earlier")),
        book(clinic, clinic.at(MONDAY, 14), doctor=away, patient=clinic.patient("Later")),
    ]
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["branch_manager"])
    return clinic, booked, client


def test_saving_with_every_row_left_to_a_choice_for_all_that_is_not_made_is_an_error_on_each_row(week, in_a):
    # given: the manager chose "Choose per appointment" and left one row "As chosen for all"
    clinic, booked, client = week
    earlier, later = booked
    before = _states(booked)

    # when: "Save leave and apply", the later row decided (cancel, with its reason), the earlier not
    page = client.post(
        "/settings/leave/",
        _form(clinic, bulk="", **{f"row-{later.pk}": "cancel", f"reason-{later.pk}": "Kept reason"}, apply="1"),
        HTTP_HOST=in_a.host,
    )

    # then: an error at the top naming how many are undecided, taking the focus; not the notice again
    assert page.status_code == 200
    html = page.content.decode()
    assert "Decide for 1 appointment, or choose one decision for all" in html
    summary = re.search(r'<div class="alert error-summary"[^>]*>', html)
    assert summary is not None
    assert "data-focus-on-load" in summary.group(0)
    assert 'tabindex="-1"' in summary.group(0)
    assert 'class="notice" role="status"' not in html
    # the undecided row is marked and described by its error; the decided one is not
    row = re.search(rf'<tr class="has-error">.*?id="row-{earlier.pk}-error".*?</tr>', html, re.S)
    assert row is not None
    assert "Choose what becomes of this appointment." in row.group(0)
    assert f'aria-describedby="row-{earlier.pk}-error"' in html
    assert f'id="row-{later.pk}-error"' not in html
    # what was chosen is kept, and nothing changed
    assert '<option value="cancel" selected>' in html
    assert 'value="Kept reason"' in html
    assert _states(booked) == before
    assert not Leave.objects.filter(doctor=clinic.doctors[0]).exists()


def test_checking_the_leave_again_without_applying_still_only_says_what_to_decide(week, in_a):
    # given / when: the leave asked for without "Save leave and apply"
    clinic, _booked, client = week
    html = client.post("/settings/leave/", _form(clinic), HTTP_HOST=in_a.host).content.decode()

    # then: the notice, no error
    assert "2 appointments fall in this leave" in html
    assert "error-summary" not in html


@pytest.fixture
def coming_leave(in_a, week):
    clinic, _booked, client = week
    leave = sched.leave_create(
        actor=clinic.owner,
        doctor=clinic.doctors[1],
        start=clinic.at(MONDAY + timedelta(days=14), 8),
        end=clinic.at(MONDAY + timedelta(days=15), 18),
        reason="Training",
    )
    return leave, client


def test_a_coming_leave_is_cancelled_through_a_confirmation_labelled_cancel_leave(coming_leave, in_a):
    # given
    leave, client = coming_leave

    # when: the page is read
    html = client.get("/settings/leave/", HTTP_HOST=in_a.host).content.decode()

    # then: "Cancel leave…" opens a confirmation whose form carries confirm=1, with no reason asked
    confirm = re.search(r'<details class="confirm cancel-confirm">.*?</details>', html, re.S)
    assert confirm is not None
    block = confirm.group(0)
    assert re.search(r'<summary class="button danger">Cancel leave<span class="visually-hidden">[^<]+</span>…', block)
    assert f'action="/settings/leave/{leave.pk}/cancel/"' in block
    assert 'name="confirm" value="1"' in block
    assert 'name="reason"' not in block
    assert "Yes, cancel" in block


def test_a_leave_cancel_post_without_the_confirmation_changes_nothing(coming_leave, in_a):
    # given
    leave, client = coming_leave

    # when: the old one-click form is sent (no confirm)
    answer = client.post(f"/settings/leave/{leave.pk}/cancel/", HTTP_HOST=in_a.host, follow=True)

    # then: refused in words, the leave still booked
    assert "Nothing was cancelled: confirm cancelling the leave first." in answer.content.decode()
    leave.refresh_from_db()
    assert leave.status == Status.BOOKED


def test_a_confirmed_leave_cancel_cancels_it(coming_leave, in_a):
    leave, client = coming_leave

    answer = client.post(f"/settings/leave/{leave.pk}/cancel/", {"confirm": "1"}, HTTP_HOST=in_a.host)

    assert answer.status_code == 302
    leave.refresh_from_db()
    assert leave.status == Status.CANCELLED
