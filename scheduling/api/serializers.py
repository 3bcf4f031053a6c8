from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import (
    IdListField,
    QueryBooleanField,
    StrictBooleanField,
    StrictDateField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    TokenField,
    max_length,
    visible_text,
)
from patients.models import Patient
from scheduling.models import (
    BranchHours,
    CalendarEntry,
    ExtraShift,
    Room,
    SchedulingPolicy,
    Service,
    ShiftPattern,
    Source,
    SpecialDay,
)
from scheduling.no_shows import NoShowRecord, no_show_records
from scheduling.services.walk_in import NewPatient
from tenants.org.models import Branch, Role, StaffMember

DOCTORS = StaffMember.objects.filter(roles__contains=[Role.DOCTOR])
STAFF_SOURCES = [(v, Source(v).label) for v in (Source.WALK_IN, Source.PHONE, Source.STAFF, Source.WAITLIST)]


class ServiceOut(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "price_minor",
            "requires_room",
            "bookable_online",
            "length_adjustable",
            "is_active",
        ]


class ServiceIn(serializers.Serializer):
    name = serializers.CharField(max_length=max_length(Service, "name"))
    description = serializers.CharField(required=False, allow_blank=True)
    duration_minutes = StrictIntegerField(min_value=1)
    buffer_before_minutes = StrictIntegerField(min_value=0, required=False)
    buffer_after_minutes = StrictIntegerField(min_value=0, required=False)
    price_minor = StrictIntegerField(min_value=0, required=False)
    requires_room = StrictBooleanField(required=False)
    bookable_online = StrictBooleanField(required=False)
    length_adjustable = StrictBooleanField(
        required=False, help_text="Staff may lengthen or shorten a visit, in 5-minute steps from 5 minutes to 12 hours."
    )
    is_active = StrictBooleanField(required=False)


class ServicePatch(ServiceIn):
    name = serializers.CharField(max_length=max_length(Service, "name"), required=False)
    duration_minutes = StrictIntegerField(min_value=1, required=False)


class RoomOut(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "branch", "name", "is_active"]


class RoomIn(serializers.Serializer):
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    name = serializers.CharField(max_length=max_length(Room, "name"))


class HoursRow(serializers.ModelSerializer):
    class Meta:
        model = BranchHours
        fields = ["weekday", "opens", "closes"]


class HoursIn(serializers.Serializer):
    hours = HoursRow(many=True)


class SpecialDayOut(serializers.ModelSerializer):
    class Meta:
        model = SpecialDay
        fields = ["id", "date", "opens", "closes", "note"]


class SpecialDayIn(serializers.Serializer):
    date = StrictDateField()
    opens = serializers.TimeField(required=False, allow_null=True, default=None)
    closes = serializers.TimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(
        max_length=max_length(SpecialDay, "note"), required=False, allow_blank=True, default=""
    )


class ShiftOut(serializers.ModelSerializer):
    class Meta:
        model = ShiftPattern
        fields = [
            "id",
            "doctor",
            "branch",
            "weekday",
            "starts",
            "ends",
            "break_starts",
            "break_ends",
            "valid_from",
            "valid_until",
        ]


class ShiftIn(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS)
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    weekday = StrictIntegerField(min_value=0, max_value=6)
    starts = serializers.TimeField()
    ends = serializers.TimeField()
    break_starts = serializers.TimeField(required=False, allow_null=True, default=None)
    break_ends = serializers.TimeField(required=False, allow_null=True, default=None)
    valid_from = StrictDateField()
    valid_until = StrictDateField(required=False, allow_null=True, default=None)


class ExtraShiftOut(serializers.ModelSerializer):
    class Meta:
        model = ExtraShift
        fields = ["id", "doctor", "branch", "date", "starts", "ends"]


class ExtraShiftIn(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS)
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    date = StrictDateField()
    starts = serializers.TimeField()
    ends = serializers.TimeField()


class OfferingsIn(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS)
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    service_ids = IdListField(Service)


class PolicyOut(serializers.ModelSerializer):
    class Meta:
        model = SchedulingPolicy
        fields = [
            "cancellation_window_hours",
            "online_min_notice_minutes",
            "online_horizon_days",
            "online_slot_step_minutes",
            "hold_minutes",
            "no_show_auto",
            "no_show_grace_minutes",
            "no_show_flag_after",
            "no_show_flag_months",
        ]


class PolicyIn(serializers.Serializer):
    cancellation_window_hours = StrictIntegerField(min_value=0, max_value=720, required=False)
    online_min_notice_minutes = StrictIntegerField(min_value=0, max_value=43200, required=False)
    online_horizon_days = StrictIntegerField(min_value=1, required=False)
    online_slot_step_minutes = StrictIntegerField(min_value=1, required=False)
    hold_minutes = StrictIntegerField(min_value=1, required=False)
    no_show_auto = StrictBooleanField(
        required=False, help_text="Mark a visit nobody checked in a no-show once the grace period has passed."
    )
    no_show_grace_minutes = StrictIntegerField(min_value=0, max_value=240, required=False)
    no_show_flag_after = StrictIntegerField(
        min_value=0, max_value=20, required=False, help_text="Flag a patient after this many no-shows (0: never)."
    )
    no_show_flag_months = StrictIntegerField(
        min_value=1, max_value=36, required=False, help_text="The period no-shows are counted over."
    )


