"""Sending an e-mail of the outbox through Django's e-mail backend (settings.EMAIL_BACKEND: SMTP or a
provider's backend such as django-anymail's in production, the console in development, locmem in
tests).

E-mail has no provider to ask afterwards whether a message arrived, so a message whose worker died
mid-send is sent again (at least once). Its Message-ID is derived from the outbox row, the same on
every attempt, so the copies are one message to the receiving servers and mail clients that
deduplicate by Message-ID."""

from __future__ import annotations

import smtplib
import unicodedata
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
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


@dataclass(frozen=True)
class Sender:
    """Whom a chain's e-mails come from: the chain's name on the platform's own address (the one its
    mail is authenticated for: settings.DEFAULT_FROM_EMAIL), and where a patient's answer goes."""

    from_email: str
    reply_to: str = ""


def header_name(name: str) -> str:
    """``name`` fit for a From header's display name: control and invisible format characters dropped,
    white space (line breaks included) made single spaces, at most 70 characters."""
    kept = "".join(ch for ch in name if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(kept.split())[:70].strip()


def chain_sender(*, chain_name: str, reply_to: str = "") -> Sender:
    """From "<chain name> <the platform's address>"; Reply-To ``reply_to`` when it is an address."""
    platform_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = header_name(chain_name) or platform_name
    try:
        validate_email(reply_to)
    except ValidationError:
        reply_to = ""
    return Sender(from_email=formataddr((name, address)) if name else address, reply_to=reply_to)


def email_send(*, connection: BaseEmailBackend, sender: Sender, to: str, composed: Composed, message_id: str) -> str:
    """Send one e-mail; answer its Message-ID (the e-mail's provider id). A recipient that is not an
    address, or a header that cannot be written, is refused for good (EmailRefused)."""
    try:
        validate_email(to)
    except ValidationError as exc:
        raise EmailRefused(f"Not a valid e-mail address: {to}") from exc
    email = EmailMultiAlternatives(
        subject=composed.subject,
        body=composed.body,
        from_email=sender.from_email,
        to=[to],
        reply_to=[sender.reply_to] if sender.reply_to else None,
        headers={"Message-ID": message_id},
        connection=connection,
    )
    for filename, content, mimetype in composed.attachments:
        email.attach(filename, content, mimetype)
    try:
        email.send()
    except (BadHeaderError, ValueError) as exc:
        # A header Django will not write (a line break in the subject or a name): this e-mail can
        # never be sent as it is, and the rest of the batch goes on.
        raise EmailRefused(f"The e-mail could not be written: {exc}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailRefused(f"The mail server refused {to}: {exc.recipients}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailNotSent(f"The mail server failed: {exc}") from exc
    return message_id
