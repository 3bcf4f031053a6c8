"""Twilio's webhooks on a chain's site: signed for real with the SDK's RequestValidator over the public
URL (direct, and behind a proxy that ends TLS and rewrites the host), refused when unsigned or wrongly
signed (nothing recorded), idempotent when Twilio retries; delivery reports never move a message
backwards and touch only this chain's messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications.models import Channel, InboundMessage, Kind, Message, MessageStatus, ReplyOutcome
from notifications.outbox import message_enqueue
from patients import services as patients
from scheduling.models import Appointment, Status
from tests.factories import Chain
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import assert_error
from tests.notifications.twilio_signing import (
    inbound_params,
    new_sid,
    own_service,
    signature,
    status_params,
    twilio_post,
)

INBOUND = "/twilio/inbound/"
STATUS = "/twilio/status/"
PHONE = "+447911123456"


def _sent(chain: Chain, *, sid: str | None = None, status: MessageStatus = MessageStatus.SENT) -> Message:
    """An SMS the dispatcher has handed to Twilio (with Twilio's sid, unless not written yet)."""
    with schema_context(chain.schema):
        message = message_enqueue(
            kind=Kind.REMINDER, channel=Channel.SMS, recipient=PHONE, due_at=timezone.now() - timedelta(minutes=5)
        )
        Message.objects.filter(pk=message.pk).update(
            status=status,
            sent_at=timezone.now() if status != MessageStatus.SENDING else None,
            provider_id=sid or "",
            provider_status="queued" if sid else "",
        )
        return Message.objects.get(pk=message.pk)


def _stored(chain: Chain, message: Message) -> Message:
    with schema_context(chain.schema):
        return Message.objects.get(pk=message.pk)


def _inbound_count(chain: Chain) -> int:
    with schema_context(chain.schema):
        return InboundMessage.objects.count()


# --- signatures ---------------------------------------------------------------------------------------
def test_a_signed_text_is_recorded_and_answered_with_empty_twiml(client, chain_a):
    # given a text to the chain's own number, Twilio signed for the chain's inbound URL
    params = inbound_params(from_number=PHONE, body="hello", service=own_service(chain_a))

    # when it is posted
    response = twilio_post(client, INBOUND, params, host=chain_a.host)

    # then it is recorded, and the answer tells Twilio to send nothing itself (we answer via the outbox)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().endswith("<Response></Response>")
    with schema_context(chain_a.schema):
        row = InboundMessage.objects.get(sid=params["MessageSid"])
    assert (row.from_number, row.body, row.outcome) == (PHONE, "hello", ReplyOutcome.UNKNOWN_SENDER)


@pytest.mark.parametrize("path", [INBOUND, STATUS])
def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_record_nothing(client, chain_a, path):
    # given a message Twilio knows, and the forms of both webhooks
    message = _sent(chain_a, sid=new_sid())
    params = (
        inbound_params(from_number=PHONE, body="STOP")
        if path == INBOUND
        else status_params(sid=message.provider_id, status="delivered")
    )
    host = chain_a.host

    attempts = {
        "unsigned": twilio_post(client, path, params, host=host, sign=False),
        "another token": twilio_post(client, path, params, host=host, token="not-the-auth-token"),
        "another URL": twilio_post(client, path, params, host=host, signed_url=f"http://{host}/elsewhere/"),
        "another chain's URL": twilio_post(client, path, params, host=host, signed_url=f"http://bravo.localhost{path}"),
        "body changed after signing": client.post(
            path,
            {**params, "Body": "X", "MessageStatus": "failed"},
            HTTP_HOST=host,
            HTTP_X_TWILIO_SIGNATURE=signature(f"http://{host}{path}", params),
        ),
    }

    # then each is refused with the stable code, and nothing was recorded or changed
    for what, response in attempts.items():
        assert response.status_code == 403, what
        assert_error(response, 403, "twilio_signature_invalid")
    assert _inbound_count(chain_a) == 0
    stored = _stored(chain_a, message)
    assert (stored.status, stored.provider_status) == (MessageStatus.SENT, "queued")


def test_a_browser_get_is_refused(client, chain_a):
    # a webhook takes Twilio's POST only: refused in JSON with a stable code, as the API refuses
    for path in (INBOUND, STATUS):
        response = client.get(path, HTTP_HOST=chain_a.host)
        assert_error(response, 405, "method_not_allowed")
        assert response["Allow"] == "POST"


def test_a_signed_request_without_twilios_fields_is_refused(client, chain_a):
    # given a signed form without the sender
    params = inbound_params(from_number=PHONE, body="C")
    del params["From"]

    # when it is posted, then it is refused as not a Twilio webhook, and nothing is recorded
    response = twilio_post(client, INBOUND, params, host=chain_a.host)
    assert_error(response, 400, "twilio_webhook_invalid")
    assert _inbound_count(chain_a) == 0


def test_behind_the_proxy_the_public_https_url_is_what_is_validated(client, chain_a, settings):
    # given the app behind a proxy that ends TLS and passes the public host on
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    public = f"https://{chain_a.host}{INBOUND}"
    proxied = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": chain_a.host}
    params = inbound_params(from_number=PHONE, body="hello")

    # when Twilio's request, signed for the public https URL, reaches the app as http on an inner host
    response = twilio_post(client, INBOUND, params, host="web.internal:8000", signed_url=public, **proxied)

    # then it is accepted and recorded in the chain the public host names
    assert response.status_code == 200
    with schema_context(chain_a.schema):
        assert InboundMessage.objects.filter(sid=params["MessageSid"]).exists()

    # and a request signed for the http URL the app sees is not Twilio's (Twilio called https)
    params = inbound_params(from_number=PHONE, body="hello")
    inner = twilio_post(
        client, INBOUND, params, host="web.internal:8000", signed_url=f"http://{chain_a.host}{INBOUND}", **proxied
    )
    assert_error(inner, 403, "twilio_signature_invalid")


def test_without_the_proxy_setting_a_claimed_https_is_not_believed(client, chain_a, settings):
    # given no proxy in front (development): X-Forwarded-Proto is the client's own word
    settings.SECURE_PROXY_SSL_HEADER = None
    params = inbound_params(from_number=PHONE, body="hello")

    # when a request signed for https claims https in the header
    response = twilio_post(
        client,
        INBOUND,
        params,
        host=chain_a.host,
        signed_url=f"https://{chain_a.host}{INBOUND}",
        HTTP_X_FORWARDED_PROTO="https",
    )

    # then it is refused: the URL the app was called at is http
    assert_error(response, 403, "twilio_signature_invalid")


# --- inbound ------------------------------------------------------------------------------------------
def test_twilio_retrying_a_text_changes_nothing_the_second_time(client, chain_a):
    # given a patient with an appointment, and her text "X" delivered once
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a)
        mum = patients.patient_create(actor=clinic.owner, first_name="Mary", last_name="Lane", phone=PHONE)
        appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    params = inbound_params(from_number=PHONE, body="X", service=own_service(chain_a))
    assert twilio_post(client, INBOUND, params, host=chain_a.host).status_code == 200
    with schema_context(chain_a.schema):
        messages = Message.objects.count()
        assert Appointment.objects.get(pk=appointment.pk).status == Status.CANCELLED

    # when Twilio delivers the same MessageSid again (it did not hear our answer)
    again = twilio_post(client, INBOUND, params, host=chain_a.host)

    # then it is answered alike and nothing more is recorded or sent
    assert again.status_code == 200
    with schema_context(chain_a.schema):
        assert InboundMessage.objects.filter(sid=params["MessageSid"]).count() == 1
        assert Message.objects.count() == messages


