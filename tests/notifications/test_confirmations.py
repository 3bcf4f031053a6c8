"""The booking confirmation: written in the booking's transaction as the chain chooses per source,
with a manage link issued as it is sent (a secret, masked in the log) and the appointment as an .ics
file on the e-mail; a rolled-back booking confirms nothing."""

from __future__ import annotations

from datetime import UTC, time, timedelta

import pytest
from django.db import transaction

from notifications.compose import compose
from notifications.models import Channel, Kind, Message
from notifications.placeholders import placeholders
from notifications.policy import postponed
from scheduling.models import Source
from scheduling.services import manage_link_resolve
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.notifications.sent_world import kinds, messaging, reachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[24 * 60], quiet=(time(21), time(8)), confirm_walk_in=False, confirm_phone=True)
    return clinic_setup(in_a, doctors=1)


def test_a_booking_is_confirmed_on_each_channel_that_reaches_the_patient(clinic):
    # given a patient with a phone (texts agreed) and an e-mail address
    patient = reachable(clinic)
    # when reception books them after a phone call
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient, source=Source.PHONE)
    # then one confirmation waits on each channel, to the patient's own addresses, in the chain's language
    confirmations = Message.objects.filter(appointment_id=appointment.pk, kind=Kind.CONFIRMATION)
    assert sorted((m.channel, m.recipient) for m in confirmations) == [
        (Channel.EMAIL, patient.email),
        (Channel.SMS, patient.phone),
    ]
    assert {m.language for m in confirmations} == {"en"}


def test_the_chain_chooses_which_sources_are_confirmed(clinic):
    # given a chain that does not confirm walk-ins
    # when a walk-in and a staff booking are made
    walk_in = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic), source=Source.WALK_IN)
    staff = book(clinic, clinic.at(MONDAY, 11), patient=reachable(clinic), source=Source.STAFF)
    # then only the staff booking is confirmed
    assert kinds(walk_in.pk) == []
    assert {k for k, _ in kinds(staff.pk)} == {Kind.CONFIRMATION}
    # when the chain starts confirming walk-ins
    messaging(confirm_walk_in=True)
    later = book(clinic, clinic.at(MONDAY, 12), patient=reachable(clinic), source=Source.WALK_IN)
    # then the next walk-in is
    assert {k for k, _ in kinds(later.pk)} == {Kind.CONFIRMATION}


def test_a_rolled_back_booking_confirms_nothing(clinic):
    # given a booking whose transaction fails after it
    patient = reachable(clinic)
    before = Message.objects.count()

    def booking_then_failure() -> None:
        with transaction.atomic():
            book(clinic, clinic.at(MONDAY, 10), patient=patient)
            raise RuntimeError("something after the booking failed")

    with pytest.raises(RuntimeError):
        booking_then_failure()
    # then no message was left behind
    assert Message.objects.count() == before


def test_the_email_carries_a_fresh_manage_link_and_the_appointment_for_the_calendar(clinic):
    # given a booking's e-mail confirmation
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    email = Message.objects.get(appointment_id=appointment.pk, kind=Kind.CONFIRMATION, channel=Channel.EMAIL)
    # when it is composed for sending
    values = placeholders(email)
    composed = compose(email)
    # then its manage link opens that appointment, and is a secret kept out of the log
    link = values.values["manage_link"]
    assert link.startswith("http://alpha.localhost")
    assert "/book/manage/" in link
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert manage_link_resolve(token=token).pk == appointment.pk
    assert link in values.secrets
    assert link not in composed.logged_body
    # and the appointment travels as an .ics file: its UTC times, the chain's own UID
    [(filename, ics, mimetype)] = values.attachments
    assert (filename, mimetype) == ("appointment.ics", "text/calendar")
    assert f"DTSTART:{appointment.span.lower.astimezone(UTC):%Y%m%dT%H%M%SZ}" in ics
    assert f"UID:appointment-{appointment.pk}@alpha.localhost" in ics
    assert "METHOD:PUBLISH" in ics


def test_the_sms_has_no_attachment(clinic):
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    sms = Message.objects.get(appointment_id=appointment.pk, kind=Kind.CONFIRMATION, channel=Channel.SMS)
    assert placeholders(sms).attachments == ()


def test_an_online_bookers_confirmation_is_not_held_back_by_quiet_hours(clinic):
    # given a confirmation of an online booking and one of a staff booking
    online = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic), source=Source.ONLINE)
    staff = book(clinic, clinic.at(MONDAY, 11), patient=reachable(clinic), source=Source.STAFF)
    asked = Message.objects.get(appointment_id=online.pk, kind=Kind.CONFIRMATION, channel=Channel.SMS)
    told = Message.objects.get(appointment_id=staff.pk, kind=Kind.CONFIRMATION, channel=Channel.SMS)
    # when the dispatcher asks at 23:00 on the branch's clock
    night = clinic.at(MONDAY, 23)
    # then the online booker's goes now (they are waiting for it); the other waits for 08:00
    assert postponed(asked, now=night) is None
    assert postponed(told, now=night) == clinic.at(MONDAY + timedelta(days=1), 8)
