"""The work lists behind the reports' questions: the patients to call back (open follow-ups), the
invoices to chase (what is owed, by age) and the package sessions still owed or just lost to expiry.

Each is the state now, read from the operational tables (not the rollups: a list is acted on, and a
patient booked a minute ago must leave it), for exactly the rows the reader may see:

* **call-backs** (``reporting.view_call_backs``): owners every follow-up; branch managers and
  reception the follow-ups whose branch they see (``branch_ids_visible``); a doctor the follow-ups she
  owns or of patients she saw. A follow-up has no branch of its own: its branch is that of the
  patient's last visit. Only doctors, managers and owners read its (clinical) reason; reception reads
  "Follow-up with Dr X", enough to call the patient;
* **receivables** and **packages** (``reporting.view_receivables`` / ``view_packages``): owners every
  branch, managers and billing the branches they see (``reporting.scope.money_reach``).

A filter beyond the reader's reach is refused (403 ``report_branch_not_in_reach`` /
``report_doctor_not_in_reach``), never narrowed. Each list is a queryset sorted by urgency, so a page
is one query; ``Rows`` turns the page's records into what is shown (a few more queries per page, not
per row). Counts and totals for the dashboards are one aggregate query each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, overload
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.request import Request

from config.errors import PermissionDenied, ValidationFailed
from invoicing.models import OPEN_STATUSES, Invoice, InvoiceStatus, Payment, PaymentStatus
from invoicing.selectors import AGE_BUCKETS, AgedAmounts, age_bucket, invoice_list
from packages.models import PackagePurchase, PurchaseStatus
from packages.selectors import purchase_list
from patients.models import FollowUp, Patient
from reporting.export import Column, Kind, export_format, export_response
from reporting.scope import Reach, money_reach
from scheduling.models import KEPT_STATUSES, Appointment, Status
from tenants.audit.services import access_log_response
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.rules import staff_of
from tenants.org.selectors import branch_ids_visible, chain_settings_get, staff_with_role

M = TypeVar("M", bound=Model)
R = TypeVar("R")

#: A follow-up is "due" from today to this many days ahead.
DUE_WITHIN_DAYS = 14
#: A package is "expiring" when it ends within this many days, "recently expired" when it ended at most
#: this many days ago.
EXPIRING_WITHIN_DAYS = 30
EXPIRED_WITHIN_DAYS = 30
#: How many records ``Rows`` reads at a time when every row is asked for (an export).
CHUNK = 500
#: The most rows one file holds (a longer list is narrowed first: a branch, a bucket).
EXPORT_MAX_ROWS = 50_000

#: The patient came: a visit (what the branch of a follow-up and "patients she saw" are read from).
VISITED = (Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED)
UPCOMING = (Status.BOOKED, Status.CONFIRMED)
#: Who reads a follow-up's reason (clinical); the others read who the follow-up is with.
REASON_READERS = {Role.OWNER, Role.BRANCH_MANAGER, Role.DOCTOR}


def _start() -> Func:
    """An appointment's start (the lower bound of its span)."""
    return Func(F("span"), function="lower", output_field=DateTimeField())


def _chain_zone() -> ZoneInfo:
    return ZoneInfo(chain_settings_get().default_timezone)


class Rows(Generic[M, R]):
    """A list sorted in the database, read a slice at a time: ``rows[a:b]`` finds the slice's ids
    (the filter and the sort alone: no join, and what is computed per row for the page only), reads
    those records and makes their rows (``make`` sees the whole slice, so it asks once for what they
    share); ``count()`` counts them. Django's paginator (and DRF's) takes it as it takes a queryset."""

    def __init__(self, queryset: QuerySet[M], make: Callable[[list[M]], list[R]]) -> None:
        self.queryset = queryset
        self.make = make

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> list[R]: ...

    def __getitem__(self, index: int | slice) -> R | list[R]:
        if isinstance(index, slice):
            return self.make(self._records(list(self.queryset.values_list("pk", flat=True)[index])))
        return self[index : index + 1][0]

    def _records(self, ids: list[int]) -> list[M]:
        found = self.queryset.order_by().in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]

    def __iter__(self) -> Iterator[R]:
        """Every row (an export), the records read in chunks."""
        chunk: list[M] = []
        for record in self.queryset.iterator(chunk_size=CHUNK):
            chunk.append(record)
            if len(chunk) == CHUNK:
                yield from self.make(chunk)
                chunk = []
        if chunk:
            yield from self.make(chunk)


