"""The waitlist's pages: the desk's list (add a patient found by search, remove, the offers and their
state), the patient's offer page (take it, let it go, expired and taken states), the entry page to
leave the list, and joining from the online booking page with the booking page's code."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import OfferStatus, Status, WaitlistEntry, WaitlistStatus
from tests.helpers import sign_in
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, expire_at, join, link_token, offers_of, patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    from tests.factories.scheduling import clinic_setup

    cache.clear()
    return clinic_setup(in_a)


def _offered(clinic, count=1):
    appointment = booked_at(clinic)
    entries = [join(clinic) for _ in range(count)]
    cancel(clinic, appointment)
    return entries, offers_of(entries[0])[0]


def test_the_desk_lists_who_waits_with_their_offer_and_removes(clinic, client):
    # given two waiting patients, the first offered a freed time
    (first, second), _offer = _offered(clinic, count=2)
    sign_in(client, clinic.receptionist)

    # when the receptionist follows the desk's link to the branch's waitlist
    desk = client.get(f"/desk/{clinic.branch.pk}/", HTTP_HOST=clinic.chain.host).content.decode()
    assert f'href="/desk/{clinic.branch.pk}/waitlist/"' in desk
    page = client.get(f"/desk/{clinic.branch.pk}/waitlist/", HTTP_HOST=clinic.chain.host)

    # then both are listed in the order they joined, the first with the open offer
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(first.patient.last_name) < html.index(second.patient.last_name)
    assert "Waiting for an answer" in html

    # when she clicks "Remove" without saying "Yes, remove" (a form posted without the confirmation)
    asked = client.post(f"/desk/waitlist/{second.pk}/remove/", HTTP_HOST=clinic.chain.host, follow=True)

    # then nobody is removed, and she is told to confirm
    second.refresh_from_db()
    assert second.status == WaitlistStatus.WAITING
    assert "Not removed: confirm" in asked.content.decode()

    # when she removes the second, confirming
    done = client.post(f"/desk/waitlist/{second.pk}/remove/", {"confirm": "1"}, HTTP_HOST=clinic.chain.host)

    # then the second is off the list
    assert done.status_code == 302
    second.refresh_from_db()
    assert second.status == WaitlistStatus.REMOVED
    offers = client.get(f"/desk/{clinic.branch.pk}/waitlist/offers/", HTTP_HOST=clinic.chain.host)
    assert first.patient.last_name in offers.content.decode()


def test_the_desk_adds_a_patient_found_by_search(clinic, client):
    # given a patient
    who = patient(clinic, "Searchable")
    sign_in(client, clinic.receptionist)
    host = clinic.chain.host

    # when the receptionist searches, picks them and submits the form
    found = client.get(f"/desk/{clinic.branch.pk}/waitlist/?q=Searchable", HTTP_HOST=host).content.decode()
    assert f"?patient={who.pk}" in found
    form = {
        "patient": who.pk,
        "service": clinic.service.pk,
        "doctor": "",
        "date_from": DAY.isoformat(),
        "date_to": (DAY + timedelta(days=7)).isoformat(),
        "time_from": "09:00",
        "time_to": "12:00",
        "weekdays": ["0", "2"],
    }
    done = client.post(f"/desk/{clinic.branch.pk}/waitlist/", form, HTTP_HOST=host)

    # then the patient waits, on Mondays and Wednesdays
    assert done.status_code == 302
    entry = WaitlistEntry.objects.get(patient=who)
    assert (entry.weekdays, entry.time_to) == ([0, 2], time(12))

    # and a window ending before it starts is a form error, nothing added
    again = client.post(f"/desk/{clinic.branch.pk}/waitlist/", form | {"time_to": "08:00"}, HTTP_HOST=host)
    assert again.status_code == 200
    assert "latest time" in again.content.decode().lower()
    assert WaitlistEntry.objects.filter(patient=who).count() == 1


def test_billing_staff_see_the_list_but_cannot_add_or_remove(clinic, client):
    entry = join(clinic)
    sign_in(client, clinic.chain.users["billing"])
    page = client.get(f"/desk/{clinic.branch.pk}/waitlist/", HTTP_HOST=clinic.chain.host).content.decode()
    assert entry.patient.last_name in page
    assert "Add a patient" not in page
    client.post(f"/desk/waitlist/{entry.pk}/remove/", {"confirm": "1"}, HTTP_HOST=clinic.chain.host)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


def test_the_offer_page_takes_the_time_and_shows_the_booking(clinic, client):
    # given an offer
    (_entry,), offer = _offered(clinic)
    token = link_token(offer)

    # when the patient opens the link and takes the time
    page = client.get(f"/waitlist/offer/{token}/", HTTP_HOST=clinic.chain.host).content.decode()
    assert "A time is free for you" in page
    done = client.post(f"/waitlist/offer/{token}/accept/", HTTP_HOST=clinic.chain.host)

    # then they land on their booking's page
    assert done["Location"].startswith("/book/manage/")
    assert "You are booked" in client.get(done["Location"], HTTP_HOST=clinic.chain.host).content.decode()
    assert "You took this time" in client.get(f"/waitlist/offer/{token}/", HTTP_HOST=clinic.chain.host).content.decode()


def test_the_offer_page_says_kindly_when_the_time_was_taken(clinic, client):
    # given two offered in turn, the second took it after the first's offer expired
    (first, second), offer = _offered(clinic, count=2)
    sched.waitlist_offers_expire(now=expire_at(offer))
    sched.waitlist_offer_accept(token=link_token(offers_of(second)[0]))

    # when the first tries to take it late
    token = link_token(offer)
    client.post(f"/waitlist/offer/{token}/accept/", HTTP_HOST=clinic.chain.host)
    page = client.get(f"/waitlist/offer/{token}/", HTTP_HOST=clinic.chain.host).content.decode()

    # then the page says it was taken and that they stay on the list
    assert "Sorry, this time was taken" in page
    assert "still on the waitlist" in page
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING


def test_an_expired_offer_says_so_and_may_still_be_taken(clinic, client):
    (_entry,), offer = _offered(clinic)
    sched.waitlist_offers_expire(now=expire_at(offer))
    page = client.get(f"/waitlist/offer/{link_token(offer)}/", HTTP_HOST=clinic.chain.host).content.decode()
    assert "This offer has expired" in page
    assert "Take this time" in page


def test_declining_and_leaving_from_the_offer_page(clinic, client):
    (entry,), offer = _offered(clinic)
    token = link_token(offer)
    client.post(f"/waitlist/offer/{token}/decline/", HTTP_HOST=clinic.chain.host)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED
    assert offer.hold.__class__.objects.get(pk=offer.hold_id).status == Status.CANCELLED
    client.post(f"/waitlist/{token}/leave/", {"back": "offer"}, HTTP_HOST=clinic.chain.host)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT


def test_a_forged_link_is_not_found(clinic, client):
    assert client.get("/waitlist/offer/forged/", HTTP_HOST=clinic.chain.host).status_code == 404
    assert client.post("/waitlist/offer/forged/accept/", HTTP_HOST=clinic.chain.host).status_code == 404
    assert client.get("/waitlist/forged/", HTTP_HOST=clinic.chain.host).status_code == 404


def test_an_offer_link_of_one_chain_opens_nothing_at_another(clinic, client, chain_b):
    (_entry,), offer = _offered(clinic)
    token = link_token(offer)
    assert client.get(f"/waitlist/offer/{token}/", HTTP_HOST=chain_b.host).status_code == 404
    assert client.post(f"/waitlist/offer/{token}/accept/", HTTP_HOST=chain_b.host).status_code == 404
    with schema_context(clinic.chain.schema):  # the requests left the connection in chain B's schema
        offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN


def test_joining_from_the_booking_page_with_the_code(clinic, client, django_capture_on_commit_callbacks):
    # given the booking page's times
    host = clinic.chain.host
    slots = client.get(
        f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1", HTTP_HOST=host
    ).content.decode()
    join_href = re.search(r'href="(/book/waitlist/\?[^"]+)"', slots).group(1).replace("&amp;", "&")

    # when a visitor asks to join, proves their e-mail with the code
    form = {
        "first_name": "Wanda",
        "last_name": "Waiting",
        "contact": "wanda@example.com",
        "date_from": DAY.isoformat(),
        "date_to": (DAY + timedelta(days=14)).isoformat(),
        "time_from": "08:00",
        "time_to": "12:00",
    }
    shown = client.get(join_href, HTTP_HOST=host)
    assert shown.status_code == 200, join_href
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(join_href, form, HTTP_HOST=host)
    assert sent.status_code == 302, re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</', sent.content.decode(), re.S)
    assert sent["Location"] == "/book/waitlist/confirm/"
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/book/waitlist/confirm/", {"code": code}, HTTP_HOST=host)

    # then they are on the list, and their page offers to leave it
    entry = WaitlistEntry.objects.get(patient__email="wanda@example.com")
    assert (entry.source, entry.status) == ("online", WaitlistStatus.WAITING)
    page = client.get(done["Location"], HTTP_HOST=host).content.decode()
    assert "You are on the waitlist" in page
    assert "Leave the waitlist" in page


def _service_select(html: str) -> str:
    return re.search(r'<select name="service".*?</select>', html, re.S).group(0)  # type: ignore[union-attr]


def test_the_add_form_picks_the_branchs_only_service_and_asks_to_choose_among_several(clinic, client):
    # given a branch offering one service, and a patient picked for the form
    who = patient(clinic, "Picked")
    sign_in(client, clinic.receptionist)
    url = f"/desk/{clinic.branch.pk}/waitlist/?patient={who.pk}"

    # when the receptionist opens the form
    html = client.get(url, HTTP_HOST=clinic.chain.host).content.decode()

    # then that service is chosen already, so the first Add is not refused for it
    assert f'<option value="{clinic.service.pk}" selected>' in _service_select(html)
    assert "Choose a service" not in html

    # when the branch offers a second service
    other = sched.service_create(actor=clinic.owner, name="Second look", duration_minutes=30)
    sched.offering_set(
        actor=clinic.owner, doctor=clinic.doctors[0], branch=clinic.branch, service_ids=[clinic.service.pk, other.pk]
    )
    html = client.get(url, HTTP_HOST=clinic.chain.host).content.decode()

    # then none is chosen and the form says to choose one beside it
    assert '<option value="" selected>' in _service_select(html)
    assert f'<option value="{other.pk}">' in _service_select(html)
    assert "Choose a service: this branch offers several." in html
