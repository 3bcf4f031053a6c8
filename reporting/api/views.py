"""The reporting API (``/api/v1/reports/``): the figures, the money, the messages and the doctors'
load of a period, grouped and filtered, as JSON or as a CSV or XLSX file; and the appointments
behind a figure. Views are thin: reporting.selectors and reporting.drill decide who sees what
(reporting.scope), the views read the query, answer and access-log what names patients.

``?format=`` names the file a report is answered as (csv, xlsx), not one of DRF's renderers: the
views' content negotiation ignores it (the answers that are not files are JSON)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAcceptable
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from reporting import export
from reporting.api import serializers as s
from reporting.drill import BEHIND_COLUMNS, Figure, appointments_behind, behind_file_rows, behind_rows
from reporting.exceptions import BranchNotInReach, DoctorNotInReach, PeriodInvalid
from reporting.export import CONTENT_TYPES, Format, export_filename, export_response, period_rows
from reporting.period import Period
from reporting.selectors import Filters, Group, doctors_load, figures_rows, message_rows, money_rows
from scheduling.models import Appointment
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_response
from tenants.org.selectors import chain_settings_get

#: The doctors' load looks this many days ahead from tomorrow unless a period is given.
LOAD_DAYS = 7


class ReportNegotiation(DefaultContentNegotiation):
    """DRF's negotiation without its ``?format=`` override: here ``format`` names an export file
    the views write themselves (reporting.export), whatever the view (one that writes none reads
    it as JSON). An Accept header naming that file's type (text/csv, the workbook's) is not
    refused: what is not a file is answered as JSON."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        offered = list(renderers)
        try:
            chosen: tuple[BaseRenderer, str] = super().select_renderer(request, offered, format_suffix)
        except NotAcceptable:
            return offered[0], offered[0].media_type
        return chosen


class ReportView(APIView):
    content_negotiation_class = ReportNegotiation


class ReportListView(GenericAPIView):  # type: ignore[type-arg]
    content_negotiation_class = ReportNegotiation


# --- reading the query ----------------------------------------------------------------------------


def _query(serializer: type[s.PeriodQuery], request: Request) -> dict[str, Any]:
    params = request.query_params
    data: dict[str, Any] = {name: params.get(name) for name in params if name not in s.REPEATABLE}
    data.update({name: params.getlist(name) for name in s.REPEATABLE if name in params})
    return validated(serializer, request, data)


def chain_today() -> date:
    """Today on the chain's clock (its default zone)."""
    return timezone.localdate(timezone.now(), ZoneInfo(chain_settings_get().default_timezone))


def _period(query: dict[str, Any], default: Callable[[], Period]) -> Period:
    """The period asked for: both days, one of them (the other end of its month), or the default."""
    return Period.asked(query.get("from"), query.get("to"), default())


def this_month() -> Period:
    return Period.month_of(chain_today())


def week_ahead() -> Period:
    tomorrow = chain_today() + timedelta(days=1)
    return Period(tomorrow, tomorrow + timedelta(days=LOAD_DAYS - 1))


def _filters(query: dict[str, Any]) -> Filters:
    return Filters.of(branch_ids=query.get("branch"), doctor_ids=query.get("doctor"), service_ids=query.get("service"))


def _file(query: dict[str, Any]) -> Format | None:
    fmt = query.get("format")
    return None if fmt is None or fmt == "json" else Format(fmt)


# --- the schema ---------------------------------------------------------------------------------

_FROM = OpenApiParameter(
    "from",
    OpenApiTypes.DATE,
    description="The period's first day (YYYY-MM-DD). Without `from` and `to`: this month on the chain's clock; "
    "`from` alone runs to the end of its month, `to` alone from the start of its month. At most 1100 days.",
)
_TO = OpenApiParameter("to", OpenApiTypes.DATE, description="The period's last day (YYYY-MM-DD).")


def _ids_param(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        int,
        many=True,
        explode=True,
        description=f"Only these {what} (repeat the parameter for several). One beyond what you may see: 403.",
    )


