"""Reads of the ledger: open invoices, what a patient owes, and how long it has been owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from invoicing.models import OPEN_STATUSES, Invoice
from tenants.authz import Actor
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


#: Aged receivables' buckets by days since an invoice fell due: (label, first day, last day or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0_30", 0, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("over_90", 91, None),
)


@dataclass(frozen=True)
class Receivable:
    patient_id: int
    patient_name: str
    currency: str
    buckets: dict[str, int]

    @property
    def total_minor(self) -> int:
        return sum(self.buckets.values())


def aged_receivables(*, actor: Actor, now: datetime | None = None) -> list[Receivable]:
    """What each patient owes, by how long past due (an invoice not yet due counts as 0-30 days)."""
    now = now or timezone.now()
    found: dict[tuple[int, str], Receivable] = {}
    for invoice in _owed(invoice_list(actor=actor)).order_by("patient_id", "pk"):
        due = invoice.due_at or invoice.issued_at or now
        days = max((now - due).days, 0)
        label = next(name for name, first, last in AGE_BUCKETS if days >= first and (last is None or days <= last))
        key = (invoice.patient_id, invoice.currency)
        if key not in found:
            found[key] = Receivable(
                invoice.patient_id, str(invoice.patient), invoice.currency, {name: 0 for name, _, _ in AGE_BUCKETS}
            )
        found[key].buckets[label] += invoice.owed  # type: ignore[attr-defined]
    return sorted(found.values(), key=lambda r: (-r.total_minor, r.patient_id))
