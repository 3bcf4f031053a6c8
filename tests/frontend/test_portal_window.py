"""The portal and the chain's cancellation window: inside it the page offers a call to the branch,
not a Cancel the service would refuse; the change-time picker warns on times inside it; one Sign out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache

from patients import services
from scheduling.models import Status
from tests.factories.scheduling import MONDAY, book, clinic_setup


@pytest.fixture
def portal(in_a, client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    cache.clear()  # the sign-in's rate limits
    clinic = clinic_setup(in_a, doctors=1)
    clinic.branch.phone = "020 7946 0000"
    clinic.branch.save()
    patient = services.patient_create(
        actor=clinic.owner, first_name="Wanda", last_name="Window", email="wanda.window@example.com"
    )
    soon = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    later = book(clinic, clinic.at(MONDAY + timedelta(days=7), 10), patient=patient)
    traveller = time_machine.travel(clinic.at(MONDAY, 8), tick=True)
    traveller.start()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/sign-in/", {"identifier": "wanda.window@example.com"}, HTTP_HOST=in_a.host)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert client.post("/portal/code/", {"code": code}, HTTP_HOST=in_a.host).status_code == 302
    yield clinic, soon, later
    traveller.stop()


def _card(html: str, pk: int) -> str:
    return html.split(f'id="appointment-{pk}"', 1)[1].split('<div class="card"', 1)[0].split("<h2>", 1)[0]


def test_inside_the_window_the_portal_offers_the_branch_phone_not_cancel(in_a, client, portal) -> None:
    # given one appointment two hours away (inside 24 h) and one a week away
    clinic, soon, later = portal
    # when the patient opens the portal
    html = client.get("/portal/", HTTP_HOST=in_a.host).content.decode()
    # then the near one offers a call to the branch, the far one Cancel and Change time
    assert f"Too late to cancel or change online. Please call {clinic.branch.name} on 020 7946 0000." in _card(
        html, soon.pk
    )
    assert "Cancel" not in _card(html, soon.pk).replace("Too late to cancel", "")
    assert "Yes, cancel" in _card(html, later.pk)
    assert "Change time" in _card(html, later.pk)


def test_a_refused_portal_cancel_names_the_branch_phone_and_changes_nothing(in_a, client, portal) -> None:
    # given an appointment inside the window
    clinic, soon, _ = portal
    # when a cancel is posted anyway
    page = client.post(
        f"/portal/appointments/{soon.pk}/cancel/", {"confirm": "1"}, HTTP_HOST=in_a.host, follow=True
    ).content.decode()
    # then it is refused, naming the branch's phone, and nothing changed
    soon.refresh_from_db()
    assert soon.status == Status.BOOKED
    assert "Please call " + clinic.branch.name + " on 020 7946 0000" in page


def test_the_change_page_warns_on_times_inside_the_window(in_a, client, portal) -> None:
    # given the far appointment, and a new time asked for today (inside 24 h)
    _, _, later = portal
    # when the patient opens the change page on today
    html = client.get(
        f"/portal/appointments/{later.pk}/change/?day={MONDAY.isoformat()}", HTTP_HOST=in_a.host
    ).content.decode()
    # then today's times say they could not be cancelled online
    assert html.count("within 24 hours: once booked") == 1  # said once above the times, not on each


def test_the_portal_shows_one_sign_out(in_a, client, portal) -> None:
    html = client.get("/portal/", HTTP_HOST=in_a.host).content.decode()
    assert html.count("Sign out") == 1
