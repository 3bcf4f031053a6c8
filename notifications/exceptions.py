"""Errors of messages: templates, messaging settings and resending (codes in error_codes.py)."""

from __future__ import annotations

from config.errors import Conflict, PermissionDenied, ValidationFailed
from notifications.error_codes import NotificationsErrorCode


class TemplateInvalid(ValidationFailed):
    code = NotificationsErrorCode.TEMPLATE_INVALID
    default_message = "The template uses something other than its placeholders."


class MessagingSettingsInvalid(ValidationFailed):
    code = NotificationsErrorCode.MESSAGING_SETTINGS_INVALID
    default_message = "Some messaging settings are not valid."


class MessageNotResendable(Conflict):
    code = NotificationsErrorCode.MESSAGE_NOT_RESENDABLE
    default_message = "This message cannot be sent again."


class MessageResendPending(Conflict):
    code = NotificationsErrorCode.MESSAGE_RESEND_PENDING
    default_message = "This message is on its way: nothing to resend."


class MessageResentAlready(Conflict):
    code = NotificationsErrorCode.MESSAGE_RESENT_ALREADY
    default_message = "This message was sent again already: confirm to send it once more."


class TwilioSignatureInvalid(PermissionDenied):
    code = NotificationsErrorCode.TWILIO_SIGNATURE_INVALID
    default_message = "The request is not signed by Twilio for this address."


class TwilioWebhookInvalid(ValidationFailed):
    code = NotificationsErrorCode.TWILIO_WEBHOOK_INVALID
    default_message = "The request is not a Twilio webhook."


class MessagingServiceTaken(MessagingSettingsInvalid):
    code = NotificationsErrorCode.MESSAGING_SERVICE_TAKEN
    default_message = (
        "This Messaging Service is already used by another clinic on Clinicflow: create a Messaging Service "
        "of your own in the Twilio console (Messaging, Services) and give its SID."
    )


class ReplyInvalid(ValidationFailed):
    code = NotificationsErrorCode.REPLY_INVALID
    default_message = "Write an answer of at most 600 characters."


class ReplyOptedOut(Conflict):
    code = NotificationsErrorCode.REPLY_OPTED_OUT
    default_message = "This number texted STOP: it gets no more texts until it texts START. Please call instead."
