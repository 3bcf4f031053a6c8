"""Twilio's inbound webhook refuses, in JSON with a stable code, what Twilio never sends (a body larger
than Django reads, more fields than it parses, a GET), recording nothing; and a signed text through a
Messaging Service that is not the chain's own is answered 200 and acts on no patient."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from notifications.models import InboundMessage, ReplyOutcome
from patients import services as patients
from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.factories import Chain
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import assert_error
from tests.notifications.twilio_signing import inbound_params, own_service, service_sid, twilio_post

INBOUND = "/twilio/inbound/"
PHONE = "+447911123456"


def _recorded(chain: Chain) -> int:
    with schema_context(chain.schema):
        return InboundMessage.objects.count()


def test_a_huge_signed_inbound_body_is_refused_with_a_stable_json_code(client, chain_a):
    # given a signed text of 3 MB (Twilio's bodies are at most 1600 characters)
    params = inbound_params(from_number=PHONE, body="x" * (3 * 1024 * 1024), service=own_service(chain_a))

    # when it is posted
    response = twilio_post(client, INBOUND, params, host=chain_a.host)

    # then refused in JSON with a stable code, and nothing is recorded
    assert_error(response, 400, "twilio_webhook_invalid")
    assert _recorded(chain_a) == 0


def test_too_many_fields_are_refused_with_a_stable_json_code(client, chain_a):
    # given a signed form of 1200 fields (Twilio sends a few dozen)
    params = inbound_params(from_number=PHONE, body="C", **{f"f{i}": "1" for i in range(1200)})

    # when it is posted, then refused in JSON with a stable code, and nothing is recorded
    response = twilio_post(client, INBOUND, params, host=chain_a.host)
    assert_error(response, 400, "twilio_webhook_invalid")
    assert _recorded(chain_a) == 0


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_anything_but_post_is_answered_a_json_405(client, chain_a, method):
    response = getattr(client, method)(INBOUND, HTTP_HOST=chain_a.host)
    assert_error(response, 405, "method_not_allowed")
    assert _recorded(chain_a) == 0


@pytest.mark.parametrize("through", ["shared", "other chain"])
def test_a_signed_x_through_a_service_not_the_chains_own_cancels_nothing(client, chain_a, chain_b, settings, through):
    # given chain A has its own Messaging Service and Mary an appointment there, with SMS consent
    own_service(chain_a)
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a)
        sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
        mum = patients.patient_create(actor=clinic.owner, first_name="Mary", last_name="Lane", phone=PHONE)
        mum = patients.consent_set(actor=clinic.owner, patient=mum, channel="sms", given=True)
        appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    service = settings.TWILIO_MESSAGING_SERVICE_SID if through == "shared" else service_sid(chain_b.schema)

    # when "X" and "STOP" from her number, through the shared service or chain B's, reach chain A's host
    for body in ("X", "STOP"):
        params = inbound_params(from_number=PHONE, body=body, service=service)
        assert twilio_post(client, INBOUND, params, host=chain_a.host).status_code == 200

    # then both are recorded as not to this clinic's own number; the visit and her consent stand
    with schema_context(chain_a.schema):
        rows = InboundMessage.objects.filter(from_number=PHONE)
        assert {r.outcome for r in rows} == {ReplyOutcome.OTHER_SERVICE}
        assert {r.patient_id for r in rows} == {None}
        assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED
        assert Patient.objects.get(pk=mum.pk).consents_to("sms")
