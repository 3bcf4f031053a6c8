"""The API of messages: the message log (list, one message, send it again), the chain's wording of
each message (read, save, back to the default) and its messaging settings. Views are thin: the
services decide and check; what names a patient is access-logged."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.fields import StrictIntegerField
from config.openapi import errors
from notifications import services
from notifications.exceptions import (
    MessageNotResendable,
    MessageResendPending,
    MessageResentAlready,
    MessagingServiceTaken,
    MessagingSettingsInvalid,
    TemplateInvalid,
)
from notifications.memo import batch_memo
from notifications.models import Channel, Kind, Message, MessageStatus, MessagingSettings
from notifications.placeholders import template_preview
from notifications.selectors import (
    MessageFilters,
    Wording,
    message_get,
    message_list,
    message_resends,
    messaging_settings_read,
    wording_get,
    wording_list,
)
from notifications.services import MAX_OFFSET_MINUTES, MIN_OFFSET_MINUTES, MessagingSettingsIn
from notifications.templates import LANGUAGES
from tenants.audit.services import access_log_records


class MessageOut(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "channel",
            "language",
            "recipient",
            "patient",
            "appointment",
            "branch",
            "status",
            "status_label",
            "due_at",
            "sent_at",
            "delivered_at",
            "attempts",
            "provider_id",
            "provider_status",
            "last_error",
            "resend_of",
            "created_at",
        ]


class MessageDetailOut(MessageOut):
    subject = serializers.CharField(read_only=True, help_text="As sent; empty until sent, and for SMS.")
    body = serializers.CharField(
        read_only=True, help_text="As sent, with secrets (a code, a link's token) masked; empty until sent."
    )
    resends = serializers.SerializerMethodField()

    class Meta(MessageOut.Meta):
        fields = [*MessageOut.Meta.fields, "subject", "body", "resends"]

    def get_resends(self, message: Message) -> list[int]:
        return list(message_resends(message=message).values_list("pk", flat=True))


def _message(request: Request, pk: int) -> Message:
    """A message of a branch this user sees (another branch's or another chain's is not found)."""
    found = message_get(actor=request.user, pk=pk)
    if found is None:
        raise Http404
    return found


class MessageListApi(GenericAPIView):
    queryset = Message.objects.none()

    @extend_schema(
        summary="Messages of the branches you see (the log), the latest due first",
        parameters=[
            OpenApiParameter("status", str, enum=MessageStatus.values, required=False),
            OpenApiParameter("kind", str, enum=Kind.values, required=False),
            OpenApiParameter("channel", str, enum=Channel.values, required=False),
            OpenApiParameter("recipient", str, required=False, description="Part of the number or address."),
        ],
        responses=MessageOut(many=True),
    )
    def get(self, request: Request) -> Response:
        q = request.query_params
        filters = MessageFilters(
            status=q.get("status", "") if q.get("status") in MessageStatus.values else "",
            kind=q.get("kind", "") if q.get("kind") in Kind.values else "",
            channel=q.get("channel", "") if q.get("channel") in Channel.values else "",
            recipient=q.get("recipient", "")[:100].replace("\x00", ""),
        )
        page = self.paginate_queryset(message_list(actor=request.user, filters=filters))
        access_log_records(request, action="list", object_type="message", records=page or [])
        return self.get_paginated_response(MessageOut(page, many=True).data)


class MessageDetailApi(APIView):
    @extend_schema(
        summary="One message: its text as sent, its status and error, its resends", responses=MessageDetailOut
    )
    def get(self, request: Request, pk: int) -> Response:
        message = _message(request, pk)
        access_log_records(request, action="view", object_type="message", records=[message])
        return Response(MessageDetailOut(message).data)


class MessageResendApi(APIView):
    @extend_schema(
        summary="Send a failed, undelivered or sent message again, now (a new message in the log)",
        description=(
            "Writes a new message (``resend_of`` this one) due now, to the patient's current number or address, "
            "composed when it is sent (the appointment's current time, a fresh link). Refused with 409 "
            "`message_not_resendable` for a code (the patient asks for a new one), an answer to a patient's text "
            "(it answered that moment: the visit or the consent may have changed since), or a message about an "
            "appointment that has begun or is no longer booked, and `message_resend_pending` while the message or a "
            "resend of it is still on its way, and `message_resent_already` when it was sent again before and "
            "``confirm=1`` does not ask for one more. The resend is written in the language the patient is written "
            "to now."
        ),
        request=None,
        parameters=[
            OpenApiParameter("confirm", bool, description="1: send once more a message that was sent again already.")
        ],
        responses={201: MessageOut, **errors(MessageNotResendable, MessageResendPending, MessageResentAlready)},
    )
    def post(self, request: Request, pk: int) -> Response:
        confirm = request.query_params.get("confirm") in ("1", "true")
        resent = services.message_resend(actor=request.user, message=_message(request, pk), confirm=confirm)
        access_log_records(request, action="create", object_type="message", records=[resent])
        return Response(MessageOut(resent).data, status=201)


# --- wording ----------------------------------------------------------------------------------------
class SegmentsOut(serializers.Serializer):
    encoding = serializers.CharField()
    length = serializers.IntegerField()
    segments = serializers.IntegerField()


class TemplateOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    language = serializers.CharField()
    subject = serializers.CharField(help_text="Empty for SMS.")
    body = serializers.CharField()
    is_own = serializers.BooleanField(help_text="The chain's own wording; false: the built-in default.")
    default_subject = serializers.CharField()
    default_body = serializers.CharField()
    placeholders = serializers.ListField(child=serializers.CharField(), help_text="The {name}s this kind may use.")
    preview_subject = serializers.CharField()
    preview_body = serializers.CharField(help_text="The wording filled with sample values.")
    preview_segments = SegmentsOut(allow_null=True, help_text="SMS only: how carriers split it.")


class TemplateIn(serializers.Serializer):
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=10_000)


def _template_out(row: Wording) -> dict[str, Any]:
    shown = template_preview(
        kind=row.kind, channel=row.channel, language=row.language, subject=row.subject, body=row.body
    )
    return {
        "kind": row.kind,
        "channel": row.channel,
        "language": row.language,
        "subject": row.subject,
        "body": row.body,
        "is_own": row.is_own,
        "default_subject": row.default_subject,
        "default_body": row.default_body,
        "placeholders": list(row.placeholders),
        "preview_subject": shown.subject,
        "preview_body": shown.body,
        "preview_segments": shown.segments.__dict__ if shown.segments else None,
    }


def _wording(request: Request, kind: str, channel: str, language: str) -> Wording:
    row = wording_get(actor=request.user, kind=kind, channel=channel, language=language)
    if row is None:
        raise Http404
    return row


TEMPLATE_PATH = (
    f"kind: one of {', '.join(Kind.values)}; channel: {', '.join(Channel.values)}; language: {', '.join(LANGUAGES)}."
)


class TemplateListApi(APIView):
    @extend_schema(
        summary="The wording of every kind of message, each channel and language (own or built-in), with previews",
        parameters=[OpenApiParameter("language", str, enum=list(LANGUAGES), required=False)],
        responses=TemplateOut(many=True),
    )
    def get(self, request: Request) -> Response:
        rows = wording_list(actor=request.user, language=request.query_params.get("language"))
        with batch_memo():  # the chain's sample values are read once for all the previews
            return Response(TemplateOut([_template_out(row) for row in rows], many=True).data)


class TemplateApi(APIView):
    @extend_schema(
        summary="The wording of one kind of message on one channel in one language, with a preview",
        description=TEMPLATE_PATH,
        responses=TemplateOut,
    )
    def get(self, request: Request, kind: str, channel: str, language: str) -> Response:
        return Response(TemplateOut(_template_out(_wording(request, kind, channel, language))).data)

    @extend_schema(
        summary="Save the chain's own wording (owners); only the kind's {name} placeholders",
        description=(
            f"{TEMPLATE_PATH} Refused with 400 `template_invalid` for an unknown placeholder, one the kind has no "
            "value for, or template code (`{{ }}`, `{% %}`, attribute or format tricks); the message names the "
            "allowed placeholders. E-mail needs a subject; SMS has none."
        ),
        request=TemplateIn,
        responses={200: TemplateOut, **errors(TemplateInvalid)},
    )
    def put(self, request: Request, kind: str, channel: str, language: str) -> Response:
        _wording(request, kind, channel, language)
        v = validated(TemplateIn, request)
        services.template_save(
            actor=request.user, kind=kind, channel=channel, language=language, subject=v["subject"], body=v["body"]
        )
        return Response(TemplateOut(_template_out(_wording(request, kind, channel, language))).data)


class TemplateResetApi(APIView):
    @extend_schema(
        summary="Go back to the built-in wording (owners); the chain's own is kept in the history",
        description=TEMPLATE_PATH,
        request=None,
        responses={200: TemplateOut, **errors(TemplateInvalid)},
    )
    def post(self, request: Request, kind: str, channel: str, language: str) -> Response:
        _wording(request, kind, channel, language)
        services.template_reset(actor=request.user, kind=kind, channel=channel, language=language)
        return Response(TemplateOut(_template_out(_wording(request, kind, channel, language))).data)


# --- settings ---------------------------------------------------------------------------------------
class MessagingSettingsOut(serializers.ModelSerializer):
    class Meta:
        model = MessagingSettings
        fields = [
            "reminder_offsets_minutes",
            "quiet_hours_start",
            "quiet_hours_end",
            "confirm_online",
            "confirm_phone",
            "confirm_walk_in",
            "confirm_staff",
            "sms_enabled",
            "email_enabled",
            "twilio_messaging_service_sid",
            "updated_at",
        ]


class MessagingSettingsPatch(serializers.Serializer):
    reminder_offsets_minutes = serializers.ListField(
        child=StrictIntegerField(min_value=MIN_OFFSET_MINUTES, max_value=MAX_OFFSET_MINUTES),
        max_length=5,
        required=False,
        help_text="Minutes before the appointment each reminder goes out (1440 is a day).",
    )
    quiet_hours_start = serializers.TimeField(allow_null=True, required=False, help_text="On each branch's clock.")
    quiet_hours_end = serializers.TimeField(allow_null=True, required=False)
    confirm_online = serializers.BooleanField(required=False)
    confirm_phone = serializers.BooleanField(required=False)
    confirm_walk_in = serializers.BooleanField(required=False)
    confirm_staff = serializers.BooleanField(required=False)
    sms_enabled = serializers.BooleanField(required=False)
    email_enabled = serializers.BooleanField(required=False)
    twilio_messaging_service_sid = serializers.CharField(max_length=34, required=False, allow_blank=True)


class MessagingSettingsApi(APIView):
    @extend_schema(
        summary="The chain's messaging settings (owners and branch managers)", responses=MessagingSettingsOut
    )
    def get(self, request: Request) -> Response:
        return Response(MessagingSettingsOut(messaging_settings_read(actor=request.user)).data)

    @extend_schema(
        summary="Change the chain's messaging settings (owners); fields left out keep their value",
        description=(
            "Reminder offsets in minutes before the appointment (at most five, 10 minutes to 14 days); quiet hours "
            "on each branch's clock, both or neither; which bookings are confirmed by their source; the channels; "
            "the Twilio Messaging Service SID (MG + 32 hex). Refused with 400 `messaging_settings_invalid`, "
            "or `messaging_service_taken` for a service another clinic (or the platform's shared sending) uses."
        ),
        request=MessagingSettingsPatch,
        responses={200: MessagingSettingsOut, **errors(MessagingSettingsInvalid, MessagingServiceTaken)},
    )
    def patch(self, request: Request) -> Response:
        current = messaging_settings_read(actor=request.user)
        v = validated(MessagingSettingsPatch, request)
        values: dict[str, Any] = {name: getattr(current, name) for name in MessagingSettingsIn.__dataclass_fields__}
        values.update(v)
        saved = services.messaging_settings_update(actor=request.user, values=MessagingSettingsIn(**values))
        return Response(MessagingSettingsOut(saved).data)
