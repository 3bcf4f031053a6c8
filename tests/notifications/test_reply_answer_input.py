"""What staff may write back to a text from the replies page: plain text only (a NUL, an escape or
invisible characters are refused, never sent nor a 500), and only to texts that came to the chain's
own number. A refusal writes nothing. A NUL in a signed inbound text is set aside, not a 500."""

from __future__ import annotations

import pytest

from notifications import reply_services
from notifications.exceptions import ReplyInvalid
from notifications.models import InboundMessage, Message
from tests.fakes.twilio_server import webhook_signature
from tests.helpers import sign_in
from tests.notifications.test_replies_limits import BOT, _text
from tests.notifications.test_replies_limits import clinic as clinic

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "x" * 601,
        "Bring your\x00 card",
        "\u200b\u200b\u200b",
        "Hello \x1b[31mred",
        "Call us \u202eevil",
        "\u3164\u3164",  # Hangul fillers: drawn as nothing
        "\u115f\u1160",
        "\u2800\u2800",  # the blank Braille pattern
        "\u0301\u0308",  # marks with nothing to sit on
        "Hi \ue000",  # a private-use character
    ],
)
def test_an_empty_overlong_or_unprintable_answer_is_refused_and_nothing_written(clinic, answer):
    # given a question texted to the chain's own number
    question = _text("Do I need to bring anything?", sender=BOT)
    before = Message.objects.count()
    # when reception answers with nothing, too much, a NUL, an escape, a direction override, invisible or
    # private characters, or only characters drawn as nothing
    with pytest.raises(ReplyInvalid):
        reply_services.text_answer(actor=clinic.receptionist, text=question, answer=answer)
    # then nothing is written
    assert Message.objects.count() == before


def test_the_page_answers_a_nul_with_its_message_not_a_500(clinic, client, in_a):
    # given a question and reception signed in
    question = _text("Do I need to bring anything?", sender=BOT)
    sign_in(client, clinic.receptionist)
    before = Message.objects.count()
    # when the answer form is posted with a NUL in it
    response = client.post(
        f"/messages/replies/{question.pk}/answer/", {"answer": "Bring\x00 it"}, HTTP_HOST=in_a.host, follow=True
    )
    # then the page answers (the form's refusal or the NUL guard), never a 500, and nothing is written
    assert response.status_code in (200, 400)
    assert Message.objects.count() == before


def test_a_text_through_another_number_is_not_answered_from_the_page(clinic, settings):
    # given a text that came through the platform's shared number, not the chain's own
    stranger = _text("Who is this?", sender=BOT, service=settings.TWILIO_MESSAGING_SERVICE_SID)
    before = Message.objects.count()
    # when reception answers it, then it is refused: the answer would go from this clinic to a stranger
    with pytest.raises(ReplyInvalid) as refused:
        reply_services.text_answer(actor=clinic.receptionist, text=stranger, answer="Hello.")
    assert "own number" in str(refused.value.fields)
    assert Message.objects.count() == before


def test_a_signed_inbound_text_with_a_nul_is_recorded_without_it(clinic, client, in_a, settings):
    # given a correctly signed inbound text whose body carries a NUL
    from tests.notifications.twilio_signing import service_sid

    url = f"http://{in_a.host}/twilio/inbound/"
    params = {
        "MessageSid": "SM" + "7" * 32,
        "From": BOT,
        "To": "+447700900000",
        "Body": "Hel\x00lo",
        "MessagingServiceSid": service_sid(in_a.schema),
    }
    signature = webhook_signature(url, params, settings.TWILIO_AUTH_TOKEN)
    # when Twilio posts it
    response = client.post("/twilio/inbound/", params, HTTP_HOST=in_a.host, HTTP_X_TWILIO_SIGNATURE=signature)
    # then it is taken, not a 500, and kept without the NUL
    assert response.status_code == 200
    assert InboundMessage.objects.get(sid="SM" + "7" * 32).body == "Hello"
