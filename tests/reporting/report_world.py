"""Two days of a chain lived through the real services, for the reports' tests (reporting.drill, the
reporting API and its permissions): bookings from every source at two branches, early and late
cancellations by patients and by the clinic, a reschedule to the next day and another doctor,
reminders sent to some patients, visits completed (a new patient's first, a returning patient's, a
visit rebooked) and missed, visits just before and just after a local midnight, the completed
visits' invoices issued and one paid. The rollups are refreshed as the worker does."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from invoicing import services as ledger
from invoicing.models import Invoice, InvoiceStatus, PaymentMethod
from notifications.dispatch import messages_dispatch_all
from reporting.period import Period
from reporting.rollups import rollups_refresh_all
from scheduling import services as sched
from scheduling.models import Appointment, Source
from tests.factories import Chain
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup, monday_ahead
from tests.notifications.sent_world import messaging, reachable

ZONE = ZoneInfo("Europe/London")
#: What the day clinic's service costs (pence), and the night clinic's.
DAY_PRICE, NIGHT_PRICE = 6000, 4500


class World:
    def __init__(self, day: date, day_clinic: Clinic, night: Clinic, visits: dict[str, Appointment]) -> None:
        self.day = day
        self.day_clinic = day_clinic
        self.night = night
        self.visits = visits

    @property
    def period(self) -> Period:
        return Period(self.day, self.day + timedelta(days=1))

    def ids(self, *names: str) -> set[int]:
        return {self.visits[n].pk for n in names}


def lived(chain: Chain) -> World:
    day = monday_ahead()
    with time_machine.travel(datetime.combine(day - timedelta(days=2), time(9), tzinfo=ZONE), tick=True):
        messaging(offsets=[24 * 60], quiet=None)
        clinic = priced(clinic_setup(chain, doctors=2), DAY_PRICE)
        night = priced(
            clinic_setup(
                chain,
                branch=chain.branches[1],
                doctors=1,
                opens=time(0),
                closes=time(23, 59),
                shift=(time(0), time(23, 59)),
            ),
            NIGHT_PRICE,
        )
        desk = clinic.receptionist
        at = clinic.at
        doc_b = clinic.doctors[1]
        returning = reachable(clinic)

        def book(name_source: Source, start: datetime, *, patient=None, doctor=None, where: Clinic = clinic):
            return sched.appointment_book(
                actor=desk if where is clinic else where.owner,
                patient=patient or reachable(where),
                doctor=doctor or where.doctors[0],
                branch=where.branch,
                service=where.service,
                start=start,
                source=name_source,
            )

        v = {
            "first_visit": book(Source.STAFF, at(day, 9), patient=returning),
            "second_visit": book(Source.STAFF, at(day + timedelta(days=1), 10), patient=returning),
            "missed_reminded": book(Source.PHONE, at(day, 10)),
            "missed_unreminded": sched.appointment_book(
                actor=desk,
                patient=clinic.patient(),  # no phone, no e-mail: no reminder is written
                doctor=doc_b,
                branch=clinic.branch,
                service=clinic.service,
                start=at(day, 11),
                source=Source.ONLINE,
            ),
            "early_by_patient": book(Source.WALK_IN, at(day, 12)),
            "early_by_clinic": book(Source.WAITLIST, at(day, 13)),
            "late_by_patient": book(Source.STAFF, at(day, 14)),
            "late_by_clinic": book(Source.PHONE, at(day, 15), doctor=doc_b),
            "moved": book(Source.STAFF, at(day, 16)),
            "booked_ahead": book(Source.ONLINE, at(day + timedelta(days=1), 9), doctor=doc_b),
            "night_in": book(Source.WALK_IN, night.at(day + timedelta(days=1), 23, 15), where=night),
            "night_out": book(Source.WALK_IN, night.at(day + timedelta(days=2), 0, 15), where=night),
            "night_before": book(Source.WALK_IN, night.at(day - timedelta(days=1), 23, 20), where=night),
            "night_first": book(Source.PHONE, night.at(day, 8), where=night),
        }
        # early cancellations (two days ahead), by the patient (on the phone) and by the clinic
        sched.appointment_cancel(actor=desk, appointment=v["early_by_patient"], patient_asked=True)
        sched.appointment_cancel(actor=desk, appointment=v["early_by_clinic"], reason="Doctor's training")
        # a move to the next day and the other doctor
        v["moved"] = sched.appointment_reschedule(
            actor=desk, appointment=v["moved"], start=at(day + timedelta(days=1), 16), doctor=doc_b
        )
    with time_machine.travel(clinic.at(day - timedelta(days=1), 20), tick=False):
        messages_dispatch_all(seconds=30)  # the day's reminders go out
        sched.appointment_cancel(actor=desk, appointment=v["late_by_patient"], patient_asked=True)
        sched.appointment_cancel(actor=desk, appointment=v["late_by_clinic"], reason="Doctor ill")
    owner = clinic.owner

    def seen(name: str) -> None:
        a = v[name]
        with time_machine.travel(a.span.lower + timedelta(minutes=5), tick=False):
            a = sched.appointment_check_in(actor=owner, appointment=a)
            a = sched.appointment_start(actor=owner, appointment=a)
            v[name] = sched.appointment_complete(actor=owner, appointment=a)

    seen("night_first")
    seen("first_visit")
    with time_machine.travel(clinic.at(day, 23, 50), tick=False):
        for name in ("missed_reminded", "missed_unreminded"):
            v[name] = sched.appointment_mark_no_show(actor=desk, appointment=v[name])
    seen("second_visit")
    with time_machine.travel(clinic.at(day + timedelta(days=1), 12), tick=False):
        # the visits' invoices are issued; the first visit's is paid at the desk
        for invoice in Invoice.objects.filter(status=InvoiceStatus.DRAFT):
            ledger.invoice_issue(actor=owner, invoice=invoice)
        paid = Invoice.objects.get(appointment_id=v["first_visit"].pk)
        ledger.payment_record(actor=owner, invoice=paid, method=PaymentMethod.CASH, amount_minor=paid.total_minor)
    rollups_refresh_all()
    for name, a in v.items():
        a.refresh_from_db()
        v[name] = a
    return World(day, clinic, night, v)