def test_the_smssid_of_an_older_request_is_taken_when_there_is_no_messagesid(client, chain_a):
    # given a form with SmsSid only (Twilio's older name)
    params = inbound_params(from_number=PHONE, body="help")
    sid = params.pop("MessageSid")

    # when it is posted, then it is recorded under that sid
    assert twilio_post(client, INBOUND, params, host=chain_a.host).status_code == 200
    with schema_context(chain_a.schema):
        assert InboundMessage.objects.filter(sid=sid).exists()


# --- delivery reports ---------------------------------------------------------------------------------
def _report(client, chain: Chain, sid: str, status: str, *, error_code: str = "", query: str = "") -> None:
    path = STATUS + (f"?{query}" if query else "")
    response = twilio_post(client, path, status_params(sid=sid, status=status, error_code=error_code), host=chain.host)
    assert response.status_code == 200, response.content


def test_a_delivered_report_marks_the_message_delivered_and_a_late_sent_does_not_undo_it(client, chain_a):
    # given an SMS Twilio accepted
    sid = new_sid()
    message = _sent(chain_a, sid=sid)

    # when Twilio reports it delivered, then (out of order) sent, then delivered again
    _report(client, chain_a, sid, "delivered")
    delivered = _stored(chain_a, message)
    _report(client, chain_a, sid, "sent")
    _report(client, chain_a, sid, "delivered")

    # then it is delivered, at the time of the first report, and stays so
    stored = _stored(chain_a, message)
    assert (stored.status, stored.provider_status) == (MessageStatus.DELIVERED, "delivered")
    assert stored.delivered_at is not None
    assert stored.delivered_at == delivered.delivered_at
    assert stored.updated_at == delivered.updated_at


