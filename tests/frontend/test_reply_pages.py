"""The replies page (/messages/replies/): staff read what patients texted back, whom it was matched to
and what was done, within the branches they see; the texts are access-logged; patients are refused."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.replies import Inbound, inbound_message_receive
from patients import services as patients
from patients.models import Patient
from patients.portal import portal_user_for
from scheduling import services as sched
from tenants.audit.models import AccessLog
from tests.factories import Chain
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import sign_in
from tests.notifications.twilio_signing import new_sid

pytestmark = pytest.mark.django_db

PAGE = "/messages/replies/"
PHONE = "+447911123456"


@pytest.fixture
def replied(in_a: Chain):
    """A patient at the first branch texted X (cancelled); one at the second branch texted C."""
    sched.policy_update(actor=in_a.users["owner"], cancellation_window_hours=24)
    here = clinic_setup(in_a, branch=in_a.branches[0], doctors=1)
    there = clinic_setup(in_a, branch=in_a.branches[1], doctors=1)
    mary = patients.patient_create(actor=here.owner, first_name="Mary", last_name="Lane", phone=PHONE)
    olga = patients.patient_create(actor=here.owner, first_name="Olga", last_name="Far", phone="+447946000012")
    book(here, here.at(here.days_ahead(3), 10), patient=mary)
    book(there, there.at(there.days_ahead(4), 11), patient=olga, actor=there.owner)
    cancelled, _ = inbound_message_receive(inbound=Inbound(sid=new_sid(), from_number=PHONE, body="X"))
    confirmed, _ = inbound_message_receive(inbound=Inbound(sid=new_sid(), from_number=olga.phone, body="C"))
    return mary, olga, cancelled, confirmed


def test_the_owner_reads_every_reply_with_what_was_done(replied, in_a: Chain, client: Any):
    mary, olga, cancelled, _ = replied
    # given the owner signed in
    sign_in(client, in_a.users["owner"])

    # when she opens the replies page
    page = client.get(PAGE, HTTP_HOST=in_a.host)

    # then both texts show, with their patients and outcomes, and the read is on the access log
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Replies from patients</h1>" in html
    assert "Mary Lane" in html
    assert "Olga Far" in html
    assert "Appointment cancelled" in html
    assert "Appointment confirmed" in html
    logged = AccessLog.objects.filter(object_type="inbound_sms", action="list", actor_id=in_a.users["owner"].pk)
    assert {mary.pk, olga.pk} <= set(logged.values_list("patient_id", flat=True))
    assert str(cancelled.pk) in set(logged.values_list("object_id", flat=True))


def test_reception_reads_only_replies_about_its_branches(replied, in_a: Chain, client: Any):
    # given the receptionist, who works at the first branch only
    sign_in(client, in_a.users["receptionist"])

    # when she opens the replies page, then she sees the first branch's reply and not the second's
    html = client.get(PAGE, HTTP_HOST=in_a.host).content.decode()
    assert "Mary Lane" in html
    assert "Olga Far" not in html


def test_a_patient_may_not_read_the_replies(replied, in_a: Chain, client: Any):
    mary = replied[0]
    # given a patient signed in to the portal
    sign_in(client, portal_user_for(patient=Patient.objects.get(pk=mary.pk)))

    # when she opens the replies page, then she is refused
    assert client.get(PAGE, HTTP_HOST=in_a.host).status_code == 403
