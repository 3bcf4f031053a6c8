"""Booking by day in the API: which days have free times (scheduling/free_days.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from scheduling.api import serializers as s
from scheduling.free_days import free_days, next_free_day
from tenants.authz import authorize


class FreeDayOut(serializers.Serializer):
    date = serializers.DateField(help_text="A day on the branch's wall clock.")
    free_times = serializers.IntegerField(help_text="How many start times are free that day, whoever the doctor.")


class FreeDaysOut(serializers.Serializer):
    days = FreeDayOut(many=True)
    next_free_day = serializers.DateField(
        allow_null=True,
        help_text="The first day after date_to with a free time, looking 92 days ahead (and, for online=true, "
        "no further than the online horizon); null when there is none.",
    )


class AvailabilityDaysApi(APIView):
    @extend_schema(
        summary="Find the days with free times",
        description="Each day from date_from to date_to (at most 31 days) with how many free times it has for the "
        "service at the branch (and doctor), by the same rules as booking and /availability/; and the next "
        "free day after the range, for a day or month that is full.",
        responses=FreeDaysOut,
        parameters=[s.AvailabilityQuery],
    )
    def get(self, request: Request) -> Response:
        q = validated(s.AvailabilityQuery, request, request.query_params)
        authorize(request.user, "scheduling.view_calendar", q["branch"])
        asked = {
            "service": q["service"],
            "branch": q["branch"],
            "doctor_ids": [q["doctor"].pk] if q["doctor"] else None,
            "step": q["step"],
            "online": q["online"],
        }
        days = free_days(date_from=q["date_from"], date_to=q["date_to"], **asked)
        after = next_free_day(after=q["date_to"], **asked)
        return Response(
            {
                "days": [{"date": d.day.isoformat(), "free_times": d.free_times} for d in days],
                "next_free_day": after.isoformat() if after else None,
            }
        )
