"""Reports of the billing desk: a branch's takings of one day (the cash-up reception does at the
end of the day): payments taken by method, refunds given, and what is left, on the branch's own
wall-clock day. Branches are the ones this user sees (tenants.org.selectors)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from config.errors import NotFound
from invoicing.models import Payment, PaymentMethod, PaymentStatus, Refund, RefundStatus
from tenants.audit.services import access_log_response
from tenants.authz import Actor, authorize
from tenants.org.models import Branch
from tenants.org.selectors import branch_list


@dataclass(frozen=True)
class MethodTakings:
    """One payment method's day in one currency: what was taken and what was given back."""

    currency: str
    method: str
    label: str
    payments: int
    taken_minor: int
    refunds: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.taken_minor - self.refunded_minor


@dataclass(frozen=True)
class CurrencyTakings:
    currency: str
    taken_minor: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.taken_minor - self.refunded_minor


@dataclass(frozen=True)
class DailyTakings:
    """A branch's takings on ``day``: per method and currency, the totals per currency, each
    payment and refund (refunds still pending at Stripe are listed, not counted)."""

    branch: Branch
    branches: list[Branch]
    day: date
    by_method: list[MethodTakings]
    totals: list[CurrencyTakings]
    payments: list[Payment]
    refunds: list[Refund]
    pending_refunds: list[Refund]

    @property
    def pending_refund_count(self) -> int:
        return len(self.pending_refunds)


def _day_span(branch: Branch, day: date) -> tuple[datetime, datetime]:
    """The branch's wall-clock day as an instant range [start, end) (a DST day is 23 or 25 hours)."""
    zone = ZoneInfo(branch.timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def branch_today(branch: Branch) -> date:
    """Today on the branch's wall clock."""
    return timezone.now().astimezone(ZoneInfo(branch.timezone)).date()


def daily_takings(*, actor: Actor, branch_id: int | None = None, day: date | None = None) -> DailyTakings:
    """The takings of one branch this user sees (the first by name when none is asked for) on one
    day of its wall clock (today when none is asked for). A branch this user does not see is not found."""
    authorize(actor, "invoicing.view_takings")
    branches = [b for b in branch_list(actor=actor).order_by("name") if actor.has_perm("invoicing.view_takings", b)]
    if branch_id is None:
        if not branches:
            raise NotFound("You see no branch.")
        branch = branches[0]
    else:
        found = [b for b in branches if b.pk == branch_id]
        if not found:
            raise NotFound("No such branch.")
        branch = found[0]
    day = day or branch_today(branch)
    start, end = _day_span(branch, day)
    payments = list(
        Payment.objects.filter(
            invoice__branch=branch, status=PaymentStatus.SUCCEEDED, received_at__gte=start, received_at__lt=end
        )
        .select_related("invoice__patient", "received_by")
        .order_by("received_at", "pk")
    )
    refunds_given = (
        Refund.objects.filter(payment__invoice__branch=branch, at__gte=start, at__lt=end)
        .select_related("payment__invoice__patient", "by")
        .order_by("at", "pk")
    )
    refunds = [r for r in refunds_given if r.status == RefundStatus.SUCCEEDED]
    pending = [r for r in refunds_given if r.status == RefundStatus.PENDING]
    lines: dict[tuple[str, str], list[int]] = {}
    for p in payments:
        line = lines.setdefault((p.currency, p.method), [0, 0, 0, 0])
        line[0] += 1
        line[1] += p.amount_minor
    for r in refunds:
        line = lines.setdefault((r.payment.currency, r.payment.method), [0, 0, 0, 0])
        line[2] += 1
        line[3] += r.amount_minor
    by_method = [
        MethodTakings(currency, method, PaymentMethod(method).label, n, taken, m, refunded)
        for (currency, method), (n, taken, m, refunded) in sorted(lines.items())
    ]
    totals: dict[str, list[int]] = {}
    for row in by_method:
        total = totals.setdefault(row.currency, [0, 0])
        total[0] += row.taken_minor
        total[1] += row.refunded_minor
    return DailyTakings(
        branch=branch,
        branches=branches,
        day=day,
        by_method=by_method,
        totals=[CurrencyTakings(c, taken, refunded) for c, (taken, refunded) in sorted(totals.items())],
        payments=payments,
        refunds=refunds,
        pending_refunds=pending,
    )


def takings_access_logged(request: HttpRequest | Request, report: DailyTakings) -> None:
    """Access-log what a day's takings show: each payment and each refund (given or pending) names
    its patient; the page and the API log the same rows."""
    access_log_response(
        request,
        action="list",
        object_type="payment",
        object_ids=[p.pk for p in report.payments],
        patient_ids=[p.invoice.patient_id for p in report.payments],
    )
    refunds = [*report.refunds, *report.pending_refunds]
    access_log_response(
        request,
        action="list",
        object_type="refund",
        object_ids=[r.pk for r in refunds],
        patient_ids=[r.payment.invoice.patient_id for r in refunds],
    )
