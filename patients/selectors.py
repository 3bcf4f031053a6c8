from __future__ import annotations

from django.db.models import Q, QuerySet

from patients.models import Patient


def patient_search(*, q: str = "") -> QuerySet[Patient]:
    """Patients matching a name, phone, MRN or e-mail fragment. (Fast trigram search comes with
    the patients module proper.)"""
    qs = Patient.objects.all()
    for term in q.split():
        qs = qs.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(mrn__iexact=term)
            | Q(phone__contains=term)
            | Q(email__iexact=term)
        )
    return qs
