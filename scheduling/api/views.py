"""The calendar API: catalogue, availability, appointments, holds, leave and the day calendars."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import StrictBooleanFilter, validated
from config.errors import PermissionDenied
from config.fields import DateTimeFilter, IdFilter, StrictFilterSet
from config.openapi import IDEMPOTENCY_KEY, errors
from patients.exceptions import PossibleDuplicates
from scheduling import selectors
from scheduling import services as sched
from scheduling.api import serializers as s
from scheduling.exceptions import (
    AppointmentsAffected,
    BookingRefused,
    CalendarBusy,
    EntryNotFound,
    HoldExpired,
    HoldReleased,
    IdempotencyKeyReused,
    IllegalTransition,
    LeaveConflicts,
    LengthNotAdjustable,
    NameTaken,
    NoSlotToday,
    SeriesConflicts,
    ShiftOverlap,
    TooLateToCancel,
)
from scheduling.models import (
    Appointment,
    BranchHours,
    CalendarEntry,
    Leave,
    Room,
    Service,
    ShiftPattern,
    SpecialDay,
    Status,
)
from tenants.audit.services import access_log_records, access_log_rows
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember
from tenants.org.selectors import chain_settings_get


def _log_read(request: Request, entries: Iterable[CalendarEntry], action: str = "list") -> None:
    """Appointments carry patient names: every read of them is in the access log."""
    access_log_records(request, action=action, object_type="appointment", records=entries)


def _one(request: Request, entry: CalendarEntry, status: int = 200) -> Response:
    _log_read(request, [entry], "view")
    return Response(s.EntryOut(entry).data, status=status)


# --- catalogue ---------------------------------------------------------------------------------------
class ServiceListApi(GenericAPIView):
    queryset = Service.objects.none()
    filterset_fields = ["is_active", "bookable_online"]

    @extend_schema(summary="List services", responses=s.ServiceOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_branch")
        page = self.paginate_queryset(self.filter_queryset(Service.objects.all()))
        return self.get_paginated_response(s.ServiceOut(page, many=True).data)

    @extend_schema(summary="Create a service", request=s.ServiceIn, responses={201: s.ServiceOut, **errors(NameTaken)})
    def post(self, request: Request) -> Response:
        service = sched.service_create(actor=request.user, **validated(s.ServiceIn, request))
        return Response(s.ServiceOut(service).data, status=201)


class ServiceDetailApi(APIView):
    @extend_schema(summary="Read a service", responses=s.ServiceOut)
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "org.view_branch")
        return Response(s.ServiceOut(get_object_or_404(Service, pk=pk)).data)

    @extend_schema(
        summary="Change a service", request=s.ServicePatch, responses={200: s.ServiceOut, **errors(NameTaken)}
    )
    def patch(self, request: Request, pk: int) -> Response:
        service = get_object_or_404(Service, pk=pk)
        service = sched.service_update(actor=request.user, service=service, **validated(s.ServicePatch, request))
        return Response(s.ServiceOut(service).data)


class RoomListApi(GenericAPIView):
    queryset = Room.objects.none()
    filterset_fields = ["branch", "is_active"]

    @extend_schema(summary="List rooms", responses=s.RoomOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_branch")
        page = self.paginate_queryset(self.filter_queryset(Room.objects.all()))
        return self.get_paginated_response(s.RoomOut(page, many=True).data)

    @extend_schema(summary="Add a room to a branch", request=s.RoomIn, responses={201: s.RoomOut, **errors(NameTaken)})
    def post(self, request: Request) -> Response:
        return Response(
            s.RoomOut(sched.room_create(actor=request.user, **validated(s.RoomIn, request))).data, status=201
        )


class BranchHoursApi(APIView):
    @extend_schema(summary="Read a branch's weekly opening hours", responses=s.HoursRow(many=True))
    def get(self, request: Request, pk: int) -> Response:
        branch = get_object_or_404(Branch, pk=pk)
        authorize(request.user, "scheduling.view_calendar", branch)
        return Response(s.HoursRow(BranchHours.objects.filter(branch=branch), many=True).data)

    @extend_schema(
        summary="Replace a branch's weekly opening hours", request=s.HoursIn, responses=s.HoursRow(many=True)
    )
    def put(self, request: Request, pk: int) -> Response:
        branch = get_object_or_404(Branch, pk=pk)
        rows = validated(s.HoursIn, request)["hours"]
        hours = sched.branch_hours_replace(
            actor=request.user, branch=branch, hours=[(r["weekday"], r["opens"], r["closes"]) for r in rows]
        )
        return Response(s.HoursRow(hours, many=True).data)


class SpecialDayApi(APIView):
    @extend_schema(summary="List a branch's special days", responses=s.SpecialDayOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        branch = get_object_or_404(Branch, pk=pk)
        authorize(request.user, "scheduling.view_calendar", branch)
        return Response(s.SpecialDayOut(SpecialDay.objects.filter(branch=branch), many=True).data)

    @extend_schema(
        summary="Close a branch for a day or give it other hours",
        request=s.SpecialDayIn,
        responses={201: s.SpecialDayOut, **errors(AppointmentsAffected)},
    )
    def post(self, request: Request, pk: int) -> Response:
        branch = get_object_or_404(Branch, pk=pk)
        v = validated(s.SpecialDayIn, request)
        special = sched.special_day_create(
            actor=request.user, branch=branch, day=v["date"], opens=v["opens"], closes=v["closes"], note=v["note"]
        )
        return Response(s.SpecialDayOut(special).data, status=201)


class ShiftListApi(GenericAPIView):
    queryset = ShiftPattern.objects.none()
    filterset_fields = ["doctor", "branch", "weekday"]

    @extend_schema(summary="List weekly shifts", responses=s.ShiftOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_branch")
        page = self.paginate_queryset(self.filter_queryset(ShiftPattern.objects.all()))
        return self.get_paginated_response(s.ShiftOut(page, many=True).data)

    @extend_schema(summary="Add a weekly shift", request=s.ShiftIn, responses={201: s.ShiftOut, **errors(ShiftOverlap)})
    def post(self, request: Request) -> Response:
        shift = sched.shift_pattern_create(actor=request.user, **validated(s.ShiftIn, request))
        return Response(s.ShiftOut(shift).data, status=201)


class ExtraShiftApi(APIView):
    @extend_schema(
        summary="Add a one-off shift", request=s.ExtraShiftIn, responses={201: s.ExtraShiftOut, **errors(ShiftOverlap)}
    )
    def post(self, request: Request) -> Response:
        v = validated(s.ExtraShiftIn, request)
        extra = sched.extra_shift_create(
            actor=request.user,
            doctor=v["doctor"],
            branch=v["branch"],
            day=v["date"],
            starts=v["starts"],
            ends=v["ends"],
        )
        return Response(s.ExtraShiftOut(extra).data, status=201)


class OfferingsApi(APIView):
    @extend_schema(
        summary="Set the services a doctor offers at a branch", request=s.OfferingsIn, responses=s.OfferingsIn
    )
    def put(self, request: Request) -> Response:
        v = validated(s.OfferingsIn, request)
        offerings = sched.offering_set(
            actor=request.user, doctor=v["doctor"], branch=v["branch"], service_ids=v["service_ids"]
        )
        return Response(
            {"doctor": v["doctor"].pk, "branch": v["branch"].pk, "service_ids": sorted(o.service_id for o in offerings)}
        )


class PolicyApi(APIView):
    @extend_schema(summary="Read the booking policy", responses=s.PolicyOut)
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_settings")
        return Response(s.PolicyOut(selectors.policy_get()).data)

    @extend_schema(summary="Change the booking policy", request=s.PolicyIn, responses=s.PolicyOut)
    def patch(self, request: Request) -> Response:
        return Response(s.PolicyOut(sched.policy_update(actor=request.user, **validated(s.PolicyIn, request))).data)


class LeaveListApi(APIView):
    @extend_schema(
        summary="List a doctor's leave",
        responses=s.EntryOut(many=True),
        parameters=[OpenApiParameter("doctor", int, required=True)],
    )
    def get(self, request: Request) -> Response:
        doctor = validated(s.LeaveQuery, request, request.query_params)["doctor"]
        authorize(request.user, "org.view_branch")
        if not selectors.doctor_visible(actor=request.user, doctor=doctor):
            raise PermissionDenied()
        leave = list(
            Leave.objects.filter(doctor=doctor, status=Status.BOOKED).select_related("doctor__user").order_by("span")
        )
        if not selectors.leave_reason_doctor_ids(actor=request.user, doctor_ids={doctor.pk}):
            for entry in leave:
                entry.notes = ""  # shown, never saved: the reason is for those who manage the leave
        return Response(s.EntryOut(leave, many=True).data)

    @extend_schema(
        summary="Put a doctor on leave",
        request=s.LeaveIn,
        responses={201: s.EntryOut, **errors(LeaveConflicts, CalendarBusy)},
    )
    def post(self, request: Request) -> Response:
        leave = sched.leave_create(actor=request.user, **validated(s.LeaveIn, request))
        return Response(s.EntryOut(leave).data, status=201)


class LeaveCancelApi(APIView):
    @extend_schema(summary="Cancel a leave", request=None, responses={200: s.EntryOut, **errors(IllegalTransition)})
    def post(self, request: Request, pk: int) -> Response:
        leave = sched.leave_cancel(actor=request.user, leave=get_object_or_404(Leave, pk=pk))
        return Response(s.EntryOut(leave).data)


# --- availability and appointments -------------------------------------------------------------------
class AvailabilityApi(APIView):
    @extend_schema(summary="Find free slots", responses=s.SlotOut(many=True), parameters=[s.AvailabilityQuery])
    def get(self, request: Request) -> Response:
        q = validated(s.AvailabilityQuery, request, request.query_params)
        authorize(request.user, "scheduling.view_calendar", q["branch"])
        slots = selectors.slot_list_available(
            service=q["service"],
            branch=q["branch"],
            date_from=q["date_from"],
            date_to=q["date_to"],
            doctor_ids=[q["doctor"].pk] if q["doctor"] else None,
            step=q["step"],
            online=q["online"],
        )
        # Hundreds of slots per answer: shaped by hand, as SlotOut documents them.
        return Response(
            [{"doctor": slot.doctor_id, "start": s.iso_utc(slot.start), "end": s.iso_utc(slot.end)} for slot in slots]
        )


class AppointmentFilter(StrictFilterSet):
    branch = IdFilter()
    doctor = IdFilter()
    patient = IdFilter()
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    start_after = DateTimeFilter(field_name="span", lookup_expr="startswith__gte")
    start_before = DateTimeFilter(field_name="span", lookup_expr="startswith__lt")
    is_override = StrictBooleanFilter()

    class Meta:
        model = Appointment
        fields = ["branch", "doctor", "patient", "status"]


class AppointmentListApi(GenericAPIView):
    queryset = Appointment.objects.none()
    filterset_class = AppointmentFilter

    @extend_schema(summary="List appointments", responses=s.EntryOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_branch")
        page = self.paginate_queryset(self.filter_queryset(selectors.appointment_list(actor=request.user)))
        _log_read(request, page or [])
        return self.get_paginated_response(s.EntryOut(page, many=True).data)

    @extend_schema(
        summary="Book an appointment",
        request=s.BookIn,
        responses={201: s.EntryOut, **errors(BookingRefused, IdempotencyKeyReused, CalendarBusy)},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request) -> Response:
        v = validated(s.BookIn, request)
        key = request.headers.get("Idempotency-Key") or None
        appointment = sched.appointment_book(actor=request.user, idempotency_key=key, **v)
        return _one(request, appointment, status=201)


def _appointment(pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("patient", "service", "room", "doctor__user", "branch"), pk=pk
    )


class AppointmentDetailApi(APIView):
    @extend_schema(summary="Read an appointment", responses=s.EntryOut)
    def get(self, request: Request, pk: int) -> Response:
        appointment = _appointment(pk)
        authorize(request.user, "scheduling.view_calendar", appointment.branch)
        return _one(request, appointment)


class RescheduleApi(APIView):
    @extend_schema(
        summary="Move an appointment",
        request=s.RescheduleIn,
        responses={200: s.EntryOut, **errors(BookingRefused, IllegalTransition, TooLateToCancel, CalendarBusy)},
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = _appointment(pk)
        moved = sched.appointment_reschedule(
            actor=request.user, appointment=appointment, **validated(s.RescheduleIn, request)
        )
        return _one(request, _appointment(moved.pk))


class ResizeApi(APIView):
    @extend_schema(
        summary="Change an appointment's length",
        description=(
            "A new end for a booked visit, keeping its start, doctor and room, where its service lets staff "
            "change the length (`length_adjustable`): 5 minutes to 12 hours, in 5-minute steps. Judged by the "
            "same rules as a move (hours, shift, breaks, leave, the doctor's, patient's and room's other visits)."
        ),
        request=s.ResizeIn,
        responses={200: s.EntryOut, **errors(LengthNotAdjustable, BookingRefused, IllegalTransition, CalendarBusy)},
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = _appointment(pk)
        resized = sched.appointment_resize(
            actor=request.user, appointment=appointment, **validated(s.ResizeIn, request)
        )
        return _one(request, _appointment(resized.pk))


class CancelApi(APIView):
    @extend_schema(
        summary="Cancel an appointment",
        request=s.CancelIn,
        responses={200: s.EntryOut, **errors(IllegalTransition, TooLateToCancel)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(s.CancelIn, request)
        cancelled = sched.appointment_cancel(
            actor=request.user, appointment=_appointment(pk), reason=v["reason"], patient_asked=v["patient_asked"]
        )
        return _one(request, _appointment(cancelled.pk))


def _status_api(action: Callable[..., Appointment], doc: str) -> type[APIView]:
    class StatusApi(APIView):
        @extend_schema(summary=doc, request=None, responses={200: s.EntryOut, **errors(IllegalTransition)})
        def post(self, request: Request, pk: int) -> Response:
            changed = action(actor=request.user, appointment=_appointment(pk))
            return _one(request, _appointment(changed.pk))

    StatusApi.__name__ = f"{action.__name__.title().replace('_', '')}Api"
    return StatusApi


ConfirmApi = _status_api(sched.appointment_confirm, "Confirm a booked appointment")
CheckInApi = _status_api(sched.appointment_check_in, "Check the patient in")
StartApi = _status_api(sched.appointment_start, "Start the visit")
CompleteApi = _status_api(sched.appointment_complete, "Complete the visit")
NoShowApi = _status_api(sched.appointment_mark_no_show, "Mark as a no-show")


class WalkInApi(APIView):
    @extend_schema(
        summary="Book a walk-in, registering a new patient if need be",
        description="A patient on file (`patient`) or a new one (`new_patient`, registered in the same "
        "transaction: a refused time leaves no new patient behind); the first free doctor from now on "
        "today, or `doctor` and `start` together.",
        request=s.WalkInIn,
        responses={201: s.EntryOut, **errors(NoSlotToday, BookingRefused, CalendarBusy, PossibleDuplicates)},
    )
    def post(self, request: Request) -> Response:
        appointment = sched.walk_in_book(actor=request.user, **validated(s.WalkInIn, request))
        return _one(request, _appointment(appointment.pk), status=201)


class SeriesApi(APIView):
    @extend_schema(
        summary="Book a series of appointments",
        request=s.SeriesIn,
        responses={201: s.OccurrenceOut(many=True), **errors(SeriesConflicts, BookingRefused, CalendarBusy)},
    )
    def post(self, request: Request) -> Response:
        v = validated(s.SeriesIn, request)
        _, results = sched.series_book(actor=request.user, first_start=v.pop("start"), **v)
        body = [
            {
                "start": r.start,
                "appointment": r.appointment.pk if r.appointment else None,
                "problem": r.problem,
                "message": r.message,
            }
            for r in results
        ]
        return Response(s.OccurrenceOut(body, many=True).data, status=201)


class HoldApi(APIView):
    @extend_schema(
        summary="Hold a time while a booking is completed",
        request=s.HoldIn,
        responses={201: s.HoldOut, **errors(BookingRefused, CalendarBusy)},
    )
    def post(self, request: Request) -> Response:
        hold = sched.appointment_hold(actor=request.user, source="staff", **validated(s.HoldIn, request))
        return Response(s.HoldOut(hold).data, status=201)


class HoldConfirmApi(APIView):
    @extend_schema(
        summary="Book a held time",
        request=s.HoldConfirmIn,
        responses={
            200: s.EntryOut,
            **errors(HoldExpired, HoldReleased, IdempotencyKeyReused, IllegalTransition, BookingRefused, CalendarBusy),
        },
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request, pk: int) -> Response:
        hold = Appointment.objects.exclude(hold_token="").filter(pk=pk).first()
        if hold is None:
            raise EntryNotFound("No such hold.")
        authorize(request.user, "scheduling.book", hold.branch)
        v = validated(s.HoldConfirmIn, request)
        booked = sched.appointment_hold_confirm(
            actor=request.user,
            hold=hold,
            hold_token=v["hold_token"],
            patient=v["patient"],
            idempotency_key=request.headers.get("Idempotency-Key") or None,
        )
        return _one(request, _appointment(booked.pk))


class HoldDetailApi(APIView):
    """A hold, for its holder: read it (is it still mine, until when?) or give the time back.
    To anyone else it does not exist (404, never 403)."""

    def _hold(self, request: Request, pk: int) -> Appointment:
        hold = selectors.hold_get(actor=request.user, pk=pk)
        if hold is None:
            raise EntryNotFound("No such hold.")
        return hold

    @extend_schema(summary="Read one of your holds", responses=s.HoldOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.HoldOut(self._hold(request, pk)).data)

    @extend_schema(
        summary="Release one of your holds",
        description="Gives the time back. Releasing a hold that was released or ran out already changes nothing.",
        request=None,
        responses={204: None, **errors(IllegalTransition)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        sched.appointment_hold_release(actor=request.user, hold=self._hold(request, pk))
        return Response(status=204)


# --- calendars -----------------------------------------------------------------------------------
def _calendar(request: Request, rows: list[dict[str, Any]]) -> Response:
    rows = selectors.calendar_rows_visible(actor=request.user, rows=rows)
    access_log_rows(actor=request.user, object_type="appointment", rows=rows, request=request._request)
    return Response([s.calendar_row_out(r) for r in rows])


class BranchDayApi(APIView):
    @extend_schema(summary="A branch's calendar for one day", responses=s.CalendarRowOut(many=True))
    def get(self, request: Request, pk: int, day: date) -> Response:
        branch = get_object_or_404(Branch, pk=pk)
        authorize(request.user, "scheduling.view_calendar", branch)
        return _calendar(request, selectors.branch_day_rows(branch=branch, day=day))


class DoctorWeekApi(APIView):
    @extend_schema(summary="A doctor's calendar for the week from a day", responses=s.CalendarRowOut(many=True))
    def get(self, request: Request, pk: int, day: date) -> Response:
        doctor = get_object_or_404(StaffMember, pk=pk)
        authorize(request.user, "org.view_branch")
        if not selectors.doctor_visible(actor=request.user, doctor=doctor):
            raise PermissionDenied()
        tz = ZoneInfo(chain_settings_get().default_timezone)
        return _calendar(request, selectors.doctor_week_rows(doctor=doctor, week_start=day, tz=tz))