# --- who reads which list ---------------------------------------------------------------------------
def call_backs_reach(*, actor: Actor) -> Reach:
    """Whose follow-ups this reader may see: owners all; managers and reception their branches'; a
    doctor her own and her patients' (``doctor_id``; her branches bound a branch filter only)."""
    authorize(actor, "reporting.view_call_backs")
    staff = staff_of(actor)
    roles = set(staff.roles) if staff is not None else set()
    if Role.OWNER in roles:
        return Reach(None)
    if roles & {Role.BRANCH_MANAGER, Role.RECEPTIONIST}:
        return Reach(branch_ids_visible(actor=actor))
    if staff is not None and Role.DOCTOR in roles:
        return Reach(branch_ids_visible(actor=actor), doctor_id=staff.pk)
    raise PermissionDenied()  # the rule and the roles say the same; a reader without a staff row has neither


def reason_shown(*, actor: Actor) -> bool:
    """Whether this reader reads a follow-up's reason (doctors, managers, owners) or only who it is with."""
    staff = staff_of(actor)
    return staff is not None and bool(set(staff.roles) & REASON_READERS)


def receivables_reach(*, actor: Actor) -> Reach:
    """The invoices to chase: owners, managers and billing (doctors read money figures of their own
    visits, never a list of who owes)."""
    authorize(actor, "reporting.view_receivables")
    return money_reach(actor=actor)


def packages_reach(*, actor: Actor) -> Reach:
    """The package sessions still owed: owners, managers and billing."""
    authorize(actor, "reporting.view_packages")
    return money_reach(actor=actor)


def _asked_branches(reach: Reach, asked: Iterable[int] | None) -> frozenset[int] | None:
    """The branches a list covers: those asked for (refused beyond reach) or every one in reach."""
    return reach.branches(None if asked is None else list(asked))


# --- patients to call back ----------------------------------------------------------------------------
class CallBackBucket(StrEnum):
    """``due``: due from today to DUE_WITHIN_DAYS ahead; ``overdue``: its day has passed;
    ``missed``: overdue, after a paid visit before its day, and nothing booked since it was made.
    Missed follow-ups are overdue ones: the ``overdue`` filter and count include them."""

    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"


@dataclass(frozen=True)
class Visit:
    """An appointment as the list names it: when (the branch's wall clock), where, what, with whom."""

    appointment_id: int
    start: datetime
    branch_id: int | None
    branch_name: str
    service_name: str
    doctor_name: str


@dataclass(frozen=True)
class CallBack:
    follow_up_id: int
    patient_id: int
    patient_name: str
    mrn: str
    phone: str
    due_date: date
    days_overdue: int
    bucket: CallBackBucket
    reason: str
    reason_shown: bool
    doctor_id: int | None
    doctor_name: str
    branch_id: int | None
    branch_name: str
    last_paid_visit: Visit | None
    next_appointment: Visit | None

    @property
    def record_id(self) -> int:
        return self.follow_up_id

    def cells(self) -> dict[str, Any]:
        return {
            "patient": self.patient_name,
            "mrn": self.mrn,
            "phone": self.phone,
            "due_date": self.due_date,
            "days_overdue": self.days_overdue,
            "bucket": BUCKET_LABELS[self.bucket],
            "reason": self.reason,
            "doctor": self.doctor_name,
            "branch": self.branch_name,
            **_visit_cells("last_paid_visit", self.last_paid_visit),
            **_visit_cells("next_appointment", self.next_appointment),
        }


@dataclass(frozen=True)
class CallBackCounts:
    due: int
    overdue: int  # missed ones included
    missed: int

    def as_dict(self) -> dict[str, int]:
        return {"due": self.due, "overdue": self.overdue, "missed": self.missed}


def _local_day(moment: datetime | None, zone: ZoneInfo) -> date | None:
    """The day of a moment on a branch's calendar."""
    return moment.astimezone(zone).date() if moment is not None else None


def _today(now: datetime) -> date:
    return now.astimezone(_chain_zone()).date()


def _missed(today: date, zone: ZoneInfo) -> Q:
    """A follow-up missed after a paid visit: overdue, its patient had a paid visit (a completed
    appointment whose invoice is paid) on a day before its due date, and nothing was kept on the
    calendar for the patient (booked, came or missed; not cancelled) made or taking place from the
    follow-up's creation on."""
    paid_before_due = (
        Appointment.objects.filter(
            patient_id=OuterRef("patient_id"), status=Status.COMPLETED, invoice__status=InvoiceStatus.PAID
        )
        .annotate(day=TruncDate(_start(), tzinfo=zone))  # the visit's day on the chain's calendar
        .filter(day__lt=OuterRef("due_date"))
    )
    kept_since = Appointment.objects.filter(patient_id=OuterRef("patient_id"), status__in=KEPT_STATUSES).filter(
        Q(created_at__gte=OuterRef("created_at")) | Q(span__startswith__gte=OuterRef("created_at"))
    )
    return Q(due_date__lt=today) & Exists(paid_before_due) & ~Exists(kept_since)


