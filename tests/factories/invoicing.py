"""Ledger test data: completed visits (whose invoice the completion raises), through the real services."""

from __future__ import annotations

from datetime import date

import time_machine

from invoicing.models import CreditNote, Invoice, Payment, Refund
from patients.models import Patient
from scheduling import services as sched
from tests.factories.scheduling import MONDAY, Clinic, book

PRICE = 7500


def priced(clinic: Clinic, price_minor: int = PRICE) -> Clinic:
    """The clinic's service costs ``price_minor``."""
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=price_minor)
    clinic.service.refresh_from_db()
    return clinic


def completed_visit(clinic: Clinic, *, patient: Patient | None = None, day: date = MONDAY, hour: int = 10) -> Invoice:
    """A visit booked, seen and completed on its day by the receptionist: the invoice it raised."""
    appointment = book(clinic, clinic.at(day, hour), patient=patient)
    with time_machine.travel(clinic.at(day, hour), tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            appointment = step(actor=clinic.receptionist, appointment=appointment)
    return Invoice.objects.get(appointment_id=appointment.pk)


def ledger_state(invoice: Invoice) -> tuple[object, ...]:
    """What a refused change must leave as it was: the invoice's status and sums, and how many
    payments, refunds and credit notes it has."""
    fresh = Invoice.objects.get(pk=invoice.pk)
    return (
        fresh.status,
        fresh.paid_minor,
        fresh.refunded_minor,
        fresh.credited_minor,
        Payment.objects.filter(invoice=fresh).count(),
        Refund.objects.filter(payment__invoice=fresh).count(),
        CreditNote.objects.filter(invoice=fresh).count(),
    )
