"""Twilio's webhooks on a chain's site: delivery reports (POST /twilio/status/) and texts patients send
(POST /twilio/inbound/).

Each request must carry ``X-Twilio-Signature``, checked by the SDK's ``RequestValidator`` with the
account's auth token against the public URL Twilio called. Behind our proxy the app sees plain http
(and maybe an inner host): ``request.build_absolute_uri()`` rebuilds the public URL from
``SECURE_PROXY_SSL_HEADER`` (X-Forwarded-Proto, set in production) and, where the proxy rewrites the
Host, ``USE_X_FORWARDED_HOST``. Unsigned or wrongly signed: 403 ``twilio_signature_invalid`` and
nothing recorded. Both are idempotent (Twilio retries): see notifications.delivery and
notifications.replies. The answer is an empty TwiML document: what we answer a patient goes through
the outbox.

Refusals are JSON with a stable code, as the API's: 405 ``method_not_allowed`` for anything but POST,
400 ``twilio_webhook_invalid`` for a body larger than Django reads (DATA_UPLOAD_MAX_MEMORY_SIZE) or
with more fields than it parses (DATA_UPLOAD_MAX_NUMBER_FIELDS) - nothing Twilio sends - and nothing
is recorded."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from config.errors import ApplicationError, MethodNotAllowed
from notifications.delivery import delivery_status_record
from notifications.exceptions import TwilioSignatureInvalid, TwilioWebhookInvalid
from notifications.replies import Inbound, inbound_message_receive

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_NUMBER = re.compile(r"\+?[0-9A-Za-z:._-]{1,32}")  # E.164, or a channel address (whatsapp:+44...)
_STATUS = re.compile(r"[a-z_]{1,20}")
_ERROR_CODE = re.compile(r"[0-9]{0,8}")


def public_url(request: HttpRequest) -> str:
    """The URL Twilio called, as our proxy tells it (scheme and host), with its query."""
    return request.build_absolute_uri()


def signed_by_twilio(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.TWILIO_AUTH_TOKEN
    if not signature or not token:
        return False
    return bool(RequestValidator(token).validate(public_url(request), request.POST, signature))


def _refused(error: ApplicationError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status)


def twilio_webhook(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """POST only, a body Twilio could have sent, signed by Twilio: else a JSON refusal."""

    @csrf_exempt
    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            response = _refused(MethodNotAllowed())
            response["Allow"] = "POST"
            return response
        try:
            request.POST  # noqa: B018 - parsed here, where its limits are answered
        except (RequestDataTooBig, TooManyFieldsSent):
            return _refused(TwilioWebhookInvalid("The request is larger than any Twilio webhook."))
        if not signed_by_twilio(request):
            log.warning("unsigned or wrongly signed twilio webhook refused (%s)", public_url(request))
            return _refused(TwilioSignatureInvalid())
        return view(request)

    return checked


def _twiml() -> HttpResponse:
    return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")


def _field(request: HttpRequest, name: str, pattern: re.Pattern[str], *, required: bool = True) -> str:
    value = request.POST.get(name, "").strip()
    if (required or value) and not pattern.fullmatch(value):
        raise TwilioWebhookInvalid(fields={name: ["Missing or not of Twilio's form."]})
    return value


@twilio_webhook
def twilio_status(request: HttpRequest) -> HttpResponse:
    """A delivery report of an SMS we sent."""
    try:
        sid = _field(request, "MessageSid", _SID)
        status = _field(request, "MessageStatus", _STATUS)
        error_code = _field(request, "ErrorCode", _ERROR_CODE, required=False)
    except TwilioWebhookInvalid as invalid:
        return _refused(invalid)
    ours = request.GET.get("m", "")
    message_id = int(ours) if ours.isdigit() and len(ours) < 19 else None
    delivery_status_record(sid=sid, status=status, error_code=error_code, message_id=message_id)
    return _twiml()


@twilio_webhook
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """A text a patient sent to the chain's number (acted on only through the chain's own Messaging
    Service: notifications.replies)."""
    try:
        sid = _field(request, "MessageSid", _SID, required=False) or _field(request, "SmsSid", _SID)
        inbound = Inbound(
            sid=sid,
            from_number=_field(request, "From", _NUMBER),
            to_number=_field(request, "To", _NUMBER, required=False),
            body=request.POST.get("Body", "").replace("\x00", "")[:1600],  # a NUL cannot be stored, nor texted
            opt_out_type=request.POST.get("OptOutType", "").replace("\x00", "").strip()[:16],
            messaging_service_sid=_field(request, "MessagingServiceSid", _SID, required=False),
        )
    except TwilioWebhookInvalid as invalid:
        return _refused(invalid)
    inbound_message_receive(inbound=inbound)
    return _twiml()
