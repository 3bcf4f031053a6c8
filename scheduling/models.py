"""The calendar of a clinic chain: what is offered, when people work, and who is booked when.

Appointments and doctors' leave are rows of one table, ``CalendarEntry``, so that one set of
PostgreSQL exclusion constraints decides every conflict atomically, whatever the concurrency:

* a doctor's active entries never overlap (their ``busy`` span includes the service's buffers, and
  leave is an entry like any other, so a leave and a booking racing each other cannot both win);
* a patient is never in two active appointments at once (``span``: the patient's own time);
* a room is never double-booked (``busy``: buffers included, the room is cleaned too).

``Appointment`` and ``Leave`` are proxies over that table with their own managers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from patients.models import Patient
from tenants.org.models import Branch, StaffMember


class SchedulingPolicy(models.Model):
    """The chain's booking rules. One row per schema (id = 1), created on first use."""

    cancellation_window_hours = models.PositiveIntegerField(default=24)
    online_min_notice_minutes = models.PositiveIntegerField(default=120)
    online_horizon_days = models.PositiveIntegerField(default=60)
    online_slot_step_minutes = models.PositiveIntegerField(default=15)
    hold_minutes = models.PositiveIntegerField(default=10)
    # No-shows (scheduling/no_shows.py): a booked or confirmed appointment nobody checked in this many
    # minutes after its start is marked a no-show by the system (when ``no_show_auto``); a patient
    # with ``no_show_flag_after`` no-shows (0: never) in the last ``no_show_flag_months`` is flagged.
    no_show_auto = models.BooleanField(default=True)
    no_show_grace_minutes = models.PositiveIntegerField(default=15)
    no_show_flag_after = models.PositiveIntegerField(default=2)
    no_show_flag_months = models.PositiveIntegerField(default=12)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "scheduling policies"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="scheduling_policy_singleton"),
            models.CheckConstraint(
                condition=Q(online_slot_step_minutes__gte=5, hold_minutes__gte=1), name="scheduling_policy_sane"
            ),
        ]

    def __str__(self) -> str:
        return "Scheduling policy"


class Service(models.Model):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField()
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=0)
    price_minor = models.PositiveIntegerField(default=0, help_text="Price reference in minor units.")
    requires_room = models.BooleanField(default=False)
    bookable_online = models.BooleanField(default=True)
    # Staff may lengthen or shorten a visit of this service on the book, in 5-minute steps from 5 minutes
    # to 12 hours (scheduling.services.resize); otherwise a visit lasts as the service does.
    length_adjustable = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="service_name_ci_unique"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=720), name="service_duration_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DoctorService(models.Model):
    """A doctor offers a service at a branch."""

    doctor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="offerings")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="offerings")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="offerings")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["doctor", "service", "branch"], name="offering_unique")]

    def __str__(self) -> str:
        return f"{self.doctor} offers {self.service} at {self.branch}"


