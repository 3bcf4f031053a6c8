"""Sending an e-mail of the outbox through Django's e-mail backend (settings.EMAIL_BACKEND: SMTP or a
provider's backend such as django-anymail's in production, the console in development, locmem in
tests).

E-mail has no provider to ask afterwards whether a message arrived, so a message whose worker died
mid-send is sent again (at least once). Its Message-ID is derived from the outbox row, the same on
every attempt, so the copies are one message to the receiving servers and mail clients that
deduplicate by Message-ID."""

from __future__ import annotations

import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email

from notifications.compose import Composed


class EmailRefused(Exception):
    """Permanent: the address is invalid or the server refused the recipient."""


class EmailNotSent(Exception):
    """Transient: the server could not be reached or failed; try again later."""


def message_id(*, pk: int, schema: str, host: str) -> str:
    """The one Message-ID of an outbox row, on every attempt."""
    return f"<message-{pk}.{schema}@{host}>"


def email_connection() -> BaseEmailBackend:
    return get_connection(fail_silently=False)


def email_send(*, connection: BaseEmailBackend, to: str, composed: Composed, message_id: str) -> str:
    """Send one e-mail; answer its Message-ID (the e-mail's provider id)."""
    try:
        validate_email(to)
    except ValidationError as exc:
        raise EmailRefused(f"Not a valid e-mail address: {to}") from exc
    email = EmailMultiAlternatives(
        subject=composed.subject, body=composed.body, to=[to], headers={"Message-ID": message_id}, connection=connection
    )
    for filename, content, mimetype in composed.attachments:
        email.attach(filename, content, mimetype)
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailRefused(f"The mail server refused {to}: {exc.recipients}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailNotSent(f"The mail server failed: {exc}") from exc
    return message_id
