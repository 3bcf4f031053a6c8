"""The work lists' pages: the patients to call back, the invoices to chase and the package sessions
still owed, each a filter form (branch, and the list's own buckets), its counts or totals, a table of
one page of the list with the action each row calls for, and "Download CSV" of the whole list.

Each reads one selector of reporting.worklists (the API's), which holds it to what the reader may see;
the patients each page or file names go in the access log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from frontend.forms import to_int
from frontend.report_views import download_links, reports_nav
from reporting import worklists as wl
from tenants.authz import Actor, authorize
from tenants.org.models import Branch
from tenants.org.selectors import branch_list

PAGE_SIZE = 50


class ListFilters(forms.Form):
    """A work list's filters: a branch the reader sees, one of the list's buckets (and a doctor)."""

    branch = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Branch")
    bucket = forms.ChoiceField(required=False, label="Show")

    def __init__(
        self,
        *args: Any,
        branches: list[Branch],
        buckets: list[tuple[str, str]],
        doctors: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [("", "All my branches"), *((b.pk, b.name) for b in branches)]  # type: ignore[attr-defined]
        self.fields["bucket"].choices = buckets  # type: ignore[attr-defined]
        if doctors is not None:
            self.fields["doctor"] = forms.TypedChoiceField(
                required=False,
                coerce=int,
                empty_value=None,
                label="Doctor",
                choices=[("", "Every doctor"), *doctors],
            )
            self.order_fields(["branch", "doctor", "bucket"])


def _query(request: HttpRequest, *drop: str) -> str:
    query = request.GET.copy()
    for name in ("page", "format", *drop):
        query.pop(name, None)
    return query.urlencode()


def _filters(request: HttpRequest, form: ListFilters) -> dict[str, Any] | None:
    """The filters asked for, or None when the form refuses them (shown beside its fields)."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return {
        "branch_ids": None if data["branch"] is None else [data["branch"]],
        "doctor_ids": None if data.get("doctor") is None else [data["doctor"]],
        "bucket": data["bucket"] or None,
    }


def _page(
    request: HttpRequest,
    *,
    template: str,
    sheet: wl.Sheet,
    form: ListFilters,
    rows: wl.Rows[Any, Any] | None,
    context: dict[str, Any],
    per_page: Callable[[list[Any]], dict[str, Any]] | None = None,
) -> HttpResponse:
    """One page of the list (or, with ?format=csv|xlsx, all of it as a file), its patients logged."""
    nav = reports_nav(request)
    if rows is None:
        return render(request, template, {**context, "form": form, "invalid": True, "reports_nav": nav}, status=400)
    fmt = request.GET.get("format")
    if fmt:
        return wl.export_logged(request, sheet=sheet, rows=rows, fmt=fmt)
    page = Paginator(rows, PAGE_SIZE).get_page(to_int(request.GET.get("page")) or 1)
    shown = list(page.object_list)
    wl.log_rows(request, sheet=sheet, rows=shown)
    if per_page is not None:
        context = {**context, **per_page(shown)}
    query = _query(request)
    return render(
        request,
        template,
        {
            **context,
            "form": form,
            "page": page,
            "rows": shown,
            "page_query": query,
            **download_links("", query),
            "reports_nav": nav,
        },
    )


def _buckets(values: list[str]) -> list[tuple[str, str]]:
    return [(v, wl.BUCKET_LABELS[v]) for v in values]


def _branches(actor: Actor) -> list[Branch]:
    return list(branch_list(actor=actor).order_by("name"))