_BRANCH = _ids_param("branch", "branches")
_DOCTOR = _ids_param("doctor", "doctors")
_SERVICE = _ids_param("service", "services")
_FORMAT = OpenApiParameter(
    "format",
    str,
    enum=["json", *Format],
    description="json (default), or csv / xlsx for the rows as a file to download.",
)
_GROUP = OpenApiParameter(
    "group",
    str,
    enum=list(Group),
    description="One row for the whole chain (default), or per branch, doctor, service, day, week or month.",
)
_COMPARE = OpenApiParameter(
    "compare", str, enum=["0", "1", "true", "false"], description="1: the period just before as well, as `previous`."
)
_REFUSALS = errors(PeriodInvalid, BranchNotInReach, DoctorNotInReach)


def _files(what: str) -> dict[Any, OpenApiResponse]:
    return {
        (200, CONTENT_TYPES[Format.CSV].split(";")[0]): OpenApiResponse(
            OpenApiTypes.STR, description=f"{what} as CSV (UTF-8 with a byte-order mark), with format=csv"
        ),
        (200, CONTENT_TYPES[Format.XLSX]): OpenApiResponse(
            OpenApiTypes.BINARY, description=f"{what} as an Excel workbook, with format=xlsx"
        ),
    }


# --- the reports ----------------------------------------------------------------------------------


def _figure_dicts(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"key": r.key, "label": r.label, **r.figures.as_dict()} for r in rows]


def _money_dicts(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"key": r.key, "label": r.label, **r.money.as_dict()} for r in rows]


def _report(
    request: Request,
    *,
    name: str,
    read: Callable[..., list[Any]],
    shape: Callable[[list[Any]], list[dict[str, Any]]],
    columns: list[export.Column],
    out: type[Any],
) -> HttpResponse | Response:
    query = _query(s.ReportQuery, request)
    period = _period(query, this_month)
    group = Group(query["group"])
    filters = _filters(query)
    periods = [period, period.previous()] if query["compare"] in ("1", "true") else [period]
    found = [(p, shape(read(actor=request.user, period=p, group=group, filters=filters))) for p in periods]
    fmt = _file(query)
    if fmt is not None:
        rows = [row for p, shaped in found for row in period_rows(shaped, p.first, p.last)]
        filename = export_filename(f"{name}-by-{group.value}", period.first, period.last)
        return export_response(rows=rows, columns=columns, filename=filename, fmt=fmt)
    answer: dict[str, Any] = {"first": period.first, "last": period.last, "group": group, "rows": found[0][1]}
    answer["previous"] = (
        {"first": found[1][0].first, "last": found[1][0].last, "rows": found[1][1]} if len(found) > 1 else None
    )
    return Response(out(answer).data)


class FiguresApi(ReportView):
    @extend_schema(
        summary="Visit figures of a period (utilization, no-shows, cancellations, sources, new and returning "
        "patients, rebooking, reminders), for the chain or per branch, doctor, service, day, week or month",
        parameters=[_FROM, _TO, _BRANCH, _DOCTOR, _SERVICE, _GROUP, _COMPARE, _FORMAT],
        responses={(200, "application/json"): s.FiguresOut, **_files("The rows"), **_REFUSALS},
    )
    def get(self, request: Request) -> HttpResponse | Response:
        return _report(
            request,
            name="figures",
            read=figures_rows,
            shape=_figure_dicts,
            columns=export.FIGURE_COLUMNS,
            out=s.FiguresOut,
        )


class MoneyApi(ReportView):
    @extend_schema(
        summary="Money of a period per currency (invoiced, credited, collected, refunded, net), for the chain "
        "or per branch, doctor, service, day, week or month",
        parameters=[_FROM, _TO, _BRANCH, _DOCTOR, _SERVICE, _GROUP, _COMPARE, _FORMAT],
        responses={(200, "application/json"): s.MoneyOut, **_files("The rows"), **_REFUSALS},
    )
    def get(self, request: Request) -> HttpResponse | Response:
        return _report(
            request,
            name="money",
            read=money_rows,
            shape=_money_dicts,
            columns=export.MONEY_COLUMNS,
            out=s.MoneyOut,
        )


