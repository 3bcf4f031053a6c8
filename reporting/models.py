"""The read models behind the dashboards: rollup tables of daily figures, kept current from the
operational tables and never written by anything but reporting.rollups.

How they are kept current (docs/architecture.md, "Reporting"):

* every change to a row a figure depends on (an appointment or leave, a shift, the branch's hours,
  an invoice, a payment, a refund, a credit note, a message) writes a ``Dirty`` row in the same
  transaction, from a trigger on that table (migrations 0002): whatever the write path (a service,
  a webhook, a sweep, the admin), a committed change has its mark, and a rolled-back one has none;
* ``reporting.rollups.rollups_refresh`` (every few seconds on the worker) takes the marks, works out
  which cells (a branch, a doctor, a local day) they touch and computes those cells again from the
  operational tables, all under one lock per chain;
* ``rollups_rebuild`` computes a whole date range the same way: the nightly repair and the command.

A cell is always computed whole from the operational tables, never adjusted by a difference, so a
refresh run twice, or late, or after a crash, gives the same figures.

Two levels: the doctor-level rows (``DoctorDay``, ``ServiceDay``, ``MoneyDay``) are computed from the
operational tables; the branch-level rows (``BranchDay``, ``BranchServiceDay``, ``BranchMoneyDay``)
are their sums over the branch's doctors, computed again in the same transaction as any doctor-level
row of their day changes. A dashboard across branches reads a row per branch and day instead of one
per doctor (reporting.selectors picks the smallest table that answers).

Days are the branch's own calendar days (DST-correct). Rows carry plain ids, without foreign key
constraints: a rollup never blocks a change to the rows it summarises.
"""

from __future__ import annotations

from django.db import models


class Dirty(models.Model):
    """A mark left by a trigger: something changed that the figures of a cell depend on.

    ``scope`` says what (``reporting.rollups.Scope``); ``at`` is the moment the change concerns (an
    appointment's start, a payment's time), turned into the branch's local day when it is read;
    ``day_from``/``day_to`` bound a plan change (shifts, hours) that touches many days."""

    scope = models.CharField(max_length=10)
    branch_id = models.BigIntegerField(null=True)
    doctor_id = models.BigIntegerField(null=True)
    patient_id = models.BigIntegerField(null=True)
    ref_id = models.BigIntegerField(null=True)
    at = models.DateTimeField(null=True)
    day_from = models.DateField(null=True)
    day_to = models.DateField(null=True)

    def __str__(self) -> str:
        return f"{self.scope} {self.branch_id}/{self.doctor_id} {self.at or self.day_from}"


class VisitFigures(models.Model):
    """The appointment figures of one cell. ``bookings``: every appointment made for the day (kept or
    cancelled; a hold not confirmed is none); ``appointments``: those kept (booked through completed,
    and no-shows); ``booked_minutes``: their length. ``new_patients``: completed visits that were the
    patient's first in the chain; ``rebooked``: completed visits after which the patient had another
    appointment booked within 30 days of the visit; ``outcomes_reminded``/``no_shows_reminded``:
    of the visits with an outcome (completed or missed), those a reminder was sent for, and how
    many of them were missed."""

    bookings = models.IntegerField(default=0)
    appointments = models.IntegerField(default=0)
    booked_minutes = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    no_shows = models.IntegerField(default=0)
    cancelled_early_patient = models.IntegerField(default=0)
    cancelled_early_clinic = models.IntegerField(default=0)
    cancelled_late_patient = models.IntegerField(default=0)
    cancelled_late_clinic = models.IntegerField(default=0)
    source_online = models.IntegerField(default=0)
    source_walk_in = models.IntegerField(default=0)
    source_phone = models.IntegerField(default=0)
    source_waitlist = models.IntegerField(default=0)
    source_staff = models.IntegerField(default=0)
    new_patients = models.IntegerField(default=0)
    rebooked = models.IntegerField(default=0)
    outcomes_reminded = models.IntegerField(default=0)
    no_shows_reminded = models.IntegerField(default=0)

    class Meta:
        abstract = True


#: The columns of VisitFigures, in order (the SQL of reporting.rollups writes them in this order).
VISIT_FIGURES = [f.name for f in VisitFigures._meta.local_fields]