def _call_back_queryset(
    *,
    actor: Actor,
    now: datetime,
    branch_ids: Iterable[int] | None,
    doctor_ids: Iterable[int] | None,
) -> QuerySet[FollowUp]:
    """Open follow-ups due by DUE_WITHIN_DAYS from today that this reader sees, each with its branch
    (``branch``: its patient's last visit's) and whether it was missed after a paid visit (``missed``)."""
    reach = call_backs_reach(actor=actor)
    zone = _chain_zone()
    today = now.astimezone(zone).date()
    patient_visits = Appointment.objects.filter(patient_id=OuterRef("patient_id"), status__in=VISITED)
    last_branch = patient_visits.annotate(begins=_start()).order_by("-begins", "-pk").values("branch_id")[:1]
    qs = (
        FollowUp.objects.filter(status=FollowUp.Status.OPEN, due_date__lte=today + timedelta(days=DUE_WITHIN_DAYS))
        .select_related("patient", "doctor__user")
        .annotate(
            branch=Subquery(last_branch, output_field=IntegerField()),
            missed=Case(
                When(_missed(today, zone), then=Value(True)), default=Value(False), output_field=BooleanField()
            ),
        )
    )
    if reach.doctor_id is not None:
        seen = Appointment.objects.filter(doctor_id=reach.doctor_id, status__in=VISITED).values("patient_id")
        qs = qs.filter(Q(doctor_id=reach.doctor_id) | Q(patient_id__in=seen))
        if branch_ids is not None:
            qs = qs.filter(branch__in=_asked_branches(reach, branch_ids))
    else:
        branches = _asked_branches(reach, branch_ids)
        if branches is not None:
            qs = qs.filter(branch__in=branches)
    if doctor_ids is not None:
        asked = reach.doctors(list(doctor_ids))
        if asked is not None:
            qs = qs.filter(doctor_id__in=asked)
    return qs


def call_back_doctors(*, actor: Actor) -> QuerySet[StaffMember]:
    """The doctors a reader may narrow the call-backs to: those of the branches they see (a doctor:
    herself), by name."""
    reach = call_backs_reach(actor=actor)
    doctors = staff_with_role(Role.DOCTOR).select_related("user").order_by("user__first_name", "user__last_name", "pk")
    if reach.doctor_id is not None:
        return doctors.filter(pk=reach.doctor_id)
    if reach.branch_ids is not None:
        return doctors.filter(branches__in=reach.branch_ids).distinct()
    return doctors


def _bucket_filter(qs: QuerySet[FollowUp], bucket: CallBackBucket | None, today: date) -> QuerySet[FollowUp]:
    # "missed" by its condition, as the counts read it (the annotation says the same for each row)
    if bucket == CallBackBucket.DUE:
        return qs.filter(due_date__gte=today)
    if bucket == CallBackBucket.OVERDUE:
        return qs.filter(due_date__lt=today)
    if bucket == CallBackBucket.MISSED:
        return qs.filter(_missed(today, _chain_zone()))
    return qs


def _visits(patient_ids: set[int], *, statuses: Sequence[str], latest: bool, **where: object) -> dict[int, Visit]:
    """Per patient, the latest (or soonest) appointment of these statuses matching ``where``."""
    if not patient_ids:
        return {}
    order = "-begins" if latest else "begins"
    found = (
        Appointment.objects.filter(patient_id__in=patient_ids, status__in=statuses, **where)
        .annotate(begins=_start())
        .select_related("branch", "service", "doctor__user")
        .order_by("patient_id", order, "pk")
        .distinct("patient_id")
    )
    out: dict[int, Visit] = {}
    for a in found:
        if a.patient_id is None:
            continue
        zone = ZoneInfo(a.branch.timezone) if a.branch else timezone.get_current_timezone()
        out[a.patient_id] = Visit(
            appointment_id=a.pk,
            start=a.span.lower.astimezone(zone),
            branch_id=a.branch_id,
            branch_name=a.branch.name if a.branch else "",
            service_name=a.service.name if a.service else "",
            doctor_name=_doctor_name(a.doctor),
        )
    return out