class MessagesApi(ReportView):
    @extend_schema(
        summary="Messages due in a period by channel and kind: written, sent, delivered, failed, delivery rate",
        parameters=[_FROM, _TO, _BRANCH, _FORMAT],
        responses={(200, "application/json"): s.MessagesOut, **_files("The rows"), **_REFUSALS},
    )
    def get(self, request: Request) -> HttpResponse | Response:
        query = _query(s.PeriodQuery, request)
        period = _period(query, this_month)
        found = message_rows(actor=request.user, period=period, filters=_filters(query))
        rows = [{**r.__dict__, "delivery_rate": r.delivery_rate} for r in found]
        fmt = _file(query)
        if fmt is not None:
            filename = export_filename("messages", period.first, period.last)
            return export_response(
                rows=period_rows(rows, period.first, period.last),
                columns=export.MESSAGE_COLUMNS,
                filename=filename,
                fmt=fmt,
            )
        return Response(s.MessagesOut({"first": period.first, "last": period.last, "rows": rows}).data)


class LoadApi(ReportView):
    @extend_schema(
        summary="Doctors' booked minutes against their capacity over a period (default: the 7 days from "
        "tomorrow), the most loaded first; overloaded from 90% of capacity",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                description="The period's first day. Without `from` and `to`: the 7 days from tomorrow on the "
                "chain's clock; `from` alone runs to the end of its month, `to` alone from the start of its month.",
            ),
            _TO,
            _BRANCH,
            _DOCTOR,
            _FORMAT,
        ],
        responses={(200, "application/json"): s.LoadOut, **_files("The rows"), **_REFUSALS},
    )
    def get(self, request: Request) -> HttpResponse | Response:
        query = _query(s.DoctorsQuery, request)
        period = _period(query, week_ahead)
        found = doctors_load(actor=request.user, period=period, filters=_filters(query))
        rows = [{**r.__dict__, "utilization": r.utilization, "overloaded": r.overloaded} for r in found]
        fmt = _file(query)
        if fmt is not None:
            shown = [{**r, "overloaded": "yes" if r["overloaded"] else "no"} for r in rows]
            return export_response(
                rows=period_rows(shown, period.first, period.last),
                columns=export.LOAD_COLUMNS,
                filename=export_filename("doctors-load", period.first, period.last),
                fmt=fmt,
            )
        return Response(s.LoadOut({"first": period.first, "last": period.last, "rows": rows}).data)


class AppointmentsBehindApi(ReportListView):
    queryset = Appointment.objects.none()

    @extend_schema(
        summary="The appointments behind a figure: as many as the figure counts for the same period and filters "
        "(start on the branch's clock, branch, doctor, service, patient and MRN, status, source, who cancelled)",
        parameters=[
            OpenApiParameter(
                "figure",
                str,
                enum=list(Figure),
                required=True,
                description="The figure whose appointments to list (a count of the figures report).",
            ),
            _FROM,
            _TO,
            _BRANCH,
            _DOCTOR,
            _SERVICE,
            _FORMAT,
        ],
        responses={
            (200, "application/json"): s.AppointmentBehindOut(many=True),
            **_files("Every appointment of the list"),
            **_REFUSALS,
        },
    )
    def get(self, request: Request) -> HttpResponse | Response:
        query = _query(s.AppointmentsQuery, request)
        period = _period(query, this_month)
        figure = Figure(query["figure"])
        appointments = appointments_behind(actor=request.user, period=period, figure=figure, filters=_filters(query))
        fmt = _file(query)
        if fmt is not None:
            rows = behind_file_rows(appointments, fmt)
            access_log_response(
                request,
                action=AccessLog.Action.EXPORT,
                object_type="appointment",
                object_ids=[r.id for r in rows],
                patient_ids=[r.patient_id for r in rows],
            )
            return export_response(
                rows=[r.export_row() for r in rows],
                columns=BEHIND_COLUMNS,
                filename=export_filename(f"appointments-{figure.value}", period.first, period.last),
                fmt=fmt,
            )
        page = behind_rows(self.paginate_queryset(appointments) or [])
        access_log_response(
            request,
            action=AccessLog.Action.LIST,
            object_type="appointment",
            object_ids=[r.id for r in page],
            patient_ids=[r.patient_id for r in page],
        )
        return self.get_paginated_response(s.AppointmentBehindOut(page, many=True).data)
