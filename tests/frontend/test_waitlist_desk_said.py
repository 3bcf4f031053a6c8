"""What the desk and the patient read about the waitlist: after a cancel, the panel says whether the
patient was told and where the freed time went (to whom, or why to nobody); the waitlist page lists
the freed times with the same words and asks before removing; an offer made in quiet hours reads
"not sent yet"; the offer page gives the hold with its day."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from notifications.dispatch import messages_dispatch_all
from notifications.waitlist_messages import hold_until
from patients.services import patient_create
from scheduling.intervals import wall_clock
from tests.factories.scheduling import book
from tests.helpers import sign_in
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, join, link_token, offers_of, patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    """The chain's branch, the clock at 10:00 two days before the waited-for day (outside quiet
    hours: offers go at once and are held from then)."""
    from tests.factories.scheduling import clinic_setup

    cache.clear()
    clinic = clinic_setup(in_a)
    with clinic.morning_of(DAY - timedelta(days=2)):
        yield clinic


def _cancel_at_the_desk(client, clinic, appointment) -> str:
    panel = client.post(
        f"/desk/appointments/{appointment.pk}/cancel/",
        {"confirm": "1", "reason": "Clinic asked to move"},
        HTTP_HOST=clinic.chain.host,
        HTTP_HX_REQUEST="true",
    )
    assert panel.status_code == 200
    return panel.content.decode()


def test_the_cancel_panel_says_the_patient_is_told_and_to_whom_the_time_went(clinic, client):
    # given Leo booked at 10:00 (an e-mail on file) and waiting himself, and Ana waiting for that morning
    leo = patient(clinic, "Leo")
    join(clinic, leo)
    ana = patient(clinic, "Ana")
    join(clinic, ana)
    appointment = book(clinic, clinic.at(DAY, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=leo)
    sign_in(client, clinic.receptionist)

    # when the desk cancels Leo's visit
    html = _cancel_at_the_desk(client, clinic, appointment)

    # then the panel says Leo is told by e-mail and the time was offered to Ana, not back to Leo
    assert "The patient is told by e-mail" in html
    assert f"offered to Ana {ana.last_name} (held until" in html
    assert f"Leo {leo.last_name} (" not in html


def test_the_cancel_panel_says_when_nobody_is_told_nor_offered_and_why(clinic, client):
    # given a patient with only a mobile number and no SMS consent, and nobody waiting
    who = patient_create(actor=clinic.owner, first_name="Mia", last_name="Okonkwo", phone="+447911000987")
    appointment = book(clinic, clinic.at(DAY, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=who)
    sign_in(client, clinic.receptionist)

    # when the desk cancels it
    html = _cancel_at_the_desk(client, clinic, appointment)

    # then the panel says she is not told and why, and why the time went to nobody
    assert "The patient is not told: no SMS consent on record, no e-mail address on file." in html
    assert "Offered to nobody: nobody was waiting at this branch then." in html


def test_the_waitlist_page_lists_freed_times_and_asks_before_removing(clinic, client):
    # given Leo waiting for afternoons only, and a morning visit cancelled
    entry = join(clinic, times=(time(14), time(17)))
    cancel(clinic, booked_at(clinic, 10))
    sign_in(client, clinic.receptionist)

    # when the desk opens the waitlist
    html = client.get(f"/desk/{clinic.branch.pk}/waitlist/", HTTP_HOST=clinic.chain.host).content.decode()

    # then the freed time is listed with why nobody was offered it
    assert "Freed times" in html
    assert "Offered to nobody: of 1 waiting, 1 can come on other days or at other times." in html
    # and "Remove" opens a confirmation (no script) whose "Yes, remove" posts the confirmation
    assert '<details class="confirm cancel-confirm">' in html
    assert f'action="/desk/waitlist/{entry.pk}/remove/"' in html
    assert 'name="confirm" value="1"' in html
    assert "Yes, remove" in html


def test_an_offer_made_in_quiet_hours_reads_not_sent_yet_at_the_desk(clinic, client, time_machine):
    # given a waiting patient and a visit cancelled at 06:53 on the branch's clock (quiet hours until 08:00)
    morning = DAY - timedelta(days=2)
    entry = join(clinic)
    appointment = booked_at(clinic, 10)
    time_machine.move_to(wall_clock(morning, time(6, 53), clinic.tz), tick=False)
    cancel(clinic, appointment)
    sign_in(client, clinic.receptionist)

    # when the desk reads the offers and the waitlist
    offers = client.get(f"/desk/{clinic.branch.pk}/waitlist/offers/", HTTP_HOST=clinic.chain.host).content.decode()
    waiting = client.get(f"/desk/{clinic.branch.pk}/waitlist/", HTTP_HOST=clinic.chain.host).content.decode()

    # then both say the offer is not sent yet, and that it is held until 08:30 of that day
    held = f"held until {morning:%A} {morning.day} {morning:%B}, 08:30"
    for html in (offers, waiting):
        assert "not sent yet (quiet hours until 08:00)" in html
        assert held in html
    assert offers_of(entry)[0].reaches_at is not None


def test_the_offer_page_gives_the_hold_with_its_day(clinic, client):
    # given an offer
    entry = join(clinic)
    cancel(clinic, booked_at(clinic, 10))
    (offer,) = offers_of(entry)

    # when the patient opens its link
    html = client.get(f"/waitlist/offer/{link_token(offer)}/", HTTP_HOST=clinic.chain.host).content.decode()

    # then the hold has its day, as its message says it ("today 13:05", "tomorrow 09:30", else the day)
    held = hold_until(offer.expires_at, tz=clinic.tz, language="en-GB", now=timezone.now())
    assert f"until <strong>{held}</strong>" in html


def test_a_decline_with_nobody_next_reads_as_a_decline_for_the_patient_and_the_desk(clinic, client):
    # given Tomas, the only one waiting, offered a freed time
    tomas = patient(clinic, "Tomas")
    entry = join(clinic, tomas)
    cancel(clinic, booked_at(clinic, 10))
    (offer,) = offers_of(entry)

    # when he declines it from his link
    page = client.post(
        f"/waitlist/offer/{link_token(offer)}/decline/", HTTP_HOST=clinic.chain.host, follow=True
    ).content.decode()

    # then he is not told it goes to a next person (there is none), only that he declined and stays
    assert "next person" not in page
    assert "you declined this time" in page
    # and the desk reads that it was declined, not that nobody took it in time
    sign_in(client, clinic.receptionist)
    html = client.get(f"/desk/{clinic.branch.pk}/waitlist/", HTTP_HOST=clinic.chain.host).content.decode()
    assert f"offered to Tomas {tomas.last_name} (declined)" in html
    assert "Everyone it was offered to declined it: it is free to book again." in html
    assert "took it in time" not in html


def test_the_patient_a_freed_time_was_offered_to_is_on_the_access_log_of_the_cancel_panel(clinic, client):
    # given Ana waiting for that morning, and Leo's 10:00 visit
    from tenants.audit.models import AccessLog

    ana = patient(clinic, "Ana")
    join(clinic, ana)
    appointment = book(
        clinic, clinic.at(DAY, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=patient(clinic, "Leo")
    )
    sign_in(client, clinic.receptionist)

    # when the desk cancels it and the panel names Ana as the one the time was offered to
    html = _cancel_at_the_desk(client, clinic, appointment)
    assert f"offered to Ana {ana.last_name}" in html

    # then reading her name is on the access log, under her, by the receptionist
    assert AccessLog.objects.filter(patient_id=ana.pk, actor_id=clinic.receptionist.pk, action="view").exists()


def test_the_move_says_the_patient_is_told_and_to_whom_the_old_time_went(clinic, client):
    # given Leo booked at 10:00 (an e-mail on file), and Ana waiting for that morning
    leo = patient(clinic, "Leo")
    ana = patient(clinic, "Ana")
    join(clinic, ana)
    appointment = book(clinic, clinic.at(DAY, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=leo)
    sign_in(client, clinic.receptionist)

    # when the desk moves Leo to 15:00 (his confirmation not sent yet: it will give the new time)
    moved = client.post(
        f"/desk/appointments/{appointment.pk}/move/",
        {"start": clinic.at(DAY, 15).isoformat(), "doctor": clinic.doctors[0].pk},
        HTTP_HOST=clinic.chain.host,
        follow=True,
    )

    # then the desk reads that Leo's confirmation gives the new time and his old 10:00 was offered to Ana
    html = moved.content.decode()
    assert "moved to" in html
    assert "The confirmation still to be sent gives the new time." in html
    assert f"offered to Ana {ana.last_name} (held until" in html

    # when his confirmation has gone and the desk moves him again, to 16:00
    messages_dispatch_all()
    again = client.post(
        f"/desk/appointments/{appointment.pk}/move/",
        {"start": clinic.at(DAY, 16).isoformat(), "doctor": clinic.doctors[0].pk},
        HTTP_HOST=clinic.chain.host,
        follow=True,
    ).content.decode()

    # then the desk reads that he is told by e-mail, and of no earlier freed time
    assert "The patient is told by e-mail." in again
    assert "offered to Ana" not in again
