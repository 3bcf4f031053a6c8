"""Codes and card links go through the outbox like every message, and still arrive at once: the row
is written in the transaction that issued the code, sent right after its commit, the code in the
text sent but not in the text kept, nor in the row once sent."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from notifications import sms
from notifications.models import Channel, Kind, Message, MessageStatus
from patients import portal
from patients.services import patient_create
from tests.factories.scheduling import clinic_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(in_a):
    clinic = clinic_setup(in_a, doctors=1)
    return patient_create(
        actor=clinic.owner, first_name="Cody", last_name="Code", email="cody@example.com", phone="+44 7912 345077"
    )


@pytest.mark.parametrize(
    ("identifier", "channel"), [("cody@example.com", Channel.EMAIL), ("+447912345077", Channel.SMS)]
)
def test_a_sign_in_code_arrives_at_once_and_is_not_kept(
    patient, identifier, channel, django_capture_on_commit_callbacks
):
    # given nothing sent yet
    mail.outbox.clear()
    sms.outbox.clear()
    # when the patient asks for a sign-in code
    with django_capture_on_commit_callbacks(execute=True):
        portal.portal_code_request(identifier=identifier, ip="203.0.113.9")
    # then it arrived, on the channel asked for
    text = mail.outbox[-1].body if channel == Channel.EMAIL else sms.outbox[-1].body
    code = re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]
    # and the outbox row says so, without the code in the log or in the row
    row = Message.objects.get(kind=Kind.SIGN_IN_CODE, recipient=identifier)
    assert row.status == MessageStatus.SENT
    assert row.channel == channel
    assert code not in row.body
    assert code not in str(row.context)