def _doctor_name(staff: object | None) -> str:
    user = getattr(staff, "user", None)
    return user.get_full_name() if user is not None else ""


def _branch_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return dict(Branch.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}


def _call_back_rows(actor: Actor, now: datetime, today: date) -> Callable[[list[FollowUp]], list[CallBack]]:
    shown = reason_shown(actor=actor)
    visible = branch_ids_visible(actor=actor)
    # The visits named beside a follow-up are those of branches this reader sees.
    where: dict[str, object] = {} if visible is None else {"branch_id__in": visible}

    def make(follow_ups: list[FollowUp]) -> list[CallBack]:
        patients = {f.patient_id for f in follow_ups}
        paid = _visits(patients, statuses=[Status.COMPLETED], latest=True, invoice__status=InvoiceStatus.PAID, **where)
        upcoming = _visits(patients, statuses=UPCOMING, latest=False, span__startswith__gte=now, **where)
        names = _branch_names(getattr(f, "branch", None) for f in follow_ups)
        rows = []
        for f in follow_ups:
            patient: Patient = f.patient
            doctor = _doctor_name(f.doctor)
            overdue = max((today - f.due_date).days, 0)
            missed: bool = getattr(f, "missed", False)
            bucket = CallBackBucket.MISSED if missed else CallBackBucket.OVERDUE if overdue else CallBackBucket.DUE
            branch: int | None = getattr(f, "branch", None)
            rows.append(
                CallBack(
                    follow_up_id=f.pk,
                    patient_id=patient.pk,
                    patient_name=f"{patient.first_name} {patient.last_name}".strip(),
                    mrn=patient.mrn,
                    phone=patient.phone,
                    due_date=f.due_date,
                    days_overdue=overdue,
                    bucket=bucket,
                    reason=f.reason if shown else (f"Follow-up with {doctor}" if doctor else "Follow-up"),
                    reason_shown=shown,
                    doctor_id=f.doctor_id,
                    doctor_name=doctor,
                    branch_id=branch,
                    branch_name=names.get(branch, "") if branch is not None else "",
                    last_paid_visit=paid.get(patient.pk),
                    next_appointment=upcoming.get(patient.pk),
                )
            )
        return rows

    return make


def call_back_list(
    *,
    actor: Actor,
    branch_ids: Iterable[int] | None = None,
    doctor_ids: Iterable[int] | None = None,
    bucket: CallBackBucket | None = None,
    now: datetime | None = None,
) -> Rows[FollowUp, CallBack]:
    """The patients to call back: open follow-ups due within DUE_WITHIN_DAYS or overdue (``bucket``
    narrows to one kind), the longest overdue first. ``doctor_ids`` narrows to the follow-ups with
    those doctors."""
    now = now or timezone.now()
    today = _today(now)
    qs = _call_back_queryset(actor=actor, now=now, branch_ids=branch_ids, doctor_ids=doctor_ids)
    qs = _bucket_filter(qs, bucket, today).order_by("due_date", "pk")
    return Rows(qs, _call_back_rows(actor, now, today))


def call_back_counts(
    *, actor: Actor, branch_ids: Iterable[int] | None = None, now: datetime | None = None
) -> CallBackCounts:
    """How many follow-ups are due, overdue (missed ones included) and missed after a paid visit."""
    now = now or timezone.now()
    today = _today(now)
    qs = _call_back_queryset(actor=actor, now=now, branch_ids=branch_ids, doctor_ids=None)
    got = qs.aggregate(
        due=Count("pk", filter=Q(due_date__gte=today)), overdue=Count("pk", filter=Q(due_date__lt=today))
    )
    # Missed ones by their condition in the WHERE clause, where the database joins the visits to the
    # follow-ups once (a semi- and an anti-join) instead of asking per follow-up.
    missed = qs.filter(_missed(today, _chain_zone())).values("pk").count()
    return CallBackCounts(due=got["due"], overdue=got["overdue"], missed=missed)


# --- invoices to chase -------------------------------------------------------------------------------
AGE_BUCKET_NAMES = tuple(name for name, _, _ in AGE_BUCKETS)