class LeaveQuery(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=StaffMember.objects.all())


class LeaveIn(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS)
    start = StrictDateTimeField()
    end = StrictDateTimeField()
    reason = serializers.CharField(
        max_length=max_length(CalendarEntry, "notes"), required=False, allow_blank=True, default=""
    )


class _Ref(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _ref(obj: Any, name: str | None = None) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": name or str(obj)}


class _PatientOnEntry(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    mrn = serializers.CharField()
    no_shows = serializers.IntegerField(help_text="The patient's no-shows in the chain's no-show period.")
    no_show_flag = serializers.BooleanField(
        help_text="The patient is flagged for repeated no-shows (the chain's policy: N in a period)."
    )


class EntryOut(serializers.ModelSerializer):
    """An appointment, or a leave block, as the calendars and the API show it."""

    start = serializers.DateTimeField(source="span.lower")
    end = serializers.DateTimeField(source="span.upper")
    doctor = serializers.SerializerMethodField()
    branch = serializers.SerializerMethodField()
    patient = serializers.SerializerMethodField()
    service = serializers.SerializerMethodField()
    room = serializers.SerializerMethodField()
    timezone = serializers.SerializerMethodField()

    class Meta:
        model = CalendarEntry
        fields = [
            "id",
            "kind",
            "status",
            "source",
            "start",
            "end",
            "timezone",
            "doctor",
            "branch",
            "patient",
            "service",
            "room",
            "is_override",
            "override_reason",
            "late_cancellation",
            "cancellation_reason",
            "hold_expires_at",
            "series",
            "notes",
            "created_at",
        ]

    def get_doctor(self, obj: CalendarEntry) -> dict[str, Any] | None:
        return _ref(obj.doctor, obj.doctor.user.get_full_name())

    def get_branch(self, obj: CalendarEntry) -> dict[str, Any] | None:
        return _ref(obj.branch)

    @extend_schema_field(_PatientOnEntry(allow_null=True))
    def get_patient(self, obj: CalendarEntry) -> dict[str, Any] | None:
        p = obj.patient
        if p is None:
            return None
        record = self._no_shows(p.pk)
        return {"id": p.pk, "name": str(p), "mrn": p.mrn, "no_shows": record.count, "no_show_flag": record.flagged}

    def _no_shows(self, patient_id: int) -> NoShowRecord:
        """The patient's no-show record (scheduling.no_shows), read once for a whole list's patients."""
        known: dict[int, NoShowRecord] = self.context.setdefault("no_shows", {})
        if patient_id not in known:
            rows = getattr(self.parent, "instance", None)
            ids = {patient_id}
            if isinstance(rows, list | QuerySet):
                ids |= {row.patient_id for row in rows if getattr(row, "patient_id", None)}
            known.update(no_show_records(patient_ids=ids))
        return known[patient_id]

    def get_service(self, obj: CalendarEntry) -> dict[str, Any] | None:
        return _ref(obj.service)

    def get_room(self, obj: CalendarEntry) -> dict[str, Any] | None:
        return _ref(obj.room, obj.room.name if obj.room else None)

    def get_timezone(self, obj: CalendarEntry) -> str | None:
        return obj.branch.timezone if obj.branch else None


class HoldOut(EntryOut):
    class Meta(EntryOut.Meta):
        fields = [*EntryOut.Meta.fields, "hold_token"]


class BookIn(serializers.Serializer):
    patient = StrictPrimaryKeyRelatedField(queryset=Patient.objects.all())
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS)
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    service = StrictPrimaryKeyRelatedField(queryset=Service.objects.all())
    start = StrictDateTimeField()
    room = StrictPrimaryKeyRelatedField(queryset=Room.objects.all(), required=False, allow_null=True, default=None)
    # A field named like Field.source: DRF moves it into _declared_fields, mypy cannot know.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=STAFF_SOURCES, required=False, default=Source.STAFF
    )
    # An override is asked for explicitly, and then needs its reason (validate); a reason alone
    # asks for nothing.
    override = StrictBooleanField(required=False, default=False)
    override_reason = serializers.CharField(
        max_length=max_length(CalendarEntry, "override_reason"), required=False, allow_blank=True, default=""
    )
    notes = serializers.CharField(
        max_length=max_length(CalendarEntry, "notes"), required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("override") and not visible_text(attrs.get("override_reason", "")):
            raise serializers.ValidationError({"override_reason": "An override needs a reason."})
        return attrs


class HoldIn(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS)
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    service = StrictPrimaryKeyRelatedField(queryset=Service.objects.all())
    start = StrictDateTimeField()


class HoldConfirmIn(serializers.Serializer):
    hold_token = TokenField(max_length=max_length(CalendarEntry, "hold_token"))
    patient = StrictPrimaryKeyRelatedField(queryset=Patient.objects.all())


class NewPatientIn(serializers.Serializer):
    """A walk-in who is not on file yet: registered and booked in one transaction."""

    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=32, required=False, default="")
    email = serializers.EmailField(required=False, default="")
    date_of_birth = StrictDateField(required=False, allow_null=True, default=None)
    ignore_duplicates = StrictBooleanField(required=False, default=False)


