"""Booking online through the API, without an account, on each chain's own site: hold a time, ask
for a one-time code to the visitor's e-mail or phone, and confirm the hold with the code and the
visitor's name. The same services as the booking pages (scheduling.services.online,
patients.portal), so the limits are the same: holds and codes are counted per client address,
wrong codes per contact and address; challenges and holds of one chain mean nothing at another."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.errors import NotFound, Throttled
from config.fields import StrictDateTimeField, StrictIntegerField, TokenField, max_length, pk_max
from config.net import client_ip
from config.openapi import errors
from patients import portal
from patients.exceptions import CodeInvalid, TooManyCodes, TooManyTries
from patients.models import Patient
from scheduling.exceptions import (
    BookingRefused,
    CalendarBusy,
    HoldConfirmed,
    HoldExpired,
    HoldReleased,
    OnlinePaymentRequired,
)
from scheduling.models import Appointment, CalendarEntry, Service
from scheduling.services.online import online_booking_confirm, online_hold
from tenants.org.models import Branch, StaffMember

# A signed challenge is well under this; anything longer is not one of ours.
CHALLENGE_MAX_LENGTH = 1000


def _ref(obj: Any, name: str | None = None) -> dict[str, Any]:
    return {"id": obj.pk, "name": name if name is not None else str(obj)}


class OnlineHoldIn(serializers.Serializer):
    branch = StrictIntegerField(min_value=1, max_value=pk_max(Branch))
    service = StrictIntegerField(min_value=1, max_value=pk_max(Service))
    doctor = StrictIntegerField(
        min_value=1,
        max_value=pk_max(StaffMember),
        required=False,
        allow_null=True,
        default=None,
        help_text="Left out or null: the first doctor free at that time.",
    )
    start = StrictDateTimeField(help_text="One of the free times offered (GET /availability/), with its UTC offset.")


class OnlineAppointmentOut(serializers.Serializer):
    """What the visitor needs to know of their own held or booked time; no patient data."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    start = serializers.DateTimeField(source="span.lower")
    end = serializers.DateTimeField(source="span.upper")
    timezone = serializers.CharField(source="branch.timezone")
    doctor = serializers.SerializerMethodField()
    branch = serializers.SerializerMethodField()
    service = serializers.SerializerMethodField()

    def get_doctor(self, obj: Appointment) -> dict[str, Any]:
        return _ref(obj.doctor, obj.doctor.user.get_full_name())

    def get_branch(self, obj: Appointment) -> dict[str, Any]:
        return _ref(obj.branch)

    def get_service(self, obj: Appointment) -> dict[str, Any]:
        return _ref(obj.service)


class OnlineHoldOut(OnlineAppointmentOut):
    hold_token = serializers.CharField(help_text="Proves the hold is yours: send it back to confirm.")
    expires_at = serializers.DateTimeField(source="hold_expires_at", help_text="The time is given back then.")


class OnlineCodeIn(serializers.Serializer):
    contact = serializers.CharField(max_length=254, help_text="An e-mail address or a mobile number.")


class OnlineCodeOut(serializers.Serializer):
    challenge = serializers.CharField(help_text="Send it back with the code; it names the contact, sealed.")
    channel = serializers.ChoiceField(choices=["email", "sms"])
    destination = serializers.CharField(help_text="The contact the code went to, as we read it.")
    expires_in_minutes = serializers.IntegerField()


class OnlineConfirmIn(serializers.Serializer):
    hold_token = TokenField(max_length=max_length(CalendarEntry, "hold_token"))
    challenge = serializers.CharField(max_length=CHALLENGE_MAX_LENGTH, trim_whitespace=False)
    code = serializers.CharField(max_length=6, help_text="The six-digit code sent to the contact.")
    first_name = serializers.CharField(max_length=max_length(Patient, "first_name"))
    last_name = serializers.CharField(max_length=max_length(Patient, "last_name"))


class OnlineBookingOut(serializers.Serializer):
    appointment = OnlineAppointmentOut()
    manage_token = serializers.CharField(help_text="Shown once: the secret of the booking link.")
    manage_url = serializers.URLField(help_text="The booking link: see, move or cancel this appointment.")
    notice = serializers.CharField(
        allow_blank=True,
        help_text=(
            "Empty, or a sentence for the visitor: the contact is on a patient record under another name, so the "
            "appointment is on that record and its notes say whom it was booked as."
        ),
    )