def age_bucket_filter(name: str, now: datetime) -> Q:
    """The due dates of one of invoicing.selectors.AGE_BUCKETS read at ``now``, as a filter: the same
    edges as ``age_bucket`` (whole days past due; "current": no due date, or still ahead)."""
    for bucket, first, last in AGE_BUCKETS:
        if bucket != name:
            continue
        if first < 0:
            return Q(due_at__isnull=True) | Q(due_at__gt=now)
        q = Q(due_at__lte=now - timedelta(days=first))
        return q if last is None else q & Q(due_at__gt=now - timedelta(days=last + 1))
    raise ValueError(f"unknown age bucket {name!r}")


@dataclass(frozen=True)
class InvoiceToChase:
    invoice_id: int
    number: str
    patient_id: int
    patient_name: str
    mrn: str
    phone: str
    branch_id: int
    branch_name: str
    issued_at: datetime | None
    due_at: datetime | None
    currency: str
    total_minor: int
    owed_minor: int
    bucket: str
    days_past_due: int
    last_payment_at: datetime | None
    # the days of those moments on the branch's calendar
    issued_on: date | None
    due_on: date | None
    last_payment_on: date | None

    @property
    def record_id(self) -> int:
        return self.invoice_id

    def cells(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "patient": self.patient_name,
            "mrn": self.mrn,
            "phone": self.phone,
            "branch": self.branch_name,
            "issued_at": self.issued_on,
            "due_at": self.due_on,
            "currency": self.currency,
            "total_minor": self.total_minor,
            "owed_minor": self.owed_minor,
            "bucket": BUCKET_LABELS[self.bucket],
            "days_past_due": self.days_past_due,
            "last_payment_at": self.last_payment_on,
        }


@dataclass(frozen=True)
class BranchAging(AgedAmounts):
    """What is owed at one branch in one currency, by age (minor units), and on how many invoices."""

    branch_id: int
    branch_name: str
    currency: str
    invoices: int
    buckets: dict[str, int] = field(default_factory=dict)


def _receivable_queryset(
    *, actor: Actor, branch_ids: Iterable[int] | None, doctor_ids: Iterable[int] | None
) -> QuerySet[Invoice]:
    reach = receivables_reach(actor=actor)
    branches = _asked_branches(reach, branch_ids)
    qs = (
        invoice_list(actor=actor)
        .filter(status__in=OPEN_STATUSES)
        .annotate(owed=F("total_minor") - F("credited_minor") - F("paid_minor"))
        .filter(owed__gt=0)
    )
    if branches is not None:
        qs = qs.filter(branch_id__in=branches)
    if doctor_ids is not None:
        qs = qs.filter(appointment__doctor_id__in=list(doctor_ids))
    return qs


def receivable_list(
    *,
    actor: Actor,
    branch_ids: Iterable[int] | None = None,
    doctor_ids: Iterable[int] | None = None,
    bucket: str | None = None,
    now: datetime | None = None,
) -> Rows[Invoice, InvoiceToChase]:
    """The invoices to chase: issued or partly paid with something owed, at the branches this reader
    sees (narrowed to ``branch_ids``; ``doctor_ids``: visits with those doctors; ``bucket``: one of
    AGE_BUCKETS), the longest past due first, those not yet due last."""
    now = now or timezone.now()
    qs = _receivable_queryset(actor=actor, branch_ids=branch_ids, doctor_ids=doctor_ids)
    if bucket is not None:
        qs = qs.filter(age_bucket_filter(bucket, now))
    qs = qs.order_by(F("due_at").asc(nulls_last=True), "issued_at", "pk")

    def make(invoices: list[Invoice]) -> list[InvoiceToChase]:
        last_paid = dict(
            Payment.objects.filter(invoice_id__in=[i.pk for i in invoices], status=PaymentStatus.SUCCEEDED)
            .values("invoice_id")
            .annotate(last=Max("received_at"))
            .values_list("invoice_id", "last")
        )
        rows = []
        for i in invoices:
            owed: int = getattr(i, "owed", i.due_minor)
            zone = ZoneInfo(i.branch.timezone)
            paid_at: datetime | None = last_paid.get(i.pk)
            rows.append(
                InvoiceToChase(
                    invoice_id=i.pk,
                    number=i.number or "",
                    patient_id=i.patient_id,
                    patient_name=f"{i.patient.first_name} {i.patient.last_name}".strip(),
                    mrn=i.patient.mrn,
                    phone=i.patient.phone,
                    branch_id=i.branch_id,
                    branch_name=i.branch.name,
                    issued_at=i.issued_at,
                    due_at=i.due_at,
                    currency=i.currency,
                    total_minor=i.total_minor,
                    owed_minor=owed,
                    bucket=age_bucket(i.due_at, now),
                    days_past_due=max((now - i.due_at).days, 0) if i.due_at and i.due_at <= now else 0,
                    last_payment_at=paid_at,
                    issued_on=_local_day(i.issued_at, zone),
                    due_on=_local_day(i.due_at, zone),
                    last_payment_on=_local_day(paid_at, zone),
                )
            )
        return rows

    return Rows(qs, make)


