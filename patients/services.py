from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from patients.exceptions import InvalidPatient
from patients.models import Patient
from tenants.audit.services import access_log_record
from tenants.authz import authorize
from tenants.validation import collect, normalize_phone, phone_error


def _email_error(value: str) -> str | None:
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return "Enter a valid e-mail address."
    return None


@transaction.atomic
def patient_create(
    *,
    actor: Any,
    first_name: str,
    last_name: str,
    date_of_birth: date | None = None,
    phone: str = "",
    email: str = "",
    request: Any = None,
) -> Patient:
    authorize(actor, "patients.add_patient")
    phone = normalize_phone(phone)
    email = (email or "").strip().lower()
    errors = collect(
        {
            "first_name": None if first_name.strip() else "Enter the first name.",
            "last_name": None if last_name.strip() else "Enter the last name.",
            "date_of_birth": "The date of birth is in the future."
            if date_of_birth and date_of_birth > timezone.localdate()
            else None,
            "phone": phone_error(phone),
            "email": _email_error(email),
        }
    )
    if errors:
        raise InvalidPatient(fields=errors)
    patient = Patient(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        date_of_birth=date_of_birth,
        phone=phone,
        email=email,
    )
    patient._history_user = actor  # type: ignore[attr-defined]
    patient.save()
    access_log_record(
        actor=actor,
        action="create",
        object_type="patient",
        object_ids=[patient.pk],
        patient_ids=[patient.pk],
        request=request,
    )
    return patient