class ServicePrice(models.Model):
    """What a service costs at one branch where it differs from the service's own price
    (``Service.price_minor``). Read through ``scheduling.selectors.service_price``."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="branch_prices")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="service_prices")
    price_minor = models.PositiveIntegerField(help_text="Price at this branch in minor units.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["service_id", "branch_id"]
        constraints = [models.UniqueConstraint(fields=["service", "branch"], name="service_price_per_branch_unique")]

    def __str__(self) -> str:
        return f"{self.service} at {self.branch}: {self.price_minor}"


class Room(models.Model):
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["branch_id", "name"]
        constraints = [models.UniqueConstraint("branch", Lower("name"), name="room_name_per_branch_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.branch})"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BranchHours(models.Model):
    """A weekly opening interval, wall-clock time in the branch's zone. Several per day are allowed
    (closed over lunch)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["branch_id", "weekday", "opens"]
        constraints = [models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="branch_hours_order")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class SpecialDay(models.Model):
    """A date with other hours than usual. A row without times closes the branch that day; rows with
    times replace the weekly hours of that date."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="special_days")
    date = models.DateField()
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["branch_id", "date", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens__isnull=True, closes__isnull=True)
                | Q(opens__isnull=False, closes__isnull=False, closes__gt=F("opens")),
                name="special_day_times",
            )
        ]

    def __str__(self) -> str:
        hours = f"{self.opens:%H:%M}-{self.closes:%H:%M}" if self.opens and self.closes else "closed"
        return f"{self.date} {hours}"


class ShiftPattern(models.Model):
    """A doctor works at a branch on a weekday, between two wall-clock times, from a date (until a
    date), with an optional break."""

    doctor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="shift_patterns")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="shift_patterns")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()
    break_starts = models.TimeField(null=True, blank=True)
    break_ends = models.TimeField(null=True, blank=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["doctor_id", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="shift_pattern_order"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="shift_pattern_validity",
            ),
            models.CheckConstraint(
                condition=Q(break_starts__isnull=True, break_ends__isnull=True)
                | Q(break_starts__gte=F("starts"), break_ends__gt=F("break_starts"), break_ends__lte=F("ends")),
                name="shift_pattern_break_inside",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class ExtraShift(models.Model):
    """A one-off shift on a date, on top of the weekly patterns."""

    doctor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="extra_shifts")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="extra_shifts")
    date = models.DateField()
    starts = models.TimeField()
    ends = models.TimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "starts"]
        constraints = [models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="extra_shift_order")]

    def __str__(self) -> str:
        return f"{self.doctor} {self.date} {self.starts:%H:%M}-{self.ends:%H:%M}"


class Status(models.TextChoices):
    HELD = "held", "Held"
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"
    EXPIRED = "expired", "Hold expired"


# Rows in these states occupy the calendar. A held row whose hold has run out still does until
# the next booking that touches it marks it expired (in its own transaction), so no task has to run.
ACTIVE_STATUSES = [
    Status.HELD,
    Status.BOOKED,
    Status.CONFIRMED,
    Status.CHECKED_IN,
    Status.IN_PROGRESS,
    Status.COMPLETED,
]


#: Appointments that were kept on the calendar: booked, and those that came or were missed (not
#: cancelled, not a hold). What reporting counts as appointments and booked minutes.
KEPT_STATUSES = [
    Status.BOOKED,
    Status.CONFIRMED,
    Status.CHECKED_IN,
    Status.IN_PROGRESS,
    Status.COMPLETED,
    Status.NO_SHOW,
]


class Source(models.TextChoices):
    WALK_IN = "walk_in", "Walk-in"
    PHONE = "phone", "Phone"
    ONLINE = "online", "Online"
    WAITLIST = "waitlist", "Waitlist"
    STAFF = "staff", "Staff"


class Kind(models.TextChoices):
    APPOINTMENT = "appointment", "Appointment"
    LEAVE = "leave", "Leave"


class Series(models.Model):
    """Recurring appointments booked together (e.g. weekly for 8 weeks)."""

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    every_days = models.PositiveIntegerField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.count} x every {self.every_days} days"


_calendar_history = HistoricalRecords(excluded_fields=["hold_token"])


class CalendarEntry(models.Model):
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # doctor and branch are indexed by the GiST indexes below (btree_gist handles "="); a plain btree
    # on them would only slow every booking down.
    doctor = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="calendar", db_index=False)
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="calendar", db_index=False
    )
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    # [start, end) of the visit itself (the patient's time), and the span the doctor and the room
    # are taken, buffers included. For leave both are the leave.
    span = DateTimeRangeField()
    busy = DateTimeRangeField()
    status = models.CharField(max_length=12, choices=Status.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Who put the patient with this doctor: the booker, whoever confirmed a hold for the patient, or
    # whoever moved the appointment to another doctor. A doctor who placed a patient with herself
    # cannot also certify the visit (patients.rules: no self-granted clinical access).
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # A client's Idempotency-Key is its own: scoped to the user who sent it, and bound to what was
    # asked (a digest of the booking's inputs), so the same key with another body is refused.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    idempotency_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    idempotency_digest = models.CharField(max_length=64, blank=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # The secret that lets whoever made a hold (an anonymous online visitor) confirm it.
    hold_token = models.CharField(max_length=64, blank=True)
    # A deliberate double booking: allowed past the doctor's calendar, with a permission and a reason.
    is_override = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=300, blank=True)
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    notes = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=300, blank=True)
    late_cancellation = models.BooleanField(default=False)
    # The patient cancelled, or asked staff to (AppointmentCancelled.by_patient); False is the clinic's own.
    cancelled_by_patient = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = _calendar_history

    class Meta:
        verbose_name_plural = "calendar entries"
        indexes = [
            # A branch's day; a doctor's busy time (availability, leave conflicts, the doctor's week),
            # whatever the status: the exclusion constraints' own indexes are partial.
            GistIndex(fields=["branch", "span"], name="calendar_branch_span"),
            GistIndex(fields=["doctor", "busy"], name="calendar_doctor_busy"),
            # Holds are few and short-lived: the booking that frees stale ones finds them here.
            models.Index(fields=["hold_expires_at"], condition=Q(status="held"), name="calendar_open_holds"),
            # Booked visits by start: the no-show sweep's (scheduling/no_shows.py) "started, nobody came".
            models.Index(
                Func(F("span"), function="lower", output_field=models.DateTimeField()),
                condition=Q(status__in=["booked", "confirmed"]),
                name="calendar_awaiting_start",
            ),
        ]
        constraints = [
            ExclusionConstraint(
                name="calendar_doctor_no_overlap",
                expressions=[("doctor", RangeOperators.EQUAL), ("busy", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES, is_override=False),
            ),
            ExclusionConstraint(
                name="calendar_patient_no_overlap",
                expressions=[("patient", RangeOperators.EQUAL), ("span", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES, patient__isnull=False),
            ),
            ExclusionConstraint(
                name="calendar_room_no_overlap",
                expressions=[("room", RangeOperators.EQUAL), ("busy", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES, room__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["idempotency_user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                nulls_distinct=False,
                name="calendar_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(kind=Kind.LEAVE) | Q(service__isnull=False, branch__isnull=False),
                name="calendar_appointment_has_service",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.HELD) | Q(hold_expires_at__isnull=False), name="calendar_hold_expires"
            ),
            models.CheckConstraint(
                condition=Q(is_override=False) | ~Q(override_reason=""), name="calendar_override_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} {self.span}"

    @property
    def start(self) -> Any:
        return self.span.lower

    @property
    def end(self) -> Any:
        return self.span.upper


class AppointmentManager(models.Manager["Appointment"]):
    def get_queryset(self) -> models.QuerySet[Appointment]:
        return super().get_queryset().filter(kind=Kind.APPOINTMENT)


class LeaveManager(models.Manager["Leave"]):
    def get_queryset(self) -> models.QuerySet[Leave]:
        return super().get_queryset().filter(kind=Kind.LEAVE)


class Appointment(CalendarEntry):
    objects = AppointmentManager()  # type: ignore[misc]

    class Meta:
        proxy = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = Kind.APPOINTMENT
        super().save(*args, **kwargs)


class Leave(CalendarEntry):
    objects = LeaveManager()  # type: ignore[misc]

    class Meta:
        proxy = True
        verbose_name_plural = "leave"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = Kind.LEAVE
        super().save(*args, **kwargs)


# simple-history listens for saves of CalendarEntry itself; saves through the proxies are sent
# with the proxy as sender, so they are connected here as well (audit only, not domain flow).
for _proxy in (Appointment, Leave):
    models.signals.post_save.connect(_calendar_history.post_save, sender=_proxy, weak=False)
    models.signals.post_delete.connect(_calendar_history.post_delete, sender=_proxy, weak=False)


class ManageLink(models.Model):
    """The link an online booker gets to see, move or cancel one appointment without an account.

    The token is random and only its SHA-256 is kept, in the chain's own schema: a link made at one
    chain finds nothing at another. It stops working when revoked (the appointment was cancelled,
    completed or missed) and a while after the visit (scheduling.services.links)."""

    appointment = models.ForeignKey(CalendarEntry, on_delete=models.CASCADE, related_name="manage_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"manage link of {self.appointment_id}"


# --- the waitlist (scheduling.services.waitlist) ---------------------------------------------------


class WaitlistPolicy(models.Model):
    """How the chain offers freed times to its waitlist. One row per schema (id = 1), created on first use."""

    # How long a patient has to accept an offer; the time is held for them meanwhile.
    offer_minutes = models.PositiveIntegerField(default=30)
    # To how many patients one freed time is offered at once (the first to accept gets it).
    offers_at_once = models.PositiveSmallIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "waitlist policies"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="waitlist_policy_singleton"),
            models.CheckConstraint(
                condition=Q(offer_minutes__range=(5, 1440), offers_at_once__range=(1, 5)),
                name="waitlist_policy_sane",
            ),
        ]

    def __str__(self) -> str:
        return "Waitlist policy"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed by staff"
    LEFT = "left", "Left the list"


class WaitlistEntry(models.Model):
    """A patient waiting for a time: a service at a branch, with one doctor or any, between two dates,
    within a time of day on the branch's clock (and on some weekdays, or any). Offers go to entries in
    the order they joined. ``token_hash``: the SHA-256 of the patient's own link to leave the list."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="waitlist_entries")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="waitlist_entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="waitlist_entries")
    doctor = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    date_from = models.DateField()
    date_to = models.DateField()
    time_from = models.TimeField()
    time_to = models.TimeField()
    weekdays = ArrayField(models.PositiveSmallIntegerField(choices=Weekday.choices), default=list, blank=True)
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    notes = models.CharField(max_length=300, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        CalendarEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["branch", "created_at"], condition=Q(status="waiting"), name="waitlist_waiting_by_branch"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(date_to__gte=F("date_from")), name="waitlist_dates_order"),
            models.CheckConstraint(condition=Q(time_to__gt=F("time_from")), name="waitlist_times_order"),
        ]

    def __str__(self) -> str:
        return f"waitlist {self.pk}: {self.service} at {self.branch}"

    @property
    def weekday_names(self) -> list[str]:
        return [str(Weekday(day).label) for day in self.weekdays]


