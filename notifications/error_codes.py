"""Error codes of messages: the chain's templates and messaging settings, and resending."""

from enum import StrEnum


class NotificationsErrorCode(StrEnum):
    # A template uses a placeholder its kind of message has no value for, an unknown one, or
    # template code ({{ }}, {% %}, attribute or format tricks): only {name} from a fixed list.
    TEMPLATE_INVALID = "template_invalid"
    # This kind of message cannot be sent again: a sign-in or booking code (ask for a new one), an
    # answer to a patient's text (it answered that moment), or one about an appointment that has
    # begun, was cancelled or is gone.
    MESSAGE_NOT_RESENDABLE = "message_not_resendable"
    # The message is still waiting or being sent, or was delivered: nothing to resend; or a resend
    # of it is already on its way.
    MESSAGE_RESEND_PENDING = "message_resend_pending"
    # The message was sent again already: another resend is made only when asked again on purpose
    # (confirm), so two people handling the same failure do not send it twice.
    MESSAGE_RESENT_ALREADY = "message_resent_already"
    # Messaging settings that do not fit together (a reminder offset out of range, quiet hours with
    # one end only, a Messaging Service SID not of Twilio's form).
    MESSAGING_SETTINGS_INVALID = "messaging_settings_invalid"
    # A Twilio webhook (/twilio/status/, /twilio/inbound/) without a valid X-Twilio-Signature for the
    # public URL it was sent to: refused with 403, nothing recorded.
    TWILIO_SIGNATURE_INVALID = "twilio_signature_invalid"
    # A signed Twilio webhook without the fields every such request carries (MessageSid, From...).
    TWILIO_WEBHOOK_INVALID = "twilio_webhook_invalid"
    # A Twilio Messaging Service another chain (or the platform's shared sending) already uses: one
    # service, one chain, so patients' replies reach their own clinic only.
    MESSAGING_SERVICE_TAKEN = "messaging_service_taken"
    # Staff's answer to a patient's text is empty or longer than a few SMS.
    REPLY_INVALID = "reply_invalid"
    # The number texted STOP (and not START since): nothing more is texted to it.
    REPLY_OPTED_OUT = "reply_opted_out"