class DoctorDay(VisitFigures):
    """One doctor's day at one branch: her capacity (minutes on shift while the branch is open, less
    leave) beside the figures of her appointments there. ``leave_minutes``: shift time lost to leave."""

    day = models.DateField()
    branch_id = models.BigIntegerField()
    doctor_id = models.BigIntegerField()
    capacity_minutes = models.IntegerField(default=0)
    leave_minutes = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch_id", "day", "doctor_id"], name="doctor_day_cell")]
        indexes = [
            models.Index(fields=["day", "branch_id"], name="doctor_day_by_day"),
            models.Index(fields=["doctor_id", "day"], name="doctor_day_by_doctor"),
        ]

    def __str__(self) -> str:
        return f"doctor {self.doctor_id} at {self.branch_id} on {self.day}"


class ServiceDay(VisitFigures):
    """The figures of one doctor's appointments for one service at one branch on one day."""

    day = models.DateField()
    branch_id = models.BigIntegerField()
    doctor_id = models.BigIntegerField()
    service_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["branch_id", "day", "doctor_id", "service_id"], name="service_day_cell")
        ]
        indexes = [
            models.Index(fields=["day", "branch_id"], name="service_day_by_day"),
            models.Index(fields=["doctor_id", "day"], name="service_day_by_doctor"),
        ]

    def __str__(self) -> str:
        return f"service {self.service_id} of doctor {self.doctor_id} at {self.branch_id} on {self.day}"


class BranchDay(VisitFigures):
    """A branch's day: the sum of its ``DoctorDay`` rows."""

    day = models.DateField()
    branch_id = models.BigIntegerField()
    capacity_minutes = models.IntegerField(default=0)
    leave_minutes = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "branch_id"], name="branch_day_cell")]

    def __str__(self) -> str:
        return f"branch {self.branch_id} on {self.day}"


class BranchServiceDay(VisitFigures):
    """A branch's appointments for one service on one day: the sum of its ``ServiceDay`` rows."""

    day = models.DateField()
    branch_id = models.BigIntegerField()
    service_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "branch_id", "service_id"], name="branch_service_day_cell")
        ]

    def __str__(self) -> str:
        return f"service {self.service_id} at {self.branch_id} on {self.day}"


class MoneyFigures(models.Model):
    """Money of one cell in one currency (reporting.models.MoneyDay says what each counts)."""

    currency = models.CharField(max_length=3)
    invoices = models.IntegerField(default=0)
    invoiced_minor = models.BigIntegerField(default=0)
    credited_minor = models.BigIntegerField(default=0)
    payments = models.IntegerField(default=0)
    collected_minor = models.BigIntegerField(default=0)
    refunds = models.IntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


#: The summed columns of MoneyFigures, in order.
MONEY_FIGURES = [f.name for f in MoneyFigures._meta.local_fields if f.name != "currency"]


class MoneyDay(MoneyFigures):
    """A branch's money of one day in one currency, by the doctor and service of the visit each
    invoice is for (both null for an invoice of no visit: a package, items, a fee).
    ``invoiced``: invoices issued that day and not void; ``credited``: credit notes issued that day;
    ``collected``: payments that succeeded that day; ``refunded``: refunds that succeeded that day."""

    day = models.DateField()
    branch_id = models.BigIntegerField()
    doctor_id = models.BigIntegerField(null=True)
    service_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch_id", "day", "doctor_id", "service_id", "currency"],
                nulls_distinct=False,
                name="money_day_cell",
            )
        ]
        indexes = [
            models.Index(fields=["day", "branch_id"], name="money_day_by_day"),
            models.Index(fields=["doctor_id", "day"], name="money_day_by_doctor"),
        ]

    def __str__(self) -> str:
        return f"money of {self.branch_id} on {self.day} ({self.currency})"


class BranchMoneyDay(MoneyFigures):
    """A branch's money of one day in one currency: the sum of its ``MoneyDay`` rows."""

    day = models.DateField()
    branch_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "branch_id", "currency"], name="branch_money_day_cell")]

    def __str__(self) -> str:
        return f"money of {self.branch_id} on {self.day} ({self.currency})"


class MessageDay(models.Model):
    """The messages of a branch due on one day (branch null: the chain's own, e.g. sign-in codes),
    by channel and kind: how many were written, handed to the provider, delivered, and failed
    (failed or not delivered)."""

    day = models.DateField()
    branch_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=5)
    kind = models.CharField(max_length=20)
    messages = models.IntegerField(default=0)
    sent = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch_id", "day", "channel", "kind"], nulls_distinct=False, name="message_day_cell"
            )
        ]
        indexes = [models.Index(fields=["day", "branch_id"], name="message_day_by_day")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} of {self.branch_id} on {self.day}"