def receivables_aging(
    *, actor: Actor, branch_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[BranchAging]:
    """What is owed per branch and currency, by age: the dashboards' aging table (one query)."""
    now = now or timezone.now()
    qs = _receivable_queryset(actor=actor, branch_ids=branch_ids, doctor_ids=None)
    sums = {f"b_{name}": Sum("owed", filter=age_bucket_filter(name, now), default=0) for name in AGE_BUCKET_NAMES}
    got = (
        qs.values("branch_id", "branch__name", "currency")
        .annotate(invoices=Count("pk"), **sums)
        .order_by("branch__name", "branch_id", "currency")
    )
    return [
        BranchAging(
            branch_id=r["branch_id"],
            branch_name=r["branch__name"],
            currency=r["currency"],
            invoices=r["invoices"],
            buckets={name: int(r[f"b_{name}"]) for name in AGE_BUCKET_NAMES},
        )
        for r in got
    ]


# --- package sessions pending and expiring -------------------------------------------------------------
class PackageBucket(StrEnum):
    """``expiring``: active, with sessions left, ending within EXPIRING_WITHIN_DAYS; ``later``: active,
    ending after that; ``expired``: ended within the last EXPIRED_WITHIN_DAYS with sessions unused."""

    EXPIRING = "expiring"
    LATER = "later"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PackagePending:
    purchase_id: int
    patient_id: int
    patient_name: str
    mrn: str
    phone: str
    branch_id: int
    branch_name: str
    product_id: int
    package_name: str
    sessions_total: int
    sessions_used: int
    sessions_reserved: int
    sessions_left: int
    sold_at: datetime
    expires_at: datetime
    days_to_expiry: int  # negative once expired
    bucket: PackageBucket
    # the days of those moments on the branch's calendar
    sold_on: date
    expires_on: date

    @property
    def days_since_end(self) -> int:
        return max(-self.days_to_expiry, 0)

    @property
    def record_id(self) -> int:
        return self.purchase_id

    def cells(self) -> dict[str, Any]:
        return {
            "patient": self.patient_name,
            "mrn": self.mrn,
            "phone": self.phone,
            "branch": self.branch_name,
            "package": self.package_name,
            "sessions_left": self.sessions_left,
            "sessions_reserved": self.sessions_reserved,
            "sessions_total": self.sessions_total,
            "sold_at": self.sold_on,
            "expires_at": self.expires_on,
            "days_to_expiry": self.days_to_expiry,
            "bucket": BUCKET_LABELS[self.bucket],
        }


@dataclass(frozen=True)
class ProductSessions:
    """Per product: purchases with sessions left and those sessions, how many of them end within
    EXPIRING_WITHIN_DAYS, and the sessions lost to expiry in the last EXPIRED_WITHIN_DAYS."""

    product_id: int
    name: str
    purchases: int
    sessions_left: int
    expiring_purchases: int
    sessions_expiring: int
    expired_purchases: int
    sessions_expired: int


def _package_windows(now: datetime) -> tuple[Q, Q, Q]:
    soon = now + timedelta(days=EXPIRING_WITHIN_DAYS)
    pending = Q(status=PurchaseStatus.ACTIVE, expires_at__gt=now)
    expiring = pending & Q(expires_at__lte=soon)
    # The hourly expiry task marks a purchase past its end; until it has, it reads as expired here too.
    expired = Q(status__in=[PurchaseStatus.ACTIVE, PurchaseStatus.EXPIRED]) & Q(
        expires_at__lte=now, expires_at__gt=now - timedelta(days=EXPIRED_WITHIN_DAYS)
    )
    return pending, expiring, expired


def _package_queryset(*, actor: Actor, branch_ids: Iterable[int] | None, now: datetime) -> QuerySet[PackagePurchase]:
    reach = packages_reach(actor=actor)
    branches = _asked_branches(reach, branch_ids)
    pending, _, expired = _package_windows(now)
    qs = (
        purchase_list(actor=actor)
        .annotate(unused=F("sessions_total") - F("used") - F("reserved"))
        .filter(Q(unused__gt=0))
        .filter(pending | expired)
    )
    return qs if branches is None else qs.filter(branch_id__in=branches)


def package_list(
    *,
    actor: Actor,
    branch_ids: Iterable[int] | None = None,
    bucket: PackageBucket | None = None,
    now: datetime | None = None,
) -> Rows[PackagePurchase, PackagePending]:
    """Purchases with sessions neither used nor booked: those expiring soon first (the soonest end
    first), then the other active ones, then those that ended recently (the latest first)."""
    now = now or timezone.now()
    pending, expiring, expired = _package_windows(now)
    qs = _package_queryset(actor=actor, branch_ids=branch_ids, now=now)
    if bucket == PackageBucket.EXPIRING:
        qs = qs.filter(expiring)
    elif bucket == PackageBucket.LATER:
        qs = qs.filter(pending & ~expiring)
    elif bucket == PackageBucket.EXPIRED:
        qs = qs.filter(expired)
    rank = Case(When(expiring, then=Value(0)), When(pending, then=Value(1)), default=Value(2))
    qs = qs.annotate(
        rank=rank,
        ending=Case(When(pending, then=F("expires_at")), output_field=DateTimeField()),
        ended=Case(When(~pending, then=F("expires_at")), output_field=DateTimeField()),
    ).order_by("rank", F("ending").asc(nulls_last=True), F("ended").desc(nulls_last=True), "pk")

    def make(purchases: list[PackagePurchase]) -> list[PackagePending]:
        rows = []
        for p in purchases:
            ahead = p.expires_at - now
            zone = ZoneInfo(p.branch.timezone)
            rank_of: int = getattr(p, "rank", 0)
            rows.append(
                PackagePending(
                    purchase_id=p.pk,
                    patient_id=p.patient_id,
                    patient_name=f"{p.patient.first_name} {p.patient.last_name}".strip(),
                    mrn=p.patient.mrn,
                    phone=p.patient.phone,
                    branch_id=p.branch_id,
                    branch_name=p.branch.name,
                    product_id=p.product_id,
                    package_name=p.name,
                    sessions_total=p.sessions_total,
                    sessions_used=p.used,
                    sessions_reserved=p.reserved,
                    sessions_left=p.left,
                    sold_at=p.sold_at,
                    expires_at=p.expires_at,
                    # whole days, rounded towards the past: ends in 3 h is 0 days, ended 3 h ago is -1
                    days_to_expiry=ahead.days,
                    bucket=(PackageBucket.EXPIRING, PackageBucket.LATER, PackageBucket.EXPIRED)[rank_of],
                    sold_on=p.sold_at.astimezone(zone).date(),
                    expires_on=p.expires_at.astimezone(zone).date(),
                )
            )
        return rows

    return Rows(qs, make)


def package_totals(
    *, actor: Actor, branch_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[ProductSessions]:
    """Per product, the sessions still owed and expiring, and those lost to expiry recently (one query)."""
    now = now or timezone.now()
    pending, expiring, expired = _package_windows(now)
    got = (
        _package_queryset(actor=actor, branch_ids=branch_ids, now=now)
        .values("product_id", "product__name")
        .annotate(
            purchases=Count("pk", filter=pending),
            sessions_left=Sum("unused", filter=pending, default=0),
            expiring_purchases=Count("pk", filter=expiring),
            sessions_expiring=Sum("unused", filter=expiring, default=0),
            expired_purchases=Count("pk", filter=expired),
            sessions_expired=Sum("unused", filter=expired, default=0),
        )
        .order_by("product__name", "product_id")
    )
    return [
        ProductSessions(
            product_id=r["product_id"],
            name=r["product__name"],
            purchases=r["purchases"],
            sessions_left=int(r["sessions_left"]),
            expiring_purchases=r["expiring_purchases"],
            sessions_expiring=int(r["sessions_expiring"]),
            expired_purchases=r["expired_purchases"],
            sessions_expired=int(r["sessions_expired"]),
        )
        for r in got
    ]


# --- as files, and what a list names in the access log ----------------------------------------------
class Listed(Protocol):
    """A row of a work list: the record it is (``record_id``, of ``Sheet.object_type``) and its
    patient, for the access log; its cells, for a file."""

    @property
    def record_id(self) -> int: ...

    @property
    def patient_id(self) -> int: ...

    def cells(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Sheet:
    """How a work list is written to a file and named in the access log."""

    name: str
    object_type: str
    columns: tuple[Column, ...]


def _visit_cells(prefix: str, visit: Visit | None) -> dict[str, Any]:
    return {
        f"{prefix}_at": visit.start if visit else None,
        f"{prefix}_branch": visit.branch_name if visit else "",
        f"{prefix}_service": visit.service_name if visit else "",
    }


CALL_BACKS = Sheet(
    "call-backs",
    "follow_up",
    (
        Column("patient", "Patient"),
        Column("mrn", "MRN"),
        Column("phone", "Phone"),
        Column("due_date", "Due", Kind.DATE),
        Column("days_overdue", "Days overdue", Kind.INT),
        Column("bucket", "List"),
        Column("reason", "Reason"),
        Column("doctor", "Doctor"),
        Column("branch", "Branch"),
        Column("last_paid_visit_at", "Last paid visit", Kind.DATETIME),
        Column("last_paid_visit_branch", "Last paid visit: branch"),
        Column("last_paid_visit_service", "Last paid visit: service"),
        Column("next_appointment_at", "Next appointment", Kind.DATETIME),
        Column("next_appointment_branch", "Next appointment: branch"),
    ),
)
RECEIVABLES = Sheet(
    "invoices-to-chase",
    "invoice",
    (
        Column("number", "Invoice"),
        Column("patient", "Patient"),
        Column("mrn", "MRN"),
        Column("phone", "Phone"),
        Column("branch", "Branch"),
        Column("issued_at", "Issued", Kind.DATE),
        Column("due_at", "Due", Kind.DATE),
        Column("currency", "Currency"),
        Column("total_minor", "Total", Kind.MONEY),
        Column("owed_minor", "Owed", Kind.MONEY),
        Column("bucket", "Age"),
        Column("days_past_due", "Days past due", Kind.INT),
        Column("last_payment_at", "Last payment", Kind.DATE),
    ),
)
PACKAGES = Sheet(
    "package-sessions",
    "package_purchase",
    (
        Column("patient", "Patient"),
        Column("mrn", "MRN"),
        Column("phone", "Phone"),
        Column("branch", "Branch"),
        Column("package", "Package"),
        Column("sessions_left", "Sessions left", Kind.INT),
        Column("sessions_reserved", "Sessions booked", Kind.INT),
        Column("sessions_total", "Sessions bought", Kind.INT),
        Column("sold_at", "Sold", Kind.DATE),
        Column("expires_at", "Ends", Kind.DATE),
        Column("days_to_expiry", "Days to end", Kind.INT),
        Column("bucket", "List"),
    ),
)
#: How each list's buckets read in a file and on the pages.
BUCKET_LABELS: dict[str, str] = {
    CallBackBucket.DUE: "Due",
    CallBackBucket.OVERDUE: "Overdue",
    CallBackBucket.MISSED: "Missed after a paid visit",
    "current": "Not yet due",
    "1_30": "1-30 days",
    "31_60": "31-60 days",
    "61_90": "61-90 days",
    "over_90": "Over 90 days",
    PackageBucket.EXPIRING: f"Ending within {EXPIRING_WITHIN_DAYS} days",
    PackageBucket.LATER: "Active",
    PackageBucket.EXPIRED: "Ended recently",
}


def log_rows(request: HttpRequest | Request, *, sheet: Sheet, rows: Sequence[Listed], action: str = "list") -> None:
    """Access-log the patients a page or an answer of a work list names (one row per record)."""
    access_log_response(
        request,
        action=action,
        object_type=sheet.object_type,
        object_ids=[r.record_id for r in rows],
        patient_ids=[r.patient_id for r in rows],
    )


def export_logged(
    request: HttpRequest | Request, *, sheet: Sheet, rows: Rows[Any, Any], fmt: str, now: datetime | None = None
) -> HttpResponse:
    """The whole list as a CSV or XLSX file (``fmt``; anything else, or a list longer than
    EXPORT_MAX_ROWS: 400 before anything is read), each patient it names in the access log as exported."""
    chosen = export_format(fmt)
    if rows.count() > EXPORT_MAX_ROWS:
        raise ValidationFailed(
            f"The list has more than {EXPORT_MAX_ROWS:,} rows: narrow it to a branch or one part of it first.",
            fields={"format": [f"At most {EXPORT_MAX_ROWS:,} rows go in one file."]},
        )
    listed: list[Listed] = list(rows)
    log_rows(request, sheet=sheet, rows=listed, action="export")
    day = (now or timezone.now()).astimezone(_chain_zone()).date()
    return export_response(
        rows=[r.cells() for r in listed], columns=sheet.columns, filename=f"{sheet.name}_{day.isoformat()}", fmt=chosen
    )
