from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from config.errors import ApplicationError
from config.fields import BIGINT_MAX, EARLIEST, LATEST, parse_date, parse_datetime, parse_int
from config.money import currency_choices
from patients.models import Patient
from patients.selectors import patient_search
from tenants.audit.services import access_log_patients, access_log_rows
from tenants.org.models import STAFF_ROLES, Branch

if TYPE_CHECKING:
    from scheduling.models import Appointment

T = TypeVar("T")
TIMEZONES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]
ROLE_CHOICES = [(r.value, r.label) for r in STAFF_ROLES]


def to_int(value: str | None) -> int | None:
    """A number typed or sent in a form or query string, or None: ids from the browser are text.
    Read as the API reads ids (config.fields.parse_int): ASCII digits only (Python's int() reads
    Arabic-Indic digits too), and no larger than an id column holds (PostgreSQL refuses the query)."""
    try:
        return parse_int(value or "", low=-BIGINT_MAX, high=BIGINT_MAX)
    except ValueError:  # InputError too
        return None


def to_date(value: str | None) -> date | None:
    """A day typed or sent in a form or query string (YYYY-MM-DD, within the years every date field
    takes: config.fields.parse_date), or None."""
    try:
        return parse_date(value or "")
    except ValueError:  # InputError too
        return None


def to_local(value: str | None, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """A date-time a page sends (ISO 8601) on ``tz``'s wall clock, or None: with its offset, the
    instant; without one, a time on that wall clock. Within the years every date of ours takes
    (config.fields.parse_datetime): year 1 at +05:00 is no instant Python can convert."""
    try:
        moment = datetime.fromisoformat(value or "")
        return parse_datetime(moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(tz)
    except ValueError:  # InputError too
        return None


class DayField(forms.DateField):
    """A date field of a page, within the years every date of ours takes (1900-2199): a day beyond
    them is a form error, not an overflow in the weeks counted from it."""

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None and to_date(value.isoformat()) is None:
            raise forms.ValidationError(f"Choose a day between {EARLIEST:%Y} and {LATEST:%Y}.")


def patient_lookup(request: HttpRequest, q: str, *, limit: int = 10) -> tuple[list[Patient], str]:
    """The patients a page's search box finds (access-logged as shown), and why a query cannot be
    searched ("" when it can): the one search behind the desk, the series page and the patient list."""
    if not q:
        return [], ""
    try:
        found = list(patient_search(q=q)[:limit])
    except ApplicationError as exc:
        return [], exc.message
    access_log_patients(request, action="search", patients=found)
    return found, ""


def appointment_shown(request: HttpRequest, appointment: Appointment) -> None:
    """Access-log that a page shows one appointment of a patient, as whoever asked (the desk, the
    portal, or anonymous holding a booking link); a leave row names no patient and logs nothing."""
    access_log_rows(
        actor=request.user,
        object_type="appointment",
        rows=[{"id": appointment.pk, "patient_id": appointment.patient_id}],
        request=request,
        action="view",
    )


def show_error(form: forms.Form, exc: ApplicationError, field_map: dict[str, str] | None = None) -> None:
    """Put a service's error on the form: field messages on their fields, the rest on top."""
    known = set(form.fields)
    for name, texts in exc.fields.items():
        name = (field_map or {}).get(name, name)
        for message in texts:
            form.add_error(name if name in known else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)


def refusal(exc: ApplicationError) -> str:
    """A service's error as one line for a page with no form to show it on: its field messages,
    else its message."""
    return " ".join(m for ms in exc.fields.values() for m in ms) or exc.message


def flash(request: HttpRequest, action: Callable[[], T], done: str) -> T | None:
    """Run a service for a page with no form to show errors on: the next page says `done`, or
    what the service refused."""
    try:
        result = action()
    except ApplicationError as exc:
        messages.error(request, refusal(exc))
        return None
    messages.success(request, done)
    return result


def submit(form: forms.Form, action: Callable[[], T], field_map: dict[str, str] | None = None) -> T | None:
    """Run a service for a valid form; its ApplicationError becomes form errors, not an error page."""
    try:
        return action()
    except ApplicationError as exc:
        show_error(form, exc, field_map)
        return None


class ChainSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    default_timezone = forms.ChoiceField(choices=TIMEZONES, label="Default time zone")
    currency = forms.ChoiceField(choices=currency_choices)
    locale = forms.CharField(max_length=16, help_text="Language code, e.g. en, en-gb, de, fr.")
    contact_email = forms.EmailField(required=False, label="Contact e-mail")
    contact_phone = forms.CharField(required=False, max_length=32, label="Contact phone")
    two_factor_roles = forms.MultipleChoiceField(
        choices=[c for c in ROLE_CHOICES if c[0] != "owner"],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Two-factor sign-in required for",
        help_text="Owners always sign in with a code from an authenticator app; choose who else must.",
    )


class BranchFields(TypedDict):
    """A branch as the branch services (tenants.org: branch_create, branch_update) take it."""

    name: str
    timezone_name: str
    address: str
    phone: str


class BranchForm(forms.Form):
    name = forms.CharField(max_length=120)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    timezone = forms.ChoiceField(choices=TIMEZONES, label="Time zone")
    phone = forms.CharField(required=False, max_length=32, help_text="International form, e.g. +44 20 7946 0000.")

    def branch_fields(self) -> BranchFields:
        """What the valid form says of the branch, named as the branch services take it."""
        d = self.cleaned_data
        return BranchFields(name=d["name"], timezone_name=d["timezone"], address=d["address"], phone=d["phone"])


class BranchEditForm(BranchForm):
    is_active = forms.BooleanField(required=False, label="Open (accepting appointments)")


class _BranchChoices(forms.Form):
    branches = forms.ModelMultipleChoiceField(
        queryset=Branch.objects.filter(is_active=True), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, branch_queryset: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if branch_queryset is not None:
            self.fields["branches"].queryset = branch_queryset  # type: ignore[attr-defined]


class InviteForm(_BranchChoices):
    email = forms.EmailField(label="E-mail")
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)
    field_order = ["email", "roles", "branches"]


class StaffForm(_BranchChoices):
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)
    job_title = forms.CharField(max_length=120, required=False)
    is_active = forms.BooleanField(required=False, label="Active (may sign in)")
    field_order = ["roles", "branches", "job_title", "is_active"]


class AcceptInvitationForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 10 characters.")
    password_again = forms.CharField(widget=forms.PasswordInput, label="Password again")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class ClinicForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=40, help_text="The subdomain: <slug>.your-domain.")
    owner_email = forms.EmailField(label="Owner e-mail")
    timezone = forms.ChoiceField(choices=TIMEZONES, initial="Europe/London")
    currency = forms.ChoiceField(choices=currency_choices, initial="GBP")
    locale = forms.CharField(max_length=16, initial="en")
    plan = forms.ChoiceField(choices=[], required=False)

    def __init__(self, *args: Any, plans: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [("", "—"), *plans]  # type: ignore[attr-defined]


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=300)