@require_safe
@login_required
def call_backs(request: HttpRequest) -> HttpResponse:
    """Patients to call back: follow-ups due within two weeks or overdue, the longest overdue first,
    each with the chart and a booking for the patient."""
    authorize(request.user, "reporting.view_call_backs")
    branches = _branches(request.user)
    doctors = [(d.pk, d.user.get_full_name()) for d in wl.call_back_doctors(actor=request.user)]
    form = ListFilters(
        request.GET,
        branches=branches,
        buckets=[("", "Due and overdue"), *_buckets([b.value for b in wl.CallBackBucket])],
        doctors=doctors or None,  # a doctor too: hers only, or every follow-up she sees
    )
    filters = _filters(request, form)
    rows = None
    counts = None
    if filters is not None:
        rows = wl.call_back_list(
            actor=request.user,
            branch_ids=filters["branch_ids"],
            doctor_ids=filters["doctor_ids"],
            bucket=wl.CallBackBucket(filters["bucket"]) if filters["bucket"] else None,
        )
        counts = wl.call_back_counts(actor=request.user, branch_ids=filters["branch_ids"])
    bookable = [b.pk for b in branches if request.user.has_perm("scheduling.book", b)]

    def book_links(shown: list[wl.CallBack]) -> dict[str, Any]:
        return {"entries": [(r, _book_link(r, bookable)) for r in shown]}

    bucket: str = (filters or {}).get("bucket") or ""
    context = {
        "counts": counts,
        "bucket": bucket,
        "bucket_label": wl.BUCKET_LABELS.get(bucket, ""),
        "count_query": _query(request, "bucket"),
        "due_days": wl.DUE_WITHIN_DAYS,
    }
    return _page(
        request,
        template="reports/worklists/call_backs.html",
        sheet=wl.CALL_BACKS,
        form=form,
        rows=rows,
        context=context,
        per_page=book_links,
    )


def _book_link(row: wl.CallBack, bookable: list[int]) -> str | None:
    """The desk's booking page for the patient: at the follow-up's branch with its doctor when this
    reader books there, else at the first branch they book at; None for readers who do not book."""
    if row.branch_id in bookable:
        doctor = f"&doctor={row.doctor_id}" if row.doctor_id else ""
        return f"{reverse('desk-book', args=[row.branch_id])}?patient={row.patient_id}{doctor}"
    if bookable:
        return f"{reverse('desk-book', args=[bookable[0]])}?patient={row.patient_id}"
    return None


@require_safe
@login_required
def receivables(request: HttpRequest) -> HttpResponse:
    """Invoices to chase: what is owed on open invoices, the longest past due first, with the aging
    per branch and currency."""
    authorize(request.user, "reporting.view_receivables")
    branches = _branches(request.user)
    form = ListFilters(
        request.GET,
        branches=branches,
        buckets=[("", "Every open invoice"), *_buckets(list(wl.AGE_BUCKET_NAMES))],
    )
    filters = _filters(request, form)
    rows = None
    aging: list[wl.BranchAging] = []
    if filters is not None:
        rows = wl.receivable_list(actor=request.user, branch_ids=filters["branch_ids"], bucket=filters["bucket"])
        aging = wl.receivables_aging(actor=request.user, branch_ids=filters["branch_ids"])
    context = {
        "aging": aging,
        "labels": wl.BUCKET_LABELS,
        "may_open": request.user.has_perm("invoicing.view_invoice"),
    }
    return _page(
        request,
        template="reports/worklists/receivables.html",
        sheet=wl.RECEIVABLES,
        form=form,
        rows=rows,
        context=context,
    )


@require_safe
@login_required
def packages(request: HttpRequest) -> HttpResponse:
    """Package sessions still owed: active purchases with sessions neither used nor booked (those ending
    within 30 days first) and purchases that ended recently with sessions unused, with totals per package."""
    authorize(request.user, "reporting.view_packages")
    branches = _branches(request.user)
    form = ListFilters(
        request.GET,
        branches=branches,
        buckets=[("", "Active and ended recently"), *_buckets([b.value for b in wl.PackageBucket])],
    )
    filters = _filters(request, form)
    rows = None
    totals: list[wl.ProductSessions] = []
    if filters is not None:
        bucket = wl.PackageBucket(filters["bucket"]) if filters["bucket"] else None
        rows = wl.package_list(actor=request.user, branch_ids=filters["branch_ids"], bucket=bucket)
        totals = wl.package_totals(actor=request.user, branch_ids=filters["branch_ids"])
    context = {
        "totals": totals,
        "labels": wl.BUCKET_LABELS,
        "expiring_days": wl.EXPIRING_WITHIN_DAYS,
        "expired_days": wl.EXPIRED_WITHIN_DAYS,
        "may_open": request.user.has_perm("packages.view_purchase"),
    }
    return _page(
        request, template="reports/worklists/packages.html", sheet=wl.PACKAGES, form=form, rows=rows, context=context
    )
