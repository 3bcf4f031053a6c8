"""The waitlist's words where they contradicted the facts: a freed time first offered to nobody
then offered once someone joined, the desk's flash on adding a patient offered a time at once, the
offer page's "nobody else could be offered it" and its hold's end worded as its message words it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from notifications.waitlist_messages import hold_until
from scheduling.models import WaitlistFreedTime
from scheduling.waitlist import waitlist_freed_said
from tests.helpers import sign_in
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, join, link_token, offers_of, patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    from tests.factories.scheduling import clinic_setup

    cache.clear()
    return clinic_setup(in_a)


def test_a_time_first_offered_to_nobody_then_offered_on_joining_reads_so(clinic, client):
    # given a time freed while nobody waited
    appointment = booked_at(clinic)
    cancel(clinic, appointment)
    freed = WaitlistFreedTime.objects.get(appointment=appointment)
    assert freed.reason.startswith("Offered to nobody: nobody was waiting")
    sign_in(client, clinic.receptionist)
    who = patient(clinic, "Freya")

    # when the desk adds a patient it suits
    form = {
        "patient": who.pk,
        "service": clinic.service.pk,
        "doctor": "",
        "date_from": (DAY - timedelta(days=3)).isoformat(),
        "date_to": (DAY + timedelta(days=3)).isoformat(),
        "time_from": "09:00",
        "time_to": "13:00",
    }
    done = client.post(f"/desk/{clinic.branch.pk}/waitlist/", form, HTTP_HOST=clinic.chain.host, follow=True)

    # then the flash says the time offered to them at once
    start = appointment.span.lower.astimezone(ZoneInfo(clinic.branch.timezone))
    assert f"{who.first_name} {who.last_name} is on the waitlist and offered {start:%a %-d %b %H:%M}." in (
        done.content.decode()
    )
    # and the freed row no longer says it went to nobody as if it still had
    said = waitlist_freed_said(freed=WaitlistFreedTime.objects.get(pk=freed.pk))
    assert f"offered to {who.first_name} {who.last_name}" in said
    assert "Offered to nobody: nobody was waiting" not in said
    assert "First offered to nobody (nobody was waiting at this branch then); offered again" in said


def test_letting_a_time_go_while_the_others_each_answer_an_offer_says_nobody_could_be_offered_it(clinic, client):
    # given two waiting, each offered a freed time of their own
    first_time, second_time = booked_at(clinic, 10), booked_at(clinic, 11)
    first, second = join(clinic), join(clinic)
    cancel(clinic, first_time)
    cancel(clinic, second_time)
    offer = offers_of(first)[0]
    assert offers_of(second)
    token = link_token(offer)

    # when the first lets theirs go
    client.post(f"/waitlist/offer/{token}/decline/", HTTP_HOST=clinic.chain.host)
    page = client.get(f"/waitlist/offer/{token}/", HTTP_HOST=clinic.chain.host).content.decode()

    # then the page does not say nobody else was waiting (the second was): nobody could be offered it
    assert "nobody else on the list was waiting" not in page.lower()
    assert "nobody else on the list could be offered it now, so it is free to book again" in page


def test_the_offer_page_says_the_holds_end_as_its_message_does(clinic, client):
    # given an open offer
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    offer = offers_of(entry)[0]

    # when the patient opens it
    page = client.get(f"/waitlist/offer/{link_token(offer)}/", HTTP_HOST=clinic.chain.host).content.decode()

    # then the hold's end reads "today 13:05" / "tomorrow 09:30" as the e-mail writes it
    until = hold_until(offer.expires_at, tz=ZoneInfo(clinic.branch.timezone), language="en-GB", now=timezone.now())
    assert until.startswith(("today ", "tomorrow "))
    assert f"We keep this time for you until <strong>{until}</strong>." in page