class OfferStatus(models.TextChoices):
    OPEN = "open", "Waiting for an answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    TAKEN = "taken", "Taken by someone else"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WaitlistOffer(models.Model):
    """A freed time offered to one waiting patient, held for them (``hold``: the calendar's own held
    row, so nobody else books it) until ``expires_at``. Several offers may share a hold
    (``WaitlistPolicy.offers_at_once``): the first to accept gets the time. ``token_hash``: the SHA-256
    of the link in the offer's message."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    hold = models.ForeignKey(CalendarEntry, on_delete=models.PROTECT, related_name="waitlist_offers")
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        CalendarEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # When its message can reach the patient: the end of the chain's quiet hours when the offer was
    # made in them (the hold runs from then); null: at once.
    reaches_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="open"), name="waitlist_offer_open")]
        constraints = [
            # One freed time is offered to an entry once: declined or expired, it goes to the next.
            models.UniqueConstraint(fields=["entry", "hold"], name="waitlist_offer_once_per_entry"),
        ]

    def __str__(self) -> str:
        return f"offer {self.pk} of waitlist {self.entry_id}"


class WaitlistFreedTime(models.Model):
    """A booked time that freed up (a cancellation, a reschedule's previous time) and what the waitlist
    did with it: held and offered (``hold``, its offers say to whom), or offered to nobody and why
    (``reason``). ``patient``: whose appointment freed it, never offered it back."""

    appointment = models.ForeignKey(
        CalendarEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="waitlist_freed"
    )
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    hold = models.ForeignKey(
        CalendarEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="waitlist_freed_hold"
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["branch", "-created_at"], name="waitlist_freed_by_branch")]

    def __str__(self) -> str:
        return f"freed time {self.start:%Y-%m-%d %H:%M} at branch {self.branch_id}"
