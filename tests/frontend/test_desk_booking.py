"""The desk's bookings ahead: a weekly series (or one appointment), an override with a reason for
those allowed, and the rest of a series cancelled or moved from the series page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling.models import Appointment, Series
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import sign_in


def _as(client, chain, role):
    with schema_context(chain.schema):
        sign_in(client, chain.users[role])


def _form(clinic, patient, **extra):
    return {
        "patient": patient.pk,
        "service": clinic.service.pk,
        "doctor": clinic.doctors[0].pk,
        "day": str(MONDAY),
        "at": "10:00",
        "count": 4,
        "notes": "",
        **extra,
    }


def _series_of(patient):
    return list(Appointment.objects.filter(patient=patient).order_by("span"))


def _desk_series(chain, client, count):
    """A weekly series of `count` at 10:00 from MONDAY, booked on the desk page by the receptionist
    (left signed in): the clinic, the patient and the appointments."""
    clinic = clinic_setup(chain, doctors=1)
    patient = clinic.patient()
    _as(client, chain, "receptionist")
    client.post(f"/desk/{clinic.branch.pk}/book/", _form(clinic, patient, count=count), HTTP_HOST=chain.host)
    return clinic, patient, _series_of(patient)


def test_the_desk_books_a_weekly_series_and_cancels_the_rest(in_a, client):
    # given a patient and the receptionist at the desk
    clinic = clinic_setup(in_a, doctors=1)
    patient = clinic.patient("Weekly")
    _as(client, in_a, "receptionist")
    url = f"/desk/{clinic.branch.pk}/book/"
    desk = client.get(f"/desk/{clinic.branch.pk}/", HTTP_HOST=in_a.host)
    assert url.encode() in desk.content
    found = client.get(url, {"q": "Weekly"}, HTTP_HOST=in_a.host)
    assert f"?patient={patient.pk}".encode() in found.content
    form = client.get(url, {"patient": patient.pk}, HTTP_HOST=in_a.host)
    assert b"How many weeks" in form.content
    assert b"Override the calendar" not in form.content  # receptionists may not override
    # when she books four Mondays at 10:00
    response = client.post(url, _form(clinic, patient), HTTP_HOST=in_a.host)
    # then four appointments of one series are booked, a week apart, and the series page shows them
    series = Series.objects.filter(entries__patient=patient).distinct().get()
    assert response.status_code == 302
    assert response["Location"] == f"/desk/series/{series.pk}/"
    booked = _series_of(patient)
    assert [a.span.lower for a in booked] == [clinic.at(MONDAY + timedelta(days=7 * i), 10) for i in range(4)]
    page = client.get(f"/desk/series/{series.pk}/", HTTP_HOST=in_a.host)
    assert page.content.count(b"Cancel the rest") == 4
    # and cancelling the rest from the third leaves the first two
    client.post(
        f"/desk/series/{series.pk}/cancel-rest/",
        {"appointment": booked[2].pk, "reason": "Moving", "confirm": "1"},
        HTTP_HOST=in_a.host,
    )
    assert [a.status for a in _series_of(patient)] == ["booked", "booked", "cancelled", "cancelled"]


def test_the_desk_moves_the_rest_of_a_series(in_a, client):
    # given a weekly series of three at 10:00
    clinic, patient, booked = _desk_series(in_a, client, 3)
    series_id = booked[0].series_id
    # when the rest from the second moves to the Tuesday after at 14:00
    tuesday = MONDAY + timedelta(days=8)
    client.post(
        f"/desk/series/{series_id}/move-rest/",
        {"appointment": booked[1].pk, "day": str(tuesday), "at": "14:00"},
        HTTP_HOST=in_a.host,
    )
    # then the second and third are on Tuesdays at 14:00, the first where it was
    assert [a.span.lower for a in _series_of(patient)] == [
        clinic.at(MONDAY, 10),
        clinic.at(tuesday, 14),
        clinic.at(tuesday + timedelta(days=7), 14),
    ]


def test_a_refused_move_names_the_occurrence_and_moves_nothing(in_a, client):
    # given a series of three, and the doctor taken at 14:00 on the third Monday
    clinic, patient, booked = _desk_series(in_a, client, 3)
    book(clinic, clinic.at(MONDAY + timedelta(days=14), 14))
    # when the whole series is asked to move to 14:00
    response = client.post(
        f"/desk/series/{booked[0].series_id}/move-rest/",
        {"appointment": booked[0].pk, "day": str(MONDAY), "at": "14:00"},
        HTTP_HOST=in_a.host,
        follow=True,
    )
    # then the message names the third Monday and nothing moved
    assert str(MONDAY + timedelta(days=14)).encode() in response.content
    assert b"none was moved" in response.content
    assert [a.span.lower for a in _series_of(patient)] == [a.span.lower for a in booked]


def test_a_series_over_a_busy_week_books_nothing_and_says_which(in_a, client):
    # given the doctor already booked at 10:00 on the second Monday
    clinic = clinic_setup(in_a, doctors=1)
    book(clinic, clinic.at(MONDAY + timedelta(days=7), 10))
    patient = clinic.patient()
    _as(client, in_a, "receptionist")
    # when a series of four at 10:00 is asked
    response = client.post(f"/desk/{clinic.branch.pk}/book/", _form(clinic, patient), HTTP_HOST=in_a.host)
    # then the form says what is in the way and nothing is booked
    assert response.status_code == 200
    assert b"nothing was booked" in response.content
    assert _series_of(patient) == []


@pytest.mark.parametrize(("role", "may_override"), [("owner", True), ("branch_manager", True), ("receptionist", False)])
def test_override_with_a_reason_only_for_those_allowed(in_a, client, role, may_override):
    # given the doctor booked at 10:00 on MONDAY
    clinic = clinic_setup(in_a, doctors=1)
    book(clinic, clinic.at(MONDAY, 10))
    patient = clinic.patient()
    _as(client, in_a, role)
    url = f"/desk/{clinic.branch.pk}/book/"
    form = client.get(url, {"patient": patient.pk}, HTTP_HOST=in_a.host)
    assert (b"Override the calendar" in form.content) is may_override
    # when they book the patient at the same time with an override and a reason
    client.post(
        url,
        _form(clinic, patient, count=1, override="on", override_reason="Urgent, squeezed in"),
        HTTP_HOST=in_a.host,
    )
    # then only those allowed get the double booking, with its reason
    booked = _series_of(patient)
    if may_override:
        assert [(a.is_override, a.override_reason) for a in booked] == [(True, "Urgent, squeezed in")]
    else:
        assert booked == []  # the field is not there for them: an ordinary booking, refused (doctor busy)


def test_an_override_needs_a_reason(in_a, client):
    # given the owner at the desk
    clinic = clinic_setup(in_a, doctors=1)
    patient = clinic.patient()
    _as(client, in_a, "owner")
    # when she ticks override without a reason
    response = client.post(
        f"/desk/{clinic.branch.pk}/book/", _form(clinic, patient, count=1, override="on"), HTTP_HOST=in_a.host
    )
    # then the form asks for one and nothing is booked
    assert b"An override needs a reason." in response.content
    assert _series_of(patient) == []


@pytest.mark.parametrize("role", ["billing"])
def test_roles_without_the_calendar_neither_book_nor_change_a_series(in_a, client, role):
    # given a series booked by the receptionist
    clinic, patient, booked = _desk_series(in_a, client, 2)
    other = clinic.patient()
    client.logout()
    _as(client, in_a, role)
    # when billing tries to book and to cancel the rest
    answers = [
        client.post(f"/desk/{clinic.branch.pk}/book/", _form(clinic, other, count=2), HTTP_HOST=in_a.host),
        client.post(
            f"/desk/series/{booked[0].series_id}/cancel-rest/",
            {"appointment": booked[0].pk, "confirm": "1"},
            HTTP_HOST=in_a.host,
        ),
    ]
    # then both are refused and nothing changed
    assert answers[0].status_code == 403
    assert answers[1].status_code in (302, 403)
    assert _series_of(other) == []
    assert {a.status for a in _series_of(patient)} == {"booked"}


def test_cancelling_the_rest_of_a_series_asks_first_and_counts_in_words(in_a, client):
    # given a weekly series of three
    _, patient, booked = _desk_series(in_a, client, 3)
    series = f"/desk/series/{booked[0].series_id}/"
    # when the rest is cancelled on one click, without the confirmation step
    one_click = client.post(f"{series}cancel-rest/", {"appointment": booked[1].pk}, follow=True, HTTP_HOST=in_a.host)
    # then nothing is cancelled, and the page's cancel button sits inside a disclosure that asks first
    assert b"Nothing was cancelled" in one_click.content
    assert {a.status for a in _series_of(patient)} == {"booked"}
    page = client.get(series, HTTP_HOST=in_a.host).content.decode()
    assert page.count('<details class="confirm"><summary>Cancel the rest') == 3
    assert page.count("Yes, cancel every appointment from") == 3
    # and once confirmed, the messages count in words: one appointment, two appointments
    moved = client.post(
        f"{series}move-rest/",
        {"appointment": booked[1].pk, "day": str(MONDAY + timedelta(days=8)), "at": "14:00"},
        follow=True,
        HTTP_HOST=in_a.host,
    )
    assert b"2 appointments of the series moved." in moved.content
    cancelled = client.post(
        f"{series}cancel-rest/", {"appointment": booked[2].pk, "confirm": "1"}, follow=True, HTTP_HOST=in_a.host
    )
    assert b"1 appointment of the series cancelled." in cancelled.content
    assert [a.status for a in _series_of(patient)] == ["booked", "booked", "cancelled"]
