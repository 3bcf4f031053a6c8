"""A patient books online on the phone (390 px), the confirmation e-mail brings the manage link, the
patient replies X by SMS to the chain's own number (Twilio's webhook, signed for real), and the desk
(1024x768) shows the appointment cancelled and the text among the replies; she asks a question, and
reception answers it from the replies page."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from urllib.parse import urlencode, urlparse

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from notifications.models import Channel, InboundMessage, Kind, Message, ReplyOutcome
from patients import services as patients
from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.browser.conftest import sign_in
from tests.browser.test_front_desk import _desk
from tests.helpers import committed
from tests.notifications.twilio_signing import inbound_params, name_service, own_service, signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE_VIEW = {"width": 390, "height": 844}
DESK_VIEW = {"width": 1024, "height": 768}
MOBILE = "+447946000008"
EMAIL = "rita.reply@example.com"


@pytest.fixture
def own_number(browser_chain) -> Iterator[str]:
    """The chain texts through a Messaging Service of its own (given back afterwards)."""
    with committed():
        service = own_service(browser_chain)
    yield service
    with committed():
        name_service(browser_chain, "")


def _text_from_phone(live: str, body: str, service: str) -> int:
    """Twilio posting the patient's text to the chain's inbound webhook, signed for the URL it calls."""
    url = f"{live}/twilio/inbound/"
    params = inbound_params(from_number=MOBILE, body=body, service=service)
    where = urlparse(live)
    # The resolver here does not know *.localhost: connect to the live server, name the chain's host.
    connection = http.client.HTTPConnection("127.0.0.1", where.port, timeout=30)
    connection.request(
        "POST",
        "/twilio/inbound/",
        body=urlencode(params),
        headers={
            "Host": where.netloc,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(url, params),
        },
    )
    status = connection.getresponse().status
    connection.close()
    return status


def test_a_patient_books_online_replies_x_by_sms_and_the_desk_sees_the_cancellation(
    page, live, browser_chain, own_number, shot, axe
):
    # given a patient the clinic knows (e-mail and mobile, agreeing to texts), and no cancellation window
    cache.clear()
    clinic, receptionist = _desk(browser_chain)
    with committed(), schema_context(browser_chain.schema), transaction.atomic():
        sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
        rita = patients.patient_create(
            actor=clinic.owner, first_name="Rita", last_name="Reply", email=EMAIL, phone=MOBILE, ignore_duplicates=True
        )
        for channel in ("sms", "email"):
            patients.consent_set(actor=clinic.owner, patient=rita, channel=channel, given=True)

    # when she books online on her phone
    page.set_viewport_size(PHONE_VIEW)
    page.goto(f"{live}/book/")
    page.get_by_label("Where").select_option(label=clinic.branch.name)
    page.get_by_label("What").select_option(value=str(clinic.service.pk))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="See free times").click()
    page.locator("section.day-times").get_by_role("button").first.click()
    page.get_by_label("First name").fill("Rita")
    page.get_by_label("Last name").fill("Reply")
    page.get_by_label("E-mail or mobile number").fill(EMAIL)
    page.get_by_role("button", name="Send me a code").click()
    code_mail = next(m for m in reversed(mail.outbox) if m.to == [EMAIL])
    code = re.search(r"\b(\d{6})\b", code_mail.body)
    assert code is not None
    page.get_by_label("The six-digit code we sent you").fill(code.group(1))
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    shot("sms-reply-booked")
    axe("booked, on the phone")

    # then the confirmation e-mail arrives with the booking's manage link
    with committed(), schema_context(browser_chain.schema):
        booked = Appointment.objects.get(patient__email=EMAIL, status=Status.BOOKED)
    confirmation = next(m for m in mail.outbox if m.to == [EMAIL] and "/book/manage/" in m.body)
    link = re.search(r"https?://\S+/book/manage/\S+", confirmation.body)
    assert link is not None
    page.goto(link.group(0).replace(urlparse(link.group(0)).netloc, urlparse(live).netloc))
    expect(page.get_by_role("heading", name=re.compile("booked|appointment", re.I)).first).to_be_visible()
    shot("sms-reply-manage-link")

    # when she replies X to the clinic's number
    assert _text_from_phone(live, "X", own_number) == 200

    # then the appointment is cancelled as hers, the text recorded, and she gets one text: the notice
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=booked.pk).status == Status.CANCELLED
        reply = InboundMessage.objects.get(from_number=MOBILE)
        assert (reply.outcome, reply.appointment_id) == (ReplyOutcome.CANCELLED, booked.pk)
        texts = Message.objects.filter(recipient=MOBILE, channel=Channel.SMS, created_at__gte=reply.received_at)
        assert [(m.kind, m.pk) for m in texts] == [(Kind.CANCELLED, reply.reply_id)]
        day = booked.span.lower.astimezone(clinic.tz).date()

    # and the desk, at 1024x768, shows the appointment cancelled on its day
    page.set_viewport_size(DESK_VIEW)
    page.context.clear_cookies()
    sign_in(page, live, receptionist.email)
    page.goto(f"{live}/desk/{clinic.branch.pk}/?day={day}&focus={booked.pk}")
    block = page.locator(f"#event-{booked.pk}")
    expect(block).to_contain_text("Cancelled")
    shot("sms-reply-desk")
    axe("the desk after the patient's text")

    # and the replies page names her text and what was done
    page.goto(f"{live}/messages/replies/")
    row = page.get_by_role("row", name=re.compile("Rita Reply"))
    expect(row).to_contain_text("Appointment cancelled")
    shot("sms-reply-replies")
    axe("replies from patients")

    # when she then asks a question by text, and reception answers it from the replies page
    assert _text_from_phone(live, "Can I come next week instead?", own_number) == 200
    page.goto(f"{live}/messages/replies/")
    question = page.get_by_role("row", name=re.compile("next week instead"))
    expect(question).to_contain_text("—")
    question.get_by_text("Answer", exact=True).click()
    question.get_by_label(f"Answer to {MOBILE}").fill("Yes: book online, or call us.")
    shot("sms-reply-answer-box")
    axe("replies with the answer box open")
    question.get_by_role("button", name="Send the answer").click()

    # then the page says it goes now, and the answer is written to her number
    expect(page.get_by_text(f"Answer written: it goes to {MOBILE} now.")).to_be_visible()
    shot("sms-reply-answered")
    axe("replies after answering")
    with committed(), schema_context(browser_chain.schema):
        answer = Message.objects.filter(recipient=MOBILE, kind=Kind.REPLY, staff_user_id__isnull=False).get()
        assert answer.context["text"].endswith("Yes: book online, or call us.")
