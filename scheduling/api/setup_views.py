"""The calendar API's set-up changes (who offers a service where, per-branch prices, rooms out of
use, shifts changed or ended, extra shifts and special days edited) and series changes (cancel or
move the rest of a series). Each calls the same service as the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.fields import IdListField, StrictBooleanField, StrictDateField, StrictDateTimeField, StrictIntegerField
from config.fields import StrictPrimaryKeyRelatedField as Ref
from config.openapi import errors
from scheduling import selectors
from scheduling import services as sched
from scheduling.api import serializers as s
from scheduling.exceptions import AppointmentsAffected, InvalidScheduling, SeriesConflicts, ShiftOverlap
from scheduling.models import Appointment, ExtraShift, Room, Service, ShiftPattern, SpecialDay, Status
from scheduling.services.setup import MAX_PRICE_MINOR
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember
from tenants.org.selectors import branch_list


# --- who offers a service where, and its prices -------------------------------------------------
class ServiceOfferingsIn(serializers.Serializer):
    branch = Ref(queryset=Branch.objects.all())
    doctor_ids = IdListField(StaffMember)


class ServiceOfferingsOut(serializers.Serializer):
    service = serializers.IntegerField()
    branch = serializers.IntegerField()
    doctor_ids = serializers.ListField(child=serializers.IntegerField())


class ServiceOfferingsApi(APIView):
    @extend_schema(
        summary="Set the doctors who offer a service at a branch",
        request=ServiceOfferingsIn,
        responses=ServiceOfferingsOut,
    )
    def put(self, request: Request, pk: int) -> Response:
        service = get_object_or_404(Service, pk=pk)
        v = validated(ServiceOfferingsIn, request)
        offerings = sched.service_offerings_set(
            actor=request.user, service=service, branch=v["branch"], doctor_ids=v["doctor_ids"]
        )
        return Response(
            {"service": service.pk, "branch": v["branch"].pk, "doctor_ids": [o.doctor_id for o in offerings]}
        )


class ServicePriceIn(serializers.Serializer):
    branch = Ref(queryset=Branch.objects.all())
    price_minor = StrictIntegerField(min_value=0, max_value=MAX_PRICE_MINOR, allow_null=True)


class ServicePriceOut(serializers.Serializer):
    branch = serializers.IntegerField()
    price_minor = serializers.IntegerField(help_text="What the service costs at this branch, in minor units.")
    own_price = serializers.BooleanField(help_text="False: the service's own price applies at this branch.")


class ServicePricesApi(APIView):
    @extend_schema(summary="A service's price at each branch", responses=ServicePriceOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "org.view_branch")
        service = get_object_or_404(Service, pk=pk)
        own = selectors.service_prices(service=service)
        rows = [
            {"branch": b.pk, "price_minor": own.get(b.pk, service.price_minor), "own_price": b.pk in own}
            for b in branch_list(actor=request.user).order_by("pk")
        ]
        return Response(ServicePriceOut(rows, many=True).data)

    @extend_schema(
        summary="Set (or, with null, remove) a service's own price at a branch",
        request=ServicePriceIn,
        responses=ServicePriceOut,
    )
    def put(self, request: Request, pk: int) -> Response:
        service = get_object_or_404(Service, pk=pk)
        v = validated(ServicePriceIn, request)
        sched.service_price_set(actor=request.user, service=service, branch=v["branch"], price_minor=v["price_minor"])
        price = selectors.service_price(service=service, branch=v["branch"])
        own = v["price_minor"] is not None
        return Response(ServicePriceOut({"branch": v["branch"].pk, "price_minor": price, "own_price": own}).data)


# --- rooms --------------------------------------------------------------------------------------
class RoomPatch(serializers.Serializer):
    is_active = StrictBooleanField()


class RoomDetailApi(APIView):
    @extend_schema(summary="Take a room out of use, or back", request=RoomPatch, responses=s.RoomOut)
    def patch(self, request: Request, pk: int) -> Response:
        room = get_object_or_404(Room, pk=pk)
        v = validated(RoomPatch, request)
        return Response(s.RoomOut(sched.room_set_active(actor=request.user, room=room, is_active=v["is_active"])).data)


# --- weekly shifts, extra shifts, special days --------------------------------------------------
class ShiftChangeIn(serializers.Serializer):
    starts = serializers.TimeField()
    ends = serializers.TimeField()
    break_starts = serializers.TimeField(required=False, allow_null=True, default=None)
    break_ends = serializers.TimeField(required=False, allow_null=True, default=None)
    from_day = StrictDateField(help_text="The first day with the new hours; the days before keep the old ones.")


class ShiftEndIn(serializers.Serializer):
    last_day = StrictDateField()


class ShiftDetailApi(APIView):
    @extend_schema(
        summary="Change a weekly shift's hours from a day on",
        request=ShiftChangeIn,
        responses={200: s.ShiftOut, **errors(ShiftOverlap, AppointmentsAffected)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        pattern = get_object_or_404(ShiftPattern, pk=pk)
        v = validated(ShiftChangeIn, request)
        return Response(s.ShiftOut(sched.shift_pattern_change(actor=request.user, pattern=pattern, **v)).data)


class ShiftEndApi(APIView):
    @extend_schema(
        summary="End a weekly shift after a last day (a shift not yet begun is removed: 204)",
        request=ShiftEndIn,
        responses={200: s.ShiftOut, 204: None, **errors(AppointmentsAffected)},
    )
    def post(self, request: Request, pk: int) -> Response:
        pattern = get_object_or_404(ShiftPattern, pk=pk)
        ended = sched.shift_pattern_end(actor=request.user, pattern=pattern, **validated(ShiftEndIn, request))
        return Response(status=204) if ended is None else Response(s.ShiftOut(ended).data)


class ExtraShiftChangeIn(serializers.Serializer):
    date = StrictDateField()
    starts = serializers.TimeField()
    ends = serializers.TimeField()


class ExtraShiftDetailApi(APIView):
    @extend_schema(
        summary="Move a one-off shift",
        request=ExtraShiftChangeIn,
        responses={200: s.ExtraShiftOut, **errors(ShiftOverlap, AppointmentsAffected)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        extra = get_object_or_404(ExtraShift, pk=pk)
        v = validated(ExtraShiftChangeIn, request)
        changed = sched.extra_shift_update(
            actor=request.user, extra=extra, day=v["date"], starts=v["starts"], ends=v["ends"]
        )
        return Response(s.ExtraShiftOut(changed).data)

    @extend_schema(
        summary="Cancel a one-off shift (of today or later)",
        request=None,
        responses={204: None, **errors(InvalidScheduling, AppointmentsAffected)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        sched.extra_shift_delete(actor=request.user, extra=get_object_or_404(ExtraShift, pk=pk))
        return Response(status=204)


class SpecialDayDetailApi(APIView):
    def _special(self, branch_pk: int, pk: int) -> SpecialDay:
        return get_object_or_404(SpecialDay, pk=pk, branch_id=branch_pk)

    @extend_schema(
        summary="Change a closure or special hours",
        request=s.SpecialDayIn,
        responses={200: s.SpecialDayOut, **errors(AppointmentsAffected)},
    )
    def patch(self, request: Request, pk: int, special_pk: int) -> Response:
        special = self._special(pk, special_pk)
        v = validated(s.SpecialDayIn, request)
        changed = sched.special_day_update(
            actor=request.user, special=special, day=v["date"], opens=v["opens"], closes=v["closes"], note=v["note"]
        )
        return Response(s.SpecialDayOut(changed).data)

    @extend_schema(
        summary="Remove a closure or special hours (of today or later)",
        request=None,
        responses={204: None, **errors(InvalidScheduling, AppointmentsAffected)},
    )
    def delete(self, request: Request, pk: int, special_pk: int) -> Response:
        sched.special_day_delete(actor=request.user, special=self._special(pk, special_pk))
        return Response(status=204)


# --- the rest of a series -----------------------------------------------------------------------
class SeriesCancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SeriesMoveIn(serializers.Serializer):
    start = StrictDateTimeField(help_text="The new start of this appointment; the later ones move by as much.")


class SeriesChangeOut(serializers.Serializer):
    appointment = serializers.IntegerField()
    start = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Status.choices)


def _in_series(request: Request, pk: int) -> Appointment:
    return get_object_or_404(selectors.appointment_list(actor=request.user), pk=pk)


def _changed(rows: list[Appointment]) -> Response:
    """Ids, times and statuses only: the caller knows whose series it changed."""
    body = [{"appointment": a.pk, "start": a.span.lower, "status": a.status} for a in rows]
    return Response(SeriesChangeOut(body, many=True).data)


class SeriesCancelRestApi(APIView):
    @extend_schema(
        summary="Cancel this appointment and the rest of its series",
        request=SeriesCancelIn,
        responses=SeriesChangeOut(many=True),
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = _in_series(request, pk)
        v = validated(SeriesCancelIn, request)
        return _changed(sched.series_cancel_rest(actor=request.user, appointment=appointment, reason=v["reason"]))


class SeriesMoveRestApi(APIView):
    @extend_schema(
        summary="Move this appointment and the rest of its series by the same shift",
        request=SeriesMoveIn,
        responses={200: SeriesChangeOut(many=True), **errors(SeriesConflicts)},
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = _in_series(request, pk)
        v = validated(SeriesMoveIn, request)
        return _changed(sched.series_move_rest(actor=request.user, appointment=appointment, start=v["start"]))
