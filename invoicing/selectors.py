"""Reads of the ledger: open invoices, what a patient owes, and how long it has been owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from invoicing.models import OPEN_STATUSES, Invoice, InvoiceProfile
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible


def invoice_list(*, actor: Actor) -> QuerySet[Invoice]:
    """Invoices of the branches this user sees (tenants.org.selectors), newest first."""
    qs = Invoice.objects.select_related("patient", "branch")
    visible = branch_ids_visible(actor=actor)
    return qs if visible is None else qs.filter(branch_id__in=visible)


def invoice_list_open(*, actor: Actor, branch_id: int | None = None) -> QuerySet[Invoice]:
    """Issued invoices still owed (in part), at one branch or every branch this user sees, oldest first."""
    qs = invoice_list(actor=actor).filter(status__in=OPEN_STATUSES)
    if branch_id is not None:
        qs = qs.filter(branch_id=branch_id)
    return qs.order_by("issued_at", "pk")


def _owed(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return qs.filter(status__in=OPEN_STATUSES).annotate(owed=F("total_minor") - F("credited_minor") - F("paid_minor"))


@dataclass(frozen=True)
class Balance:
    currency: str
    owed_minor: int
    open_invoices: int


def patient_balance(*, actor: Actor, patient_id: int) -> list[Balance]:
    """What a patient owes on invoices of the branches this user sees, per currency."""
    rows = (
        _owed(invoice_list(actor=actor).filter(patient_id=patient_id))
        .values("currency")
        .annotate(total=Sum("owed"), count=Sum(1))
        .order_by("currency")
    )
    return [Balance(r["currency"], int(r["total"] or 0), int(r["count"])) for r in rows]


#: Aged receivables' buckets: (label, first day past due, last day or None). "current" is not yet
#: due (no due date, or a due date still ahead); the others count whole days past the due date.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", -1, -1),
    ("1_30", 0, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("over_90", 91, None),
)


class AgedAmounts:
    """Amounts by age (``buckets``, minor units, "current" the part not yet due): their total and
    what is past due. A patient's row and the totals row read the same way."""

    buckets: dict[str, int]

    @property
    def total_minor(self) -> int:
        return sum(self.buckets.values())

    @property
    def past_due_minor(self) -> int:
        return self.total_minor - self.buckets["current"]


@dataclass(frozen=True)
class Receivable(AgedAmounts):
    """What one patient owes in one currency, by age (``buckets``, minor units)."""

    patient_id: int
    patient_name: str
    currency: str
    buckets: dict[str, int]

    @property
    def days_0_30(self) -> int:
        """Not yet due and up to 30 days past due together (the API's older field)."""
        return self.buckets["current"] + self.buckets["1_30"]


def age_bucket(due: datetime | None, now: datetime) -> str:
    """The bucket of an invoice due at ``due`` (None: no due date, current) as read at ``now``."""
    if due is None or due > now:
        return "current"
    days = (now - due).days
    return next(name for name, first, last in AGE_BUCKETS[1:] if days >= first and (last is None or days <= last))


def aged_receivables(
    *, actor: Actor, now: datetime | None = None, within: QuerySet[Invoice] | None = None
) -> list[Receivable]:
    """What each patient owes on open invoices of the branches this user sees, by how long past
    due, the largest balance first; ``within`` narrows it to the invoices a search found."""
    now = now or timezone.now()
    qs = invoice_list(actor=actor)
    if within is not None:
        qs = qs.filter(pk__in=within.values("pk"))
    found: dict[tuple[int, str], Receivable] = {}
    for invoice in _owed(qs).order_by("patient_id", "pk"):
        key = (invoice.patient_id, invoice.currency)
        if key not in found:
            found[key] = Receivable(
                invoice.patient_id, str(invoice.patient), invoice.currency, {name: 0 for name, _, _ in AGE_BUCKETS}
            )
        found[key].buckets[age_bucket(invoice.due_at, now)] += invoice.owed  # type: ignore[attr-defined]
    return sorted(found.values(), key=lambda r: (-r.total_minor, r.patient_id))


def invoice_profile_get(*, actor: Actor) -> InvoiceProfile:
    """The chain's invoice details (an unsaved empty one until owners set them); owners only."""
    authorize(actor, "org.change_settings")
    return InvoiceProfile.objects.filter(pk=1).first() or InvoiceProfile(pk=1)
