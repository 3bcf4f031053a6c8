"""What the reporting API reads (query parameters) and answers (the rows of a report)."""

from __future__ import annotations

from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import StrictDateField, StrictIntegerField, pk_max
from reporting.drill import Figure
from reporting.export import Format
from reporting.selectors import Group
from scheduling.models import Service, Source, Status
from tenants.org.models import Branch, StaffMember

RATIO_HELP = "A share from 0 to 1 (utilization may pass 1), null where there is nothing to divide by"
AMOUNT_HELP = "In minor units of the row's currency (pence, cents; yen have none)"

# --- query parameters ---------------------------------------------------------------------------


def _ids(model: Any) -> serializers.ListField:
    return serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=pk_max(model)), required=False, max_length=200
    )


class PeriodQuery(serializers.Serializer):
    """``from`` and ``to`` (``from`` is a Python keyword, so it is added in get_fields), the branches
    and the file format."""

    to = StrictDateField(required=False)
    branch = _ids(Branch)
    format = serializers.ChoiceField(choices=["json", *Format], required=False)

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        fields["from"] = StrictDateField(required=False)
        return fields  # type: ignore[return-value]


class DoctorsQuery(PeriodQuery):
    doctor = _ids(StaffMember)


class ReportQuery(DoctorsQuery):
    service = _ids(Service)
    group = serializers.ChoiceField(choices=list(Group), required=False, default=Group.CHAIN)
    compare = serializers.ChoiceField(choices=["0", "1", "true", "false"], required=False, default="0")


class AppointmentsQuery(DoctorsQuery):
    service = _ids(Service)
    figure = serializers.ChoiceField(choices=list(Figure))


#: Query parameters that may be given more than once (``?branch=1&branch=2``).
REPEATABLE = ("branch", "doctor", "service")


# --- answers ------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "format": "date"}],
        "nullable": True,
        "description": (
            "The row's branch, doctor or service id, or the first day (YYYY-MM-DD) of its day, week or "
            "month; null for the whole chain (and, for money by doctor or service, money of no visit)"
        ),
    }
)
class KeyField(serializers.Field):  # type: ignore[type-arg]
    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


class _PeriodOut(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        fields["from"] = serializers.DateField(source="first", help_text="The period's first day")
        fields["to"] = serializers.DateField(source="last", help_text="The period's last day")
        return fields  # type: ignore[return-value]


class FiguresRowOut(serializers.Serializer):
    """reporting.selectors.Figures.as_dict() of one row (reporting.models.VisitFigures says what each counts)."""

    key = KeyField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    bookings = serializers.IntegerField(help_text="Appointments made for the period's days, kept or cancelled")
    appointments = serializers.IntegerField(
        help_text="Appointments not cancelled: booked, confirmed, arrived, completed or missed"
    )
    booked_minutes = serializers.IntegerField(help_text="Minutes of the appointments not cancelled")
    completed = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    cancelled_early_patient = serializers.IntegerField()
    cancelled_early_clinic = serializers.IntegerField()
    cancelled_late_patient = serializers.IntegerField(help_text="Inside the chain's cancellation window")
    cancelled_late_clinic = serializers.IntegerField()
    source_online = serializers.IntegerField()
    source_walk_in = serializers.IntegerField()
    source_phone = serializers.IntegerField()
    source_waitlist = serializers.IntegerField()
    source_staff = serializers.IntegerField()
    new_patients = serializers.IntegerField(help_text="Completed visits that were the patient's first")
    rebooked = serializers.IntegerField(help_text="Completed visits followed by a booking within 30 days")
    outcomes_reminded = serializers.IntegerField(help_text="Completed or missed visits a reminder was sent for")
    no_shows_reminded = serializers.IntegerField()
    capacity_minutes = serializers.IntegerField(
        allow_null=True, help_text="Bookable minutes on shift, less leave (null grouped by service)"
    )
    leave_minutes = serializers.IntegerField(allow_null=True)
    utilization = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)
    cancelled = serializers.IntegerField()
    cancelled_late = serializers.IntegerField()
    outcomes = serializers.IntegerField(help_text="Completed or missed")
    no_show_rate = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)
    cancellation_rate = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)
    rebook_rate = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)
    returning_patients = serializers.IntegerField()
    no_show_rate_reminded = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)
    no_show_rate_not_reminded = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)


class FiguresPeriodOut(_PeriodOut):
    rows = FiguresRowOut(many=True)


class FiguresOut(FiguresPeriodOut):
    group = serializers.ChoiceField(choices=list(Group))
    previous = FiguresPeriodOut(
        allow_null=True, help_text="The period of the same length just before (with compare=1), else null"
    )


class MoneyRowOut(serializers.Serializer):
    key = KeyField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    currency = serializers.CharField()
    invoices = serializers.IntegerField(help_text="Invoices issued (not void)")
    invoiced_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    credited_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    payments = serializers.IntegerField()
    collected_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    refunds = serializers.IntegerField()
    refunded_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    net_collected_minor = serializers.IntegerField(help_text="Collected less refunded; " + AMOUNT_HELP)


class MoneyPeriodOut(_PeriodOut):
    rows = MoneyRowOut(many=True)


class MoneyOut(MoneyPeriodOut):
    group = serializers.ChoiceField(choices=list(Group))
    previous = MoneyPeriodOut(allow_null=True, help_text="The period just before (with compare=1), else null")


class MessageRowOut(serializers.Serializer):
    channel = serializers.CharField()
    kind = serializers.CharField()
    messages = serializers.IntegerField(help_text="Written (due in the period)")
    sent = serializers.IntegerField(help_text="Handed to the provider")
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed or not delivered")
    delivery_rate = serializers.FloatField(allow_null=True, help_text="Delivered over sent; " + RATIO_HELP)


class MessagesOut(_PeriodOut):
    rows = MessageRowOut(many=True)


class LoadRowOut(serializers.Serializer):
    doctor_id = serializers.IntegerField()
    doctor = serializers.CharField()
    branch_id = serializers.IntegerField()
    branch = serializers.CharField()
    capacity_minutes = serializers.IntegerField()
    booked_minutes = serializers.IntegerField()
    utilization = serializers.FloatField(allow_null=True, help_text=RATIO_HELP)
    overloaded = serializers.BooleanField(help_text="Booked for at least 90% of her capacity (or booked without any)")


class LoadOut(_PeriodOut):
    rows = LoadRowOut(many=True)


class AppointmentBehindOut(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField(help_text="The start on the branch's clock (with its offset)")
    end = serializers.DateTimeField(help_text="The end on the branch's clock (with its offset)")
    branch_id = serializers.IntegerField()
    branch = serializers.CharField()
    doctor_id = serializers.IntegerField()
    doctor = serializers.CharField()
    service_id = serializers.IntegerField()
    service = serializers.CharField()
    patient_id = serializers.IntegerField(allow_null=True)
    patient = serializers.CharField(help_text="The patient's name")
    mrn = serializers.CharField(help_text="The patient's medical record number")
    status = serializers.ChoiceField(choices=Status.choices)
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]  # a declared field
    cancelled_by = serializers.ChoiceField(
        choices=["patient", "clinic"], allow_null=True, help_text="Who cancelled (cancelled appointments only)"
    )
    late_cancellation = serializers.BooleanField(
        allow_null=True, help_text="Cancelled inside the cancellation window (cancelled appointments only)"
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        # On the branch's clock, as the appointment was booked (DRF would write the request's zone).
        data["start"] = instance.start.isoformat()
        data["end"] = instance.end.isoformat()
        return data