class _Anonymous(APIView):
    """No account and no session: nothing to forge across sites, and every limit is the service's."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []


class OnlineHoldApi(_Anonymous):
    @extend_schema(
        summary="Hold a free time while the visitor gives their details (online booking)",
        description=(
            "Anonymous. Holds the time for the chain's hold minutes. At most 30 attempts an hour from one "
            "address, whatever was asked for (429 `throttled`). An unknown or inactive branch, a service not "
            "bookable online or an unknown doctor is 404."
        ),
        request=OnlineHoldIn,
        responses={201: OnlineHoldOut, **errors(NotFound, Throttled, BookingRefused, CalendarBusy)},
    )
    def post(self, request: Request) -> Response:
        v = validated(OnlineHoldIn, request)
        hold = online_hold(
            branch_id=v["branch"],
            service_id=v["service"],
            doctor_id=v["doctor"],
            start=v["start"],
            ip=client_ip(request._request),
        )
        return Response(OnlineHoldOut(hold).data, status=201)


class OnlineCodeApi(_Anonymous):
    @extend_schema(
        summary="Send a one-time code to the visitor's e-mail or phone (online booking)",
        description=(
            "Anonymous. The code is sent whoever the visitor is, under the patient portal's limits "
            "(429 `too_many_codes`); keep the challenge and send it back with the code to confirm a hold."
        ),
        request=OnlineCodeIn,
        responses={201: OnlineCodeOut, **errors(TooManyCodes)},
    )
    def post(self, request: Request) -> Response:
        v = validated(OnlineCodeIn, request)
        sent = portal.booking_code_request(contact=v["contact"], ip=client_ip(request._request))
        body = {
            "challenge": sent.challenge,
            "channel": sent.contact.channel,
            "destination": sent.contact.destination,
            "expires_in_minutes": settings.PORTAL_CODE_MINUTES,
        }
        return Response(OnlineCodeOut(body).data, status=201)


class OnlineHoldConfirmApi(_Anonymous):
    @extend_schema(
        summary="Confirm a held time with the code: register the visitor and book (online booking)",
        description=(
            "Anonymous. The code proves the contact; the patient with that contact is found or registered, the "
            "held time becomes theirs, and a booking link is issued (shown once). The code proves the contact, not "
            "the name: when the contact is on a record under another name the booking is made on that record, "
            'its notes say "Booked online as <name typed>", and `notice` tells the visitor. A refusal writes '
            "nothing: a wrong code (400 `code_invalid`, a challenge of another chain too), too many wrong codes from "
            "here (429 `too_many_tries`), a hold that ran out or was released (409), a hold already confirmed "
            "(409 `hold_confirmed`: the booking link of the first confirmation is the only one; nothing is "
            "issued again), a wrong hold token (404, like a hold that does not exist), or a chain that asks a deposit "
            "or prepayment for this time (409 `online_payment_required`: confirm through "
            "`POST /api/v1/invoicing/online-booking/holds/{id}/checkout/`, which answers Stripe's payment page)."
        ),
        request=OnlineConfirmIn,
        responses={
            201: OnlineBookingOut,
            **errors(
                CodeInvalid, TooManyTries, HoldExpired, HoldReleased, HoldConfirmed, CalendarBusy, OnlinePaymentRequired
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(OnlineConfirmIn, request)
        booked = online_booking_confirm(
            hold_id=pk,
            hold_token=v["hold_token"],
            first_name=v["first_name"],
            last_name=v["last_name"],
            challenge=v["challenge"],
            code=v["code"],
            ip=client_ip(request._request),
            request=request._request,
        )
        manage = reverse("book-manage", kwargs={"token": booked.manage_token})
        body = {
            "appointment": booked.appointment,
            "manage_token": booked.manage_token,
            "manage_url": request.build_absolute_uri(manage),
            "notice": booked.notice,
        }
        return Response(OnlineBookingOut(body).data, status=201)