@pytest.mark.parametrize(
    ("status", "code", "ours", "said"),
    [
        ("undelivered", "30003", MessageStatus.UNDELIVERED, "switched off"),
        ("failed", "30006", MessageStatus.FAILED, "landline"),
    ],
)
def test_an_undelivered_or_failed_report_is_recorded_with_its_error(client, chain_a, status, code, ours, said):
    # given an SMS Twilio accepted
    sid = new_sid()
    message = _sent(chain_a, sid=sid)

    # when Twilio reports it could not deliver it
    _report(client, chain_a, sid, status, error_code=code)

    # then the message log shows it, with Twilio's error said plainly
    stored = _stored(chain_a, message)
    assert (stored.status, stored.provider_status) == (ours, status)
    assert code in stored.last_error
    assert said in stored.last_error
    assert stored.delivered_at is None


def test_a_report_of_an_unknown_message_is_answered_and_changes_nothing(client, chain_a, chain_b):
    # given an SMS of chain B, and none in chain A with its sid
    sid = new_sid()
    theirs = _sent(chain_b, sid=sid)

    # when a (signed) report of that sid reaches chain A's site, then it is answered 200 (Twilio must
    # not retry it forever) and chain B's message is untouched
    _report(client, chain_a, sid, "delivered")
    _report(client, chain_a, new_sid(), "delivered")
    stored = _stored(chain_b, theirs)
    assert (stored.status, stored.provider_status) == (MessageStatus.SENT, "queued")


def test_a_report_that_beats_the_workers_sent_finds_its_row_by_our_id(client, chain_a):
    # given an SMS handed to Twilio whose worker has not yet written the sid, and another with a sid
    sending = _sent(chain_a, status=MessageStatus.SENDING)
    other = _sent(chain_a, sid=new_sid())
    sid = new_sid()

    # when Twilio reports it sent, with our id in the callback URL (?m=<id>)
    _report(client, chain_a, sid, "sent", query=f"m={sending.pk}")
    # and a report whose URL names a row that has another sid
    _report(client, chain_a, new_sid(), "failed", query=f"m={other.pk}")

    # then the first row takes Twilio's sid and the status; the other is not touched
    stored = _stored(chain_a, sending)
    assert (stored.provider_id, stored.status, stored.provider_status) == (sid, MessageStatus.SENT, "sent")
    assert stored.sent_at is not None
    assert _stored(chain_a, other).status == MessageStatus.SENT
