"""Posting to our Twilio webhooks as Twilio does: form-encoded, signed with the account's auth token
over the public URL it calls (the real SDK's RequestValidator computes the signature)."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from notifications.selectors import messaging_settings_get
from notifications.services import MessagingSettingsIn, messaging_settings_update
from tests.fakes.twilio_server import webhook_signature

_seq = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


def signature(url: str, params: dict[str, str], *, token: str | None = None) -> str:
    return webhook_signature(url, params, token or settings.TWILIO_AUTH_TOKEN)


def service_sid(schema: str) -> str:
    """The SID of the Messaging Service a test chain has of its own (one per chain)."""
    return "MG" + hashlib.sha256(schema.encode()).hexdigest()[:32]


def own_service(chain: Any) -> str:
    """Give ``chain`` a Messaging Service of its own, as its owner does in the messaging settings; its
    SID. Only texts through it act on the chain's patients."""
    sid = service_sid(chain.schema)
    name_service(chain, sid)
    return sid


def name_service(chain: Any, sid: str) -> None:
    """The chain's owner names ``sid`` as its Messaging Service ("" for the platform's), all else kept."""
    with schema_context(chain.schema):
        current = messaging_settings_get()
        values = {name: getattr(current, name) for name in MessagingSettingsIn.__dataclass_fields__}
        values["twilio_messaging_service_sid"] = sid
        messaging_settings_update(actor=chain.users["owner"], values=MessagingSettingsIn(**values))


def inbound_params(
    *, from_number: str, body: str, sid: str | None = None, service: str | None = None, **more: str
) -> dict[str, str]:
    """The form Twilio posts for an SMS someone sent to a Messaging Service's number (``service``; by
    default the platform's shared one)."""
    sid = sid or new_sid()
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "MessagingServiceSid": service or settings.TWILIO_MESSAGING_SERVICE_SID,
        "From": from_number,
        "To": "+447700900000",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        **more,
    }


def status_params(*, sid: str, status: str, error_code: str = "", to: str = "+447911123456") -> dict[str, str]:
    """The form of a delivery report (status callback)."""
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": to,
        "From": "+447700900000",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def twilio_post(
    client: Client,
    path: str,
    params: dict[str, str],
    *,
    host: str,
    signed_url: str | None = None,
    sign: bool = True,
    token: str | None = None,
    **headers: Any,
) -> Any:
    """POST ``params`` to ``path`` on ``host`` as Twilio would, signed for ``signed_url`` (by default
    the URL the app sees: http://<host><path>); ``headers`` are extra META (a proxy's X-Forwarded-*)."""
    url = signed_url or f"http://{host}{path}"
    if sign:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature(url, params, token=token)
    return client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", HTTP_HOST=host, **headers
    )
