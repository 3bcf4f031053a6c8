"""Reads of the patient record: search, duplicates, the chart, the follow-up backlog."""

from __future__ import annotations

import re
from datetime import date

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Lower
from django.utils import timezone

from patients.models import FollowUp, Patient

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MRN = re.compile(r"^P\d{3,}$", re.I)
PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")


def folded(text: str) -> Func:
    """lower(unaccent(text)), exactly as Patient.search_name is built."""
    return Lower(Func(Value(text), function="public.f_unaccent", output_field=TextField()))


def patient_search(*, q: str = "", include_merged: bool = False) -> QuerySet[Patient]:
    """Patients matching a query: an MRN, a date of birth (YYYY-MM-DD), a phone number (any
    spacing), or parts of a name (partial, accent- and case-insensitive; every word must match).
    Names use the trigram index on search_name; the others their own indexes."""
    qs = Patient.objects.all()
    if not include_merged:
        qs = qs.filter(merged_into__isnull=True)
    q = (q or "").strip()
    if not q:
        return qs.order_by("last_name", "first_name", "id")
    if MRN.match(q):
        return qs.filter(mrn__iexact=q)
    if DATE.match(q):
        try:
            return qs.filter(date_of_birth=date.fromisoformat(q))
        except ValueError:
            return qs.none()
    if PHONE.match(q) and sum(c.isdigit() for c in q) >= 6:
        digits = re.sub(r"\D", "", q)
        return qs.filter(phone__endswith=digits[-9:]) if not q.startswith("+") else qs.filter(phone="+" + digits)
    for word in q.split()[:5]:
        # Folded by the database, as the column was: one unaccent, one lower, for both sides.
        qs = qs.filter(search_name__contains=folded(word))
    return qs.order_by("last_name", "first_name", "id")


def duplicate_candidates(
    *, first_name: str, last_name: str, date_of_birth: date | None, phone: str, exclude_id: int | None = None
) -> list[Patient]:
    """Likely the same person: the same phone, or the same date of birth and a similar name."""
    condition = Q(pk__in=[])
    if phone:
        condition |= Q(phone=phone)
    if date_of_birth:
        similar = Patient.objects.annotate(
            similarity=Func(F("search_name"), folded(f"{first_name} {last_name}"), function="similarity")
        ).filter(date_of_birth=date_of_birth, similarity__gte=0.4)
        condition |= Q(pk__in=similar.values("pk"))
    qs = Patient.objects.filter(condition, merged_into__isnull=True)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("id")[:5])


def follow_up_backlog(*, doctor_id: int | None = None, overdue_only: bool = False) -> QuerySet[FollowUp]:
    qs = FollowUp.objects.filter(status=FollowUp.Status.OPEN).select_related("patient", "doctor__user")
    if doctor_id:
        qs = qs.filter(doctor_id=doctor_id)
    if overdue_only:
        qs = qs.filter(due_date__lt=timezone.localdate())
    return qs.order_by("due_date")