class WalkInIn(serializers.Serializer):
    """A patient on file (`patient`) or a new one (`new_patient`); the first free doctor today, or
    `doctor` and `start` together."""

    patient = StrictPrimaryKeyRelatedField(queryset=Patient.objects.all(), required=False, default=None)
    new_patient = NewPatientIn(required=False, default=None)
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    service = StrictPrimaryKeyRelatedField(queryset=Service.objects.all())
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS, required=False, default=None)
    start = StrictDateTimeField(required=False, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("patient") is None) == (attrs.get("new_patient") is None):
            raise serializers.ValidationError({"patient": ["Give patient or new_patient, not both."]})
        if (attrs.get("doctor") is None) != (attrs.get("start") is None):
            raise serializers.ValidationError({"start": ["Give doctor and start together, or neither."]})
        if attrs.get("new_patient") is not None:
            attrs["new_patient"] = NewPatient(**attrs["new_patient"])
        return attrs


class SeriesIn(BookIn):
    count = StrictIntegerField(min_value=2, max_value=52)
    every_days = StrictIntegerField(min_value=1, max_value=90, required=False, default=7)
    all_or_nothing = StrictBooleanField(required=False, default=True)


class OccurrenceOut(serializers.Serializer):
    start = serializers.DateTimeField()
    appointment = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_blank=True)


class RescheduleIn(serializers.Serializer):
    start = StrictDateTimeField()
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS, required=False, allow_null=True, default=None)
    room = StrictPrimaryKeyRelatedField(queryset=Room.objects.all(), required=False, allow_null=True, default=None)


class ResizeIn(serializers.Serializer):
    end = StrictDateTimeField(help_text="The visit's new end, with its UTC offset; the start stays.")


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(
        max_length=max_length(CalendarEntry, "cancellation_reason"), required=False, allow_blank=True, default=""
    )
    patient_asked = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The patient asked for the cancellation (e.g. by phone): a late one may carry the chain's fee. "
        "Left out, it is the clinic's own cancellation, which carries none.",
    )


class AvailabilityQuery(serializers.Serializer):
    service = StrictPrimaryKeyRelatedField(queryset=Service.objects.all())
    branch = StrictPrimaryKeyRelatedField(queryset=Branch.objects.all())
    doctor = StrictPrimaryKeyRelatedField(queryset=DOCTORS, required=False, allow_null=True, default=None)
    date_from = StrictDateField()
    date_to = StrictDateField()
    step = StrictIntegerField(min_value=5, max_value=240, required=False, default=15)
    online = QueryBooleanField(required=False, default=False)  # a query's text: ?online=true

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        span = (attrs["date_to"] - attrs["date_from"]).days
        if span < 0:
            raise serializers.ValidationError({"date_to": "Must not be before date_from."})
        if span > 31:
            raise serializers.ValidationError({"date_to": "Ask for at most 31 days at a time."})
        if attrs["step"] % 5:
            raise serializers.ValidationError({"step": "Use a multiple of 5 minutes."})
        return attrs


class SlotOut(serializers.Serializer):
    doctor = serializers.IntegerField(source="doctor_id")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class _PatientRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    mrn = serializers.CharField()


class CalendarRowOut(serializers.Serializer):
    """A row of the day and week calendars (appointments and leave)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    doctor = _Ref()
    patient = _PatientRef(allow_null=True)
    service = _Ref(allow_null=True)
    room = _Ref(allow_null=True)
    is_override = serializers.BooleanField()
    late_cancellation = serializers.BooleanField()
    notes = serializers.CharField()


def iso_utc(moment: datetime) -> str:
    """The same text DRF's DateTimeField gives a UTC time, without its per-field machinery."""
    return moment.isoformat().replace("+00:00", "Z")


def calendar_row_out(row: dict[str, Any]) -> dict[str, Any]:
    """Shape a selectors.calendar_rows row; plain code, no serializer machinery on this hot path."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "source": row["source"],
        "start": iso_utc(row["start"]),
        "end": iso_utc(row["end"]),
        "doctor": {"id": row["doctor_id"], "name": f"{row['doctor_first']} {row['doctor_last']}".strip()},
        "patient": None
        if row["patient_id"] is None
        else {
            "id": row["patient_id"],
            "name": f"{row['patient_first']} {row['patient_last']}".strip(),
            "mrn": row["patient_mrn"],
        },
        "service": None if row["service_id"] is None else {"id": row["service_id"], "name": row["service_name"]},
        "room": None if row["room_id"] is None else {"id": row["room_id"], "name": row["room_name"]},
        "is_override": row["is_override"],
        "late_cancellation": row["late_cancellation"],
        "notes": row["notes"],
    }
