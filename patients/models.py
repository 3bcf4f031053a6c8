"""The patient. Identity only for now; the clinical record grows around it."""

from __future__ import annotations

from django.db import models
from django.db.models import Func, Value
from django.db.models.functions import Cast, Concat, LPad
from simple_history.models import HistoricalRecords


def _next_mrn() -> Concat:
    # MRNs come from a per-schema sequence: unique per chain, gap-tolerant, never reused.
    number = Cast(Func(Value("patients_mrn_seq"), function="nextval"), models.CharField())
    return Concat(Value("P"), LPad(number, 7, Value("0")), output_field=models.CharField())


class Patient(models.Model):
    mrn = models.CharField("MRN", max_length=20, unique=True, db_default=_next_mrn())
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["last_name", "first_name"]), models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
