"""Booking online as one service: patients' one-time codes prove the contact, self-registration and
the hold's confirmation commit together, and the code goes out (through notifications) only after
commit."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache

from notifications import sms
from patients import portal
from patients.exceptions import CodeInvalid
from patients.models import Patient
from patients.services import patient_create
from scheduling.models import Appointment, Status
from scheduling.services.online import online_booking_confirm, online_hold
from tests.factories.scheduling import MONDAY

IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    sms.outbox.clear()


def _hold(clinic, hour=10):
    return online_hold(
        branch_id=clinic.branch.pk,
        service_id=clinic.service.pk,
        doctor_id=clinic.doctors[0].pk,
        start=clinic.at(MONDAY, hour),
        ip=IP,
    )


def _code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)


def _confirm(hold, challenge: str, code: str, first_name: str = "Nina", last_name: str = "Net"):
    """The visitor confirms a held time with a code, as the online booking page does."""
    return online_booking_confirm(
        hold_id=hold.pk,
        hold_token=hold.hold_token,
        first_name=first_name,
        last_name=last_name,
        challenge=challenge,
        code=code,
        ip=IP,
    )


def test_a_booking_code_is_sent_after_commit_and_books_once(clinic, django_capture_on_commit_callbacks):
    # given a held time and a code asked for by e-mail
    hold = _hold(clinic)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        sent = portal.booking_code_request(contact="Nina@Example.com", ip=IP)
    # then nothing is sent until the transaction commits, and then by e-mail
    assert not mail.outbox
    for callback in pending:
        callback()
    assert mail.outbox[-1].to == ["nina@example.com"]
    assert "booking code" in mail.outbox[-1].body

    # when the visitor confirms with the code
    code = _code(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        booked = _confirm(hold, sent.challenge, code)
    # then the held time is the new patient's, with a booking link
    stored = Appointment.objects.get(pk=booked.appointment.pk)
    assert (stored.status, stored.patient.email) == (Status.BOOKED, "nina@example.com")
    assert booked.manage_token
    # and the spent code books nothing else
    other = _hold(clinic, hour=11)
    with pytest.raises(CodeInvalid):
        _confirm(other, sent.challenge, code)
    assert Appointment.objects.get(pk=other.pk).status == Status.HELD


def test_a_wrong_code_or_a_forged_challenge_leaves_no_patient_behind(clinic, django_capture_on_commit_callbacks):
    # given a held time and a code sent by SMS
    hold = _hold(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        sent = portal.booking_code_request(contact="+44 7912 345077", ip=IP)
    code = _code(sms.outbox)
    wrong = "000000" if code != "000000" else "111111"
    patients_before = Patient.objects.count()

    # when the visitor types a wrong code, or brings a challenge of their own making
    for challenge, typed in ((sent.challenge, wrong), (sent.challenge[:-2] + "xx", code)):
        with pytest.raises(CodeInvalid):
            _confirm(hold, challenge, typed, "Sam", "Sms")

    # then nobody was registered and the time is still only held
    assert Patient.objects.count() == patients_before
    assert Appointment.objects.get(pk=hold.pk).status == Status.HELD


def test_booking_codes_share_the_portal_limits(clinic, settings):
    # given the portal's per-(contact, address) quota of codes
    for _ in range(settings.PORTAL_CODES_PER_IDENTIFIER_PER_HOUR):
        portal.booking_code_request(contact="quota@example.com", ip=IP)
    # when one more is asked for, then it is refused like the portal's
    with pytest.raises(portal.TooManyCodes):
        portal.booking_code_request(contact="quota@example.com", ip=IP)
    # and the portal's sign-in counts against the same quota
    with pytest.raises(portal.TooManyCodes):
        portal.portal_code_request(identifier="quota@example.com", ip=IP)


def _book_as(clinic, outbox_contact: str, first_name: str, last_name: str, hour: int, capture):
    hold = _hold(clinic, hour=hour)
    with capture(execute=True):
        sent = portal.booking_code_request(contact=outbox_contact, ip=IP)
    return _confirm(hold, sent.challenge, _code(mail.outbox), first_name, last_name)


def test_a_shared_email_books_on_its_record_and_the_desk_sees_the_name_typed(
    clinic, django_capture_on_commit_callbacks
):
    # given a patient whose e-mail the family shares
    parent = patient_create(actor=clinic.owner, first_name="Zoë", last_name="Family", email="home@example.com")

    # when a child books online with that e-mail, proven by its code, under her own name
    booked = _book_as(clinic, "home@example.com", "Mia", "Family", 10, django_capture_on_commit_callbacks)

    # then the booking is on the e-mail's record, its notes name who booked, and the visitor is told
    stored = Appointment.objects.get(pk=booked.appointment.pk)
    assert (stored.patient_id, stored.notes) == (parent.pk, "Booked online as Mia Family")
    assert "booked as Mia Family" in booked.notice
    assert "Zoë" not in booked.notice  # the record's name is not given away
    assert Patient.objects.filter(email="home@example.com").count() == 1

    # and the record's own name, typed with other case, accents and spacing, is no other name
    again = _book_as(clinic, "home@example.com", " zoe ", "FAMILY", 11, django_capture_on_commit_callbacks)
    assert (Appointment.objects.get(pk=again.appointment.pk).notes, again.notice) == ("", "")
