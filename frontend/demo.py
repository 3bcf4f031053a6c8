"""The demo clinic chain of `make demo`. Built through the real services; safe to run again.

Each capability adds its part here, so a newcomer sees it working at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.test.utils import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from config.errors import ApplicationError
from frontend.demo_history import HISTORY_DAYS
from patients.models import Patient
from patients.services import patient_create
from scheduling import services as sched
from scheduling.models import Appointment, Service, Status
from scheduling.selectors import Slot, slot_list_available
from tenants.accounts.models import User
from tenants.accounts.services import demo_totp_secret
from tenants.models import Clinic
from tenants.org import services as org
from tenants.org.models import Branch, Invitation, Role, StaffMember
from tenants.selectors import site_url
from tenants.services import clinic_create, clinic_spares_replenish, platform_ensure_public

if TYPE_CHECKING:
    from notifications.models import Message

DEMO_PASSWORD = "Clinicflow-demo-2026"  # noqa: S105 (printed for the demo on purpose)
OPERATOR_EMAIL = "operator@clinicflow.localhost"
SLUG = "northwind"


@dataclass(frozen=True)
class Person:
    email: str
    first: str
    last: str
    roles: tuple[str, ...]
    branches: tuple[str, ...]
    title: str


BRANCHES = [
    ("Camden", "14 Parkway\nLondon NW1 7AA", "Europe/London", "+442079460100"),
    ("Islington", "221 Upper Street\nLondon N1 1RQ", "Europe/London", "+442079460200"),
]
PEOPLE = [
    Person("manager@northwind.localhost", "Maya", "Patel", (Role.BRANCH_MANAGER,), ("Camden",), "Branch manager"),
    Person("dr.okafor@northwind.localhost", "Chidi", "Okafor", (Role.DOCTOR,), ("Camden", "Islington"), "GP"),
    Person(
        "dr.lindqvist@northwind.localhost",
        "Sara",
        "Lindqvist",
        (Role.DOCTOR,),
        ("Islington", "Camden"),
        "Physiotherapist",
    ),
    Person("reception@northwind.localhost", "Tom", "Hughes", (Role.RECEPTIONIST,), ("Camden",), "Receptionist"),
    # Billing staff work for the branches they are given, like reception (tenants.org.selectors).
    Person("billing@northwind.localhost", "Ana", "Silva", (Role.BILLING,), ("Camden", "Islington"), "Billing"),
]
OWNER = Person("owner@northwind.localhost", "Olivia", "Grant", (Role.OWNER, Role.DOCTOR), ("Camden",), "Owner, GP")


def load(out=print) -> None:  # type: ignore[no-untyped-def]
    platform_ensure_public()
    if not User.objects.filter(email=OPERATOR_EMAIL).exists():
        User.objects.create_superuser(email=OPERATOR_EMAIL, password=DEMO_PASSWORD)
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic, _ = clinic_create(
            name="Northwind Health",
            slug=SLUG,
            owner_email=OWNER.email,
            timezone="Europe/London",
            currency="GBP",
            locale="en-gb",
            plan="growth",
            owner_first_name=OWNER.first,
            owner_last_name=OWNER.last,
        )
    # The demo's own invitations are accepted on the spot: keep their e-mails out of the console.
    with (
        schema_context(clinic.schema_name),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
    ):
        _load_chain()
        manage_path = _booking_link()
        owner_secret = demo_totp_secret(user=User.objects.get(email=OWNER.email))
    made = clinic_spares_replenish()  # new chains from the console then take a second, not several
    host = f"{SLUG}.{settings.BASE_DOMAIN}"
    out(f"\n{made} spare schema(s) prepared for new chains.")
    out(f"\nDemo ready. Password for every login below: {DEMO_PASSWORD}")
    out(f"  platform operator  {site_url(settings.BASE_DOMAIN)}/accounts/login/  {OPERATOR_EMAIL}")
    out(f"  Northwind Health   {site_url(host)}/accounts/login/")
    for person in [OWNER, *PEOPLE]:
        out(f"    {', '.join(Role(r).label for r in person.roles):<22} {person.email}")
    out("                     The owner signs in with a second factor: add this key to any authenticator")
    out(f"                     app (FreeOTP, Aegis, Google Authenticator, 1Password): {owner_secret}")
    out(f"  Patient portal     {site_url(host)}/portal/sign-in/  amelia.hart@example.com")
    out("                     (no password: the sign-in code is printed by the web process in the console)")
    if manage_path:
        out(f"  Booking link       {site_url(host)}{manage_path}  (an online booking, as its patient got it)")
    out(f"  Online deposits    {site_url(host)}/settings/payments/online/ (owner): a £20.00 deposit asked online once")
    out("                     once Stripe is connected (none to reach here); the booking link shows one paid")
    out(f"  Fees               {site_url(host)}/billing/fees/ (owner or billing): a no-show fee charged to the")
    out(f"                     card on file, one declined (retry, waive); policy: {site_url(host)}/settings/fees/")
    out(f"  Packages           {site_url(host)}/settings/packages/ (owner); Isla Morgan's chart > Packages:")
    out("                     Physio 10 with 3 used and 1 booked ahead; Noah Fletcher's course expired")
    out(f"  Reconciliation     {site_url(host)}/billing/reconciliation/ (owner or billing): the run found one")
    out("                     payment at Stripe missing here (record it against the invoice offered, or resolve")
    out("                     it with a note); the payout lists the card fees and the deposit it contains.")
    out("                     No Stripe is reached in the demo: its Stripe movements are written by the loader")
    out("                     and the pages say so (Settings > Payments shows Stripe as not connected)")
    out(f"  Billing desk       {site_url(host)}/billing/ (billing, reception, owner): a month of invoices, some")
    out("                     past due, aged receivables; an invoice's page takes payments, refunds, its PDF")
    out(f"  Reminders          {site_url(host)}/messages/ (owner, manager): each booking's reminders wait, a day")
    out("                     and two hours before, on the branch's clock; the bookings' confirmations were sent")
    out("                     The worker (make demo) sends what falls due every 15 s; SMS go to its console.")
    out("                     The log also shows an SMS Twilio reported delivered and a confirmation e-mail")
    out("                     that failed for good (a typo in the address: failed at once, not retried; Send")
    out("                     again on its page sends it to the address on the chart)")
    out(f"  Replies by SMS     {site_url(host)}/messages/replies/ (owner, reception): one patient confirmed")
    out("                     with C, one cancelled with X (the desk's book shows it), one asked a question")
    out(f"  Dashboards         {site_url(host)}/reports/ (owner, manager): two years of history: the chain grows,")
    out("                     August and Christmas are quiet, Islington cancels more, Dr Chidi Okafor's patients")
    out("                     miss more visits, reminders cut no-shows; Dr Sara Lindqvist is overbooked next week")
    out(f"  API docs           {site_url(host)}/api/v1/docs/   FHIR: {site_url(host)}/fhir/R4/metadata")
    out(f"  Booking by day     {site_url(host)}/book/ : Islington, Vaccination: Thursday {FULL_DAY_NOTE[1]}")
    today = datetime.now(ZoneInfo("Europe/London")).date()
    monday = today + timedelta(days=7 - today.weekday())  # next week, inside the booked fortnight
    out(f"  Leave over bookings  as manager@northwind.localhost, {site_url(host)}/settings/leave/: Dr Chidi Okafor")
    out(f"                     from {monday:%a %d %b} 08:00 to {monday + timedelta(days=2):%a %d %b} 18:00 (Camden):")
    out("                     the appointments in the way are listed to move to Dr Olivia Grant (free on")
    out("                     those mornings), to the doctor's next free time, or to cancel, all saved at once\n")


def _load_chain() -> None:
    owner = User.objects.get(email=OWNER.email)
    if not owner.has_usable_password():
        owner.set_password(DEMO_PASSWORD)
        owner.save()
    staff = StaffMember.objects.get(user=owner)
    if set(staff.roles) != set(OWNER.roles):
        org.staff_update(actor=owner, staff=staff, roles=list(OWNER.roles), job_title=OWNER.title)
    branches = {}
    for name, address, tz, phone in BRANCHES:
        branch = Branch.objects.filter(name=name).first() or org.branch_create(
            actor=owner, name=name, timezone_name=tz, address=address, phone=phone
        )
        branches[name] = branch
    if not staff.branches.exists():  # the owner sees them all, and works at Camden
        org.staff_update(actor=owner, staff=staff, branch_ids=[branches[b].pk for b in OWNER.branches])
    for person in PEOPLE:
        if User.objects.filter(email=person.email).exists():
            continue
        _, link = org.staff_invite(
            actor=owner,
            email=person.email,
            roles=list(person.roles),
            branch_ids=[branches[b].pk for b in person.branches],
        )
        user = org.invitation_accept(
            token=link.rstrip("/").rsplit("/", 1)[-1],
            first_name=person.first,
            last_name=person.last,
            password=DEMO_PASSWORD,
        )
        org.staff_update(actor=owner, staff=user.staff, job_title=person.title)
    if not Invitation.objects.filter(email="new.doctor@northwind.localhost").exists():
        org.staff_invite(
            actor=owner, email="new.doctor@northwind.localhost", roles=[Role.DOCTOR], branch_ids=[branches["Camden"].pk]
        )
    _load_calendar(owner, branches)
    _load_records()
    _load_setup_extras()
    _load_record_extras()
    _load_full_day()
    _load_ledger()
    _load_packages()
    _load_fees()
    _load_online_deposit()
    _load_no_shows()
    _load_waitlist()
    _load_waitlist_flagged()
    _load_reconciliation()  # last: its payout holds the Stripe payments the fees and the deposit made
    _load_templates()
    _load_visit_to_remind()
    _load_reminders()  # after the clinic's own wording: the confirmations it sends read it
    _load_replies()
    _load_messages()
    _load_history()


SERVICES = [
    # name, minutes, buffer after, price (pence), needs a room, online
    ("General consultation", 20, 5, 6500, False, True),
    ("Physiotherapy session", 45, 10, 7500, True, True),
    ("Vaccination", 10, 0, 3000, False, True),
    ("Minor surgery", 60, 15, 24000, True, False),
]
# Services whose visits staff may lengthen or shorten on the book (drag the end): physio runs as long as it needs.
ADJUSTABLE = {"Physiotherapy session"}
# doctor e-mail -> [(branch, weekdays, start hour, end hour, lunch break hours or None)]
SHIFTS: dict[str, list[tuple[str, tuple[int, ...], int, int, tuple[int, int] | None]]] = {
    "dr.okafor@northwind.localhost": [("Camden", (0, 1, 2), 8, 17, (12, 13)), ("Islington", (3, 4), 9, 18, (13, 14))],
    "dr.lindqvist@northwind.localhost": [("Islington", (0, 1, 2), 9, 17, (12, 13)), ("Camden", (3, 4, 5), 8, 16, None)],
    OWNER.email: [("Camden", (3, 4), 13, 19, None)],
}
OFFERS = {
    "dr.okafor@northwind.localhost": ["General consultation", "Vaccination", "Minor surgery"],
    "dr.lindqvist@northwind.localhost": ["Physiotherapy session", "General consultation"],
    OWNER.email: ["General consultation", "Minor surgery"],
}
PATIENTS = [
    ("Amelia", "Hart", "1984-03-12"),
    ("Oliver", "Bennett", "1979-07-30"),
    ("Isla", "Morgan", "1992-11-05"),
    ("Noah", "Fletcher", "2001-01-22"),
    ("Ava", "Khan", "1967-09-14"),
    ("Leo", "Nowak", "1988-05-02"),
    ("Mia", "Okonkwo", "1995-12-19"),
    ("Arthur", "Price", "1958-02-27"),
    ("Freya", "Dubois", "2010-06-08"),
    ("George", "Ito", "1973-10-11"),
    ("Sofia", "Rossi", "1999-04-23"),
    ("Harry", "Walsh", "1981-08-16"),
]


def _load_calendar(owner: User, branches: dict[str, Branch]) -> None:
    if Service.objects.exists():
        return
    services = {
        name: sched.service_create(
            actor=owner,
            name=name,
            duration_minutes=minutes,
            buffer_after_minutes=after,
            price_minor=price,
            requires_room=room,
            bookable_online=online,
            length_adjustable=name in ADJUSTABLE,
        )
        for name, minutes, after, price, room, online in SERVICES
    }
    for branch in branches.values():
        weekly = [(d, time(8), time(19)) for d in range(5)] + [(5, time(9), time(13))]
        sched.branch_hours_replace(actor=owner, branch=branch, hours=weekly)
        for n in (1, 2):
            sched.room_create(actor=owner, branch=branch, name=f"Treatment room {n}")
    this_year = datetime.now(ZoneInfo("Europe/London")).year
    today = datetime.now(ZoneInfo("Europe/London")).date()
    christmas = date(this_year + (today > date(this_year, 12, 25)), 12, 25)  # the past is not rewritten
    for branch in branches.values():
        sched.special_day_create(actor=owner, branch=branch, day=christmas, note="Christmas Day")
    # Shifts from two years back: the chain's history (frontend/demo_history.py) and the ledger's past visits need them.
    shifts_from = today - timedelta(days=HISTORY_DAYS + 7)
    for email, rows in SHIFTS.items():
        doctor = StaffMember.objects.get(user__email=email)
        for branch_name, weekdays, h1, h2, lunch in rows:
            branch = branches[branch_name]
            sched.offering_set(
                actor=owner, doctor=doctor, branch=branch, service_ids=[services[s].pk for s in OFFERS[email]]
            )
            for weekday in weekdays:
                sched.shift_pattern_create(
                    actor=owner,
                    doctor=doctor,
                    branch=branch,
                    weekday=weekday,
                    starts=time(h1),
                    ends=time(h2),
                    valid_from=shifts_from,
                    break_starts=time(lunch[0]) if lunch else None,
                    break_ends=time(lunch[1]) if lunch else None,
                )
    patients = [
        patient_create(
            actor=owner,
            first_name=first,
            last_name=last,
            date_of_birth=date.fromisoformat(dob),
            phone=f"+4479460{i:05d}",
            email=f"{first.lower()}.{last.lower()}@example.com",
        )
        for i, (first, last, dob) in enumerate(PATIENTS)
    ]
    # A fortnight of bookings from today: about half of each day's free slots, so the calendars look
    # like a real week and availability still has room.
    tz = ZoneInfo("Europe/London")
    today = datetime.now(tz).date()
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    taken = 0
    for branch in branches.values():
        for name in ("General consultation", "Physiotherapy session"):
            slots = slot_list_available(
                service=services[name],
                branch=branch,
                date_from=today,
                date_to=today + timedelta(days=13),
                step=services[name].duration_minutes + 10,
                now=midnight,
            )
            for i, slot in enumerate(slots):
                if i % 2:
                    continue
                patient = patients[(taken * 7) % len(patients)]
                try:
                    sched.appointment_book(
                        actor=owner,
                        patient=patient,
                        doctor=StaffMember.objects.get(pk=slot.doctor_id),
                        branch=branch,
                        service=services[name],
                        start=slot.start,
                        source=["phone", "online", "walk_in", "staff"][taken % 4],
                        now=midnight,
                    )
                    taken += 1
                except ApplicationError:  # that patient is busy then: leave the slot free
                    continue
    # Today's morning has happened: those visits were seen or missed.
    now = datetime.now(tz)
    for seen, appointment in enumerate(Appointment.objects.filter(status=Status.BOOKED).order_by("span")):
        if appointment.span.upper > now:
            break
        if seen % 6 == 5:  # the book shows every status: now and then a patient did not come
            sched.appointment_mark_no_show(actor=owner, appointment=appointment)
            continue
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            appointment = step(actor=owner, appointment=appointment)
    # And the next two patients of the day have arrived early: the desk's home page shows them waiting.
    end_of_day = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    for appointment in Appointment.objects.filter(
        status=Status.BOOKED, span__startswith__gt=now, span__startswith__lt=end_of_day
    ).order_by("span")[:2]:
        sched.appointment_check_in(actor=owner, appointment=appointment)
    # Later today: some patients confirmed from their reminder, one cancelled (the book's legend, live).
    later = Appointment.objects.filter(
        status=Status.BOOKED, span__startswith__gt=now, span__startswith__lt=end_of_day
    ).order_by("span")
    for appointment in later[2:8:2]:
        sched.appointment_confirm(actor=owner, appointment=appointment)
    for appointment in later[8:9]:
        sched.appointment_cancel(actor=owner, appointment=appointment, reason="Patient is unwell")
    # Once the fortnight is booked, the owner also takes Camden's mornings early in the week, free so
    # far: a manager trying Dr Okafor's leave there can move his morning patients to her.
    for weekday in (0, 1, 2):
        sched.shift_pattern_create(
            actor=owner,
            doctor=StaffMember.objects.get(user=owner),
            branch=branches["Camden"],
            weekday=weekday,
            starts=time(8),
            ends=time(12),
            valid_from=shifts_from,
        )
    okafor = StaffMember.objects.get(user__email="dr.okafor@northwind.localhost")
    leave_day = today + timedelta(days=(7 - today.weekday()) % 7 + 14)  # a Monday after the booked fortnight
    sched.leave_create(
        actor=owner,
        doctor=okafor,
        start=datetime.combine(leave_day, time(0), tzinfo=tz),
        end=datetime.combine(leave_day + timedelta(days=2), time(0), tzinfo=tz),
        reason="Conference",
    )


def _booking_link() -> str:
    """A manage link of the next online booking, issued as the booking pages issue it. Only its hash is
    stored, so each load issues a new one to print."""
    upcoming = (
        Appointment.objects.filter(source="online", status=Status.BOOKED, span__startswith__gt=timezone.now())
        .order_by("span")
        .first()
    )
    if upcoming is None:
        return ""
    return f"/book/manage/{sched.manage_link_issue(appointment=upcoming)}/"


def _load_records() -> None:
    """Clinical history for a few patients of Dr Okafor: signed notes (one with an addendum), a
    draft, diagnoses, a prescription and follow-ups, one of them overdue."""
    from patients import services as records
    from patients.models import ClinicalNote, Patient

    if ClinicalNote.objects.exists():
        return
    okafor = User.objects.get(email="dr.okafor@northwind.localhost")
    today = datetime.now(ZoneInfo("Europe/London")).date()
    histories = [
        (
            "Hart",
            "Persistent cough",
            "Dry cough for three weeks, no fever. Chest clear.",
            "J45.9",
            "Asthma, unspecified",
        ),
        ("Bennett", "Back pain", "Lower back pain after lifting. No red flags.", "M54.5", "Low back pain"),
        ("Morgan", "Annual review", "Well. BP 128/82. Bloods requested.", "Z00.0", "General medical examination"),
    ]
    owner = User.objects.get(email=OWNER.email)
    for last_name, title, body, code, text in histories:
        patient = Patient.objects.get(last_name=last_name)
        # Dr Okafor is their GP: the owner puts her in their care team (access from real care, not
        # from booking them herself; see patients.rules).
        records.care_team_assign(actor=owner, patient=patient, doctor=okafor.staff)
        note = records.note_create(actor=okafor, patient=patient, title=title, body=body)
        records.note_sign(actor=okafor, note=note)
        records.diagnosis_add(actor=okafor, patient=patient, icd10_code=code, text=text, note=note)
        records.follow_up_create(
            actor=okafor, patient=patient, due_date=today + timedelta(days=14), reason=f"Review: {title.lower()}"
        )
    hart = Patient.objects.get(last_name="Hart")
    first = ClinicalNote.objects.get(patient=hart)
    records.addendum_add(actor=okafor, note=first, body="Peak flow 380 L/min. Started on inhaler.")
    records.prescription_add(
        actor=okafor,
        patient=hart,
        medication="Salbutamol inhaler",
        dose="100 mcg, 2 puffs",
        frequency="when needed, up to 4 times a day",
        duration_days=90,
    )
    records.note_create(actor=okafor, patient=hart, title="Telephone follow-up", body="(draft) Symptoms improving.")
    records.follow_up_create(
        actor=okafor,
        patient=Patient.objects.get(last_name="Bennett"),
        due_date=today - timedelta(days=3),
        reason="Physiotherapy referral outcome",
    )
    for patient in Patient.objects.filter(last_name__in=["Hart", "Bennett"]):
        records.consent_set(actor=okafor, patient=patient, channel="email", given=True)
        records.consent_set(actor=okafor, patient=patient, channel="sms", given=True)


def _load_record_extras() -> None:
    """The rest of the clinical record and its history: a scanned consent form (an attachment) for
    Amelia Hart, an appointment of hers moved by reception (its change history shows who moved it
    from when to when), and a second record of Oliver Bennett registered at the desk, to merge."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from patients import services as records
    from patients.models import ConsentForm, Patient

    if ConsentForm.objects.exists():
        return
    okafor = User.objects.get(email="dr.okafor@northwind.localhost")
    reception = User.objects.get(email="reception@northwind.localhost")
    today = datetime.now(ZoneInfo("Europe/London")).date()
    hart = Patient.objects.get(last_name="Hart", merged_into__isnull=True)
    scan = records.attachment_add(
        actor=okafor,
        patient=hart,
        upload=SimpleUploadedFile("consent-spirometry.pdf", b"%PDF-1.4\n% signed consent to spirometry\n"),
        title="Signed consent: spirometry",
        kind="consent_form",
    )
    records.consent_form_record(
        actor=okafor,
        patient=hart,
        kind="procedure",
        title="Consent to spirometry",
        signed_on=today - timedelta(days=2),
        attachment=scan,
    )
    # One of Hart's (or else someone's) coming appointments at Camden, where reception works.
    upcoming = Appointment.objects.filter(
        branch__name="Camden", status=Status.BOOKED, span__startswith__gt=timezone.now()
    )
    candidates = [*upcoming.filter(patient=hart).order_by("span")[:3], *upcoming.order_by("span")[:3]]
    for appointment in candidates:
        if appointment.service is None or appointment.branch is None:  # only leave rows lack them
            continue
        later = slot_list_available(
            service=appointment.service,
            branch=appointment.branch,
            date_from=appointment.span.lower.date() + timedelta(days=1),
            date_to=appointment.span.lower.date() + timedelta(days=7),
        )
        moved = False
        for slot in later[:20]:
            try:
                sched.appointment_reschedule(
                    actor=reception,
                    appointment=appointment,
                    start=slot.start,
                    doctor=StaffMember.objects.get(pk=slot.doctor_id),
                )
            except ApplicationError:  # the patient is busy then: try the next free time
                continue
            moved = True
            break
        if moved:
            break
    bennett = Patient.objects.get(last_name="Bennett", merged_into__isnull=True)
    records.patient_create(
        actor=reception,
        first_name="Olly",
        last_name="Bennett",
        date_of_birth=bennett.date_of_birth,
        phone="+447946099001",
        ignore_duplicates=True,  # registered in a hurry at the desk: the duplicate to merge
    )


def _load_setup_extras() -> None:
    """What a clinic shapes after set-up, visible at once: Physiotherapy costs more at Islington
    (a per-branch price), Camden's Treatment room 2 is out of use (its bookings stay), and Isla
    Morgan has a weekly physiotherapy series at Camden (the desk's series page cancels or moves
    the rest of it)."""
    from patients.models import Patient
    from scheduling.models import Room, ServicePrice

    if ServicePrice.objects.exists():
        return
    owner = User.objects.get(email=OWNER.email)
    reception = User.objects.get(email="reception@northwind.localhost")
    camden, islington = Branch.objects.get(name="Camden"), Branch.objects.get(name="Islington")
    physio = Service.objects.get(name="Physiotherapy session")
    sched.service_price_set(actor=owner, service=physio, branch=islington, price_minor=8500)
    sched.room_set_active(actor=owner, room=Room.objects.get(branch=camden, name="Treatment room 2"), is_active=False)
    tz = ZoneInfo("Europe/London")
    first_day = datetime.now(tz).date() + timedelta(days=15)  # after the booked fortnight
    slots = slot_list_available(
        service=physio, branch=camden, date_from=first_day, date_to=first_day + timedelta(days=6), step=60
    )
    if slots:
        sched.series_book(
            actor=reception,
            patient=Patient.objects.get(last_name="Morgan"),
            doctor=StaffMember.objects.get(pk=slots[0].doctor_id),
            branch=camden,
            service=physio,
            first_start=slots[0].start,
            count=6,
            all_or_nothing=False,  # a week the doctor is away is left out, the others booked
        )


FULL_DAY_NOTE = ("Demo: a full day", "is fully booked, the picker points to Friday")


def _load_full_day() -> None:
    """Booking by day, visible at once: Dr Okafor's next Thursday at Islington (at least two days
    ahead) is booked to the last vaccination time, so the booking page, the portal's change page
    and the desk's phone booking show that day with no free times and point to the Friday."""
    if Appointment.objects.filter(notes=FULL_DAY_NOTE[0]).exists():
        return
    owner = User.objects.get(email=OWNER.email)
    islington = Branch.objects.get(name="Islington")
    vaccination = Service.objects.get(name="Vaccination")
    today = datetime.now(ZoneInfo(islington.timezone)).date()
    thursday = today + timedelta(days=2 + (3 - (today + timedelta(days=2)).weekday()) % 7)
    # patients who take no texts: the confirmations of these bookings, sent as the demo loads, would be
    # the latest text to a texting patient's number, and the replies' demo would answer them instead
    quiet = Patient.objects.filter(sms_consent_at__isnull=True, merged_into__isnull=True).order_by("pk")
    patients = list(quiet[:30]) or list(Patient.objects.order_by("pk")[:30])
    for n in range(400):  # a day of ten-minute times, and a patient busy at one tries the next; stops when none is left
        slots = slot_list_available(
            service=vaccination, branch=islington, date_from=thursday, date_to=thursday, step=10
        )
        if not slots:
            return
        try:
            sched.appointment_book(
                actor=owner,
                patient=patients[n % len(patients)],
                doctor=StaffMember.objects.get(pk=slots[0].doctor_id),
                branch=islington,
                service=vaccination,
                start=slots[0].start,
                notes=FULL_DAY_NOTE[0],
            )
        except ApplicationError:  # that patient is busy then: the next one takes it
            continue


def _load_ledger() -> None:
    """The ledger, visible at once on the billing desk (/billing/): a month of Camden's visits seen
    and invoiced on their day (a completed visit raises its invoice), most paid at the desk in cash or
    by card terminal that day, one paid in part, one refunded in part with its reason, one credited;
    the rest still owed, those over two weeks old past due, and two older visits (six and ten weeks
    ago) still unpaid, so the aged receivables fill more than one column."""
    import time_machine  # the demo's past visits are completed, and invoiced, at their own time

    from invoicing import services as billing
    from invoicing.models import Invoice, InvoiceStatus, Payment, TaxRate

    owner = User.objects.get(email=OWNER.email)
    clerk = StaffMember.objects.get(user__email="billing@northwind.localhost")
    if not clerk.branches.exists():  # a demo loaded before billing staff were given branches
        org.staff_update(actor=owner, staff=clerk, branch_ids=list(Branch.objects.values_list("pk", flat=True)))
    if Payment.objects.exists():
        return
    desk = User.objects.get(email="reception@northwind.localhost")
    if not TaxRate.objects.exists():  # medical care is exempt from VAT: the invoices say so at 0%
        billing.tax_rate_create(actor=owner, name="VAT exempt (medical care)", rate_bp=0, is_default=True)
    camden = Branch.objects.get(name="Camden")
    consultation = Service.objects.get(name="General consultation")
    tz = ZoneInfo(camden.timezone)
    today = datetime.now(tz).date()
    patients = list(Patient.objects.filter(merged_into__isnull=True).order_by("pk")[:10])
    seen = 0
    for days_ago in (70, 42, *range(30, 0, -1)):
        day = today - timedelta(days=days_ago)
        before = datetime.combine(day, time(0), tzinfo=tz)
        slots = slot_list_available(
            service=consultation, branch=camden, date_from=day, date_to=day, step=60, now=before
        )
        for slot in slots[:2]:
            try:
                visit = sched.appointment_book(
                    actor=desk,
                    patient=patients[seen % len(patients)],
                    doctor=StaffMember.objects.get(pk=slot.doctor_id),
                    branch=camden,
                    service=consultation,
                    start=slot.start,
                    now=before,
                )
            except ApplicationError:  # that patient is busy then: leave the slot free
                continue
            visit = sched.appointment_check_in(actor=desk, appointment=visit, now=slot.start)
            with time_machine.travel(slot.start + timedelta(minutes=20), tick=False):
                for step in (sched.appointment_start, sched.appointment_complete):
                    visit = step(actor=desk, appointment=visit)
            seen += 1
    this_morning = datetime.combine(today, time(0), tzinfo=tz)
    issued = list(
        Invoice.objects.filter(
            status=InvoiceStatus.ISSUED, branch=camden, appointment__span__startswith__lt=this_morning
        ).order_by("pk")
    )
    month_ago = this_morning - timedelta(days=31)
    older = [i for i in issued if i.issued_at is not None and i.issued_at < month_ago]
    issued = [i for i in issued if i not in older]
    unpaid = issued[2::3]  # a third of the month still owed: those over two weeks old are past due
    for n, invoice in enumerate(i for i in issued if i not in unpaid):
        method = "cash" if n % 2 else "card_terminal"
        amount = invoice.total_minor // 2 if n == 3 else invoice.total_minor  # one paid in part
        billing.payment_record(
            actor=desk,
            invoice=invoice,
            method=method,
            amount_minor=amount,
            reference=f"Desk {n}",
            received_at=invoice.issued_at,
        )
    refunded = Payment.objects.filter(method="card_terminal").order_by("pk").first()
    if refunded is not None:
        billing.refund_record(
            actor=owner, payment=refunded, amount_minor=refunded.amount_minor // 3, reason="Visit cut short"
        )
    if unpaid:
        billing.credit_note_issue(
            actor=owner, invoice=unpaid[0], amount_minor=unpaid[0].total_minor // 5, reason="Loyalty discount agreed"
        )
    # a paid invoice credited in part, the money it frees given back with it (a credit note's page and PDF)
    settled = Invoice.objects.filter(status=InvoiceStatus.PAID, refunded_minor=0, payments__method="cash").first()
    if settled is not None:
        billing.credit_note_issue(
            actor=owner,
            invoice=settled,
            amount_minor=settled.total_minor // 4,
            reason="Shorter session than booked",
            refund_freed=True,
        )
    # what the invoices say about the clinic as a business
    billing.invoice_profile_update(
        actor=owner,
        registration_number="09876543",
        tax_number="GB 123 4567 89",
        billing_email=f"accounts@{OWNER.email.rsplit('@', 1)[1]}",
    )


def _load_online_deposit() -> None:
    """Online deposits, visible without Stripe: the chain asks a £20.00 deposit when booking online
    (applied once its Stripe account is connected: the demo has no Stripe to reach), and the next
    online booking's deposit is recorded as paid through Stripe, as the checkout's webhook records it,
    so its booking link shows "Deposit paid"."""
    import secrets

    from django.db import transaction

    from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
    from invoicing.checkout.policy import online_payment_policy_get, online_payment_policy_set
    from invoicing.models import Invoice, PaymentMethod
    from invoicing.services.invoices import raise_for_appointment
    from invoicing.services.payments import payment_add

    owner = User.objects.get(email=OWNER.email)
    if online_payment_policy_get().pk is None:
        # The card that pays is kept for the fees; a service asking nothing now saves a card instead.
        online_payment_policy_set(actor=owner, kind="fixed", amount_minor=2000, ask_for_card=True)
    upcoming = (
        Appointment.objects.filter(source="online", status=Status.BOOKED, span__startswith__gt=timezone.now())
        .order_by("span")
        .first()
    )
    if upcoming is None or upcoming.patient is None or Invoice.objects.filter(appointment_id=upcoming.pk).exists():
        return
    with transaction.atomic():
        invoice = raise_for_appointment(upcoming, actor=None, issue=True, prepaid_by=upcoming.patient)
        if invoice.total_minor >= 2000:
            payment = payment_add(
                invoice, actor=None, method=PaymentMethod.STRIPE, amount_minor=2000, reference="pi_demo_deposit"
            )
            # The checkout Stripe's hosted page paid (as its webhook leaves it), so the booking link says so.
            now = timezone.now()
            OnlineCheckout.objects.create(
                invoice=invoice,
                patient=upcoming.patient,
                purpose=CheckoutPurpose.BOOKING_DEPOSIT,
                description=f"Deposit for {upcoming.service.name if upcoming.service else 'your booking'}",
                amount_minor=2000,
                currency=invoice.currency,
                hold=upcoming,
                return_token=secrets.token_urlsafe(32),
                success_path="/book/paid/{token}/",
                cancel_path="/book/pay/{token}/",
                status=CheckoutStatus.PAID,
                account_id="acct_demo",
                session_id="cs_demo_deposit",
                expires_at=now,
                payment_intent_id="pi_demo_deposit",
                payment=payment,
                settled_at=now,
            )


def _load_no_shows() -> None:
    """No-shows, visible at once: George Ito missed two consultations at Camden in the last weeks
    (marked by the system's no-show sweep, as the periodic task does after the grace period), so he
    is flagged for no-shows on the book, on his next appointment's panel (later this week) and on his
    chart; the chain asks £40.00 online of patients with 2 or more no-shows (above its usual £20.00)."""
    from invoicing.checkout.policy import online_payment_policy_get, online_payment_policy_set
    from scheduling.no_shows import no_show_mark_overdue

    owner = User.objects.get(email=OWNER.email)
    desk = User.objects.get(email="reception@northwind.localhost")
    chain = online_payment_policy_get()
    if chain.no_show_deposit_after == 0:
        online_payment_policy_set(
            actor=owner,
            kind=chain.kind,
            amount_minor=chain.amount_minor,
            percent_bp=chain.percent_bp,
            ask_for_card=chain.ask_for_card,
            refund_deposit_on_timely_cancel=chain.refund_deposit_on_timely_cancel,
            no_show_deposit_after=2,
            no_show_deposit_minor=4000,
        )
    george = Patient.objects.filter(first_name="George", last_name="Ito", merged_into__isnull=True).first()
    if george is None or Appointment.objects.filter(patient=george, status=Status.NO_SHOW).exists():
        return
    camden = Branch.objects.get(name="Camden")
    consultation = Service.objects.get(name="General consultation")
    tz = ZoneInfo(camden.timezone)
    today = datetime.now(tz).date()
    # two missed visits in the last weeks, then one coming: each on the first day with a free time
    for first_day, missed in ((today - timedelta(days=40), True), (today - timedelta(days=19), True), (today, False)):
        for day in (first_day + timedelta(days=n) for n in range(1 if missed else 2, 14)):
            visit = _george_visit(george, desk=desk, branch=camden, service=consultation, day=day)
            if visit is not None:
                if missed:
                    no_show_mark_overdue(appointment_id=visit.pk, now=visit.span.lower + timedelta(minutes=30))
                break


def _george_visit(patient: Patient, *, desk: User, branch: Branch, service: Service, day: date) -> Appointment | None:
    """A consultation for ``patient`` at the first free time of ``day``'s afternoon (the mornings are
    the leave demo's), None when there is none."""
    tz = ZoneInfo(branch.timezone)
    before = datetime.combine(day, time(0), tzinfo=tz)
    slots = slot_list_available(service=service, branch=branch, date_from=day, date_to=day, step=60, now=before)
    afternoon = [slot for slot in slots if slot.start.astimezone(tz).hour >= 14]
    booked = (
        _slot_booked(slot, desk=desk, patient=patient, branch=branch, service=service, now=before) for slot in afternoon
    )
    return next((visit for visit in booked if visit is not None), None)


def _slot_booked(
    slot: Slot, *, desk: User, patient: Patient, branch: Branch, service: Service, now: datetime
) -> Appointment | None:
    """``patient`` booked by the desk at a free time ``slot`` of ``branch`` as of ``now``; None when
    the patient (or, meanwhile, the doctor) is busy then."""
    try:
        return sched.appointment_book(
            actor=desk,
            patient=patient,
            doctor=StaffMember.objects.get(pk=slot.doctor_id),
            branch=branch,
            service=service,
            start=slot.start,
            now=now,
        )
    except ApplicationError:
        return None


def _load_fees() -> None:
    """Fees, visible at once (/billing/fees/, /settings/fees/): the chain charges £25.00 for a
    no-show and half the price for a late cancellation the patient asks for; two patients with a
    card on file missed a visit last week: one fee charged, one declined (retry and waive shown).
    The demo has no Stripe to reach, so the cards and the charges' outcomes are written as Stripe's
    webhook and answers would leave them."""
    from invoicing.fees import FeeCharge, FeeRule
    from invoicing.services.cards import card_on_file_record
    from invoicing.services.fees import FeeRuleIn, fee_charge_declined, fee_charge_settled, fee_policy_update

    if FeeCharge.objects.exists():
        return
    owner = User.objects.get(email=OWNER.email)
    desk = User.objects.get(email="reception@northwind.localhost")
    fee_policy_update(
        actor=owner,
        no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500),
        late_cancellation=FeeRuleIn(FeeRule.PERCENT, percent_bp=5000),
    )
    camden = Branch.objects.get(name="Camden")
    consultation = Service.objects.get(name="General consultation")
    tz = ZoneInfo(camden.timezone)
    day = datetime.now(tz).date() - timedelta(days=6)
    before = datetime.combine(day, time(0), tzinfo=tz)
    slots = slot_list_available(service=consultation, branch=camden, date_from=day, date_to=day, step=60, now=before)
    # two real patients: not the "Olly Bennett" registered twice at the desk, the duplicate left to merge
    patients = list(
        Patient.objects.filter(merged_into__isnull=True)
        .exclude(first_name="Olly", last_name="Bennett")
        .order_by("-pk")[:2]
    )
    outcomes = []
    cards = [("visa", "4242"), ("mastercard", "0341")]
    for patient, slot, (brand, last4) in zip(patients, slots[-2:], cards, strict=False):
        card_on_file_record(
            actor=None,
            patient=patient,
            customer_id=f"cus_demo_{patient.pk}",
            payment_method_id=f"pm_demo_{patient.pk}",
            brand=brand,
            last4=last4,
            exp_month=12,
            exp_year=day.year + 3,
        )
        visit = _slot_booked(slot, desk=desk, patient=patient, branch=camden, service=consultation, now=before)
        if visit is None:  # that patient is busy then
            continue
        sched.appointment_mark_no_show(actor=desk, appointment=visit, now=slot.start + timedelta(hours=1))
        outcomes.append(FeeCharge.objects.get(appointment_id=visit.pk))
    if outcomes:
        fee_charge_settled(fee_charge_id=outcomes[0].pk, payment_intent_id=f"pi_demo_fee_{outcomes[0].pk}")
    if len(outcomes) > 1:
        fee_charge_declined(fee_charge_id=outcomes[1].pk, message="Your card was declined.")


def _load_packages() -> None:
    """Session packages in use, visible at once: two products; Isla Morgan bought "Physio 10" a month
    ago at Camden, three sessions used, one booked ahead (the desk panel says "Package: 6 of 10
    left"); Noah Fletcher's "Vaccination course" ran out last year (expired by the expiry task), and
    the "Physio 10" he paid for ten days ago was cancelled by billing with the unused sessions refunded."""
    from packages import services as pkg
    from packages.models import PackageProduct

    if PackageProduct.objects.exists():
        return
    owner = User.objects.get(email=OWNER.email)
    desk = User.objects.get(email="reception@northwind.localhost")
    camden = Branch.objects.get(name="Camden")
    physio = Service.objects.get(name="Physiotherapy session")
    vaccination = Service.objects.get(name="Vaccination")
    physio10 = pkg.product_create(
        actor=owner, name="Physio 10", services=[physio], sessions=10, price_minor=65000, validity_days=180
    )
    course = pkg.product_create(
        actor=owner, name="Vaccination course", services=[vaccination], sessions=3, price_minor=7500, validity_days=365
    )
    isla = Patient.objects.get(first_name="Isla", last_name="Morgan")
    noah = Patient.objects.get(first_name="Noah", last_name="Fletcher")
    now = timezone.now()
    from invoicing.package_ledger import GiveBack, package_cancel, sale_invoice
    from invoicing.services import payment_record

    # each sale invoiced on its own day: Isla's still owed (past due), Noah paid his course when he bought it
    pkg.package_sell(actor=desk, product=physio10, patient=isla, branch=camden, now=now - timedelta(days=30))
    expired = pkg.package_sell(actor=desk, product=course, patient=noah, branch=camden, now=now - timedelta(days=400))
    owed = sale_invoice(purchase=expired)
    if owed is not None:
        payment_record(
            actor=desk, invoice=owed, method="card_terminal", amount_minor=owed.due_minor, received_at=expired.sold_at
        )
    pkg.packages_expire(now=now)
    tz = ZoneInfo(camden.timezone)
    today = datetime.now(tz).date()
    visits = 0
    for days in [*range(-28, 0), *range(1, 15)]:
        if (days < 0 and visits >= 3) or (days > 0 and visits >= 4):
            continue
        day = today + timedelta(days=days)
        before = datetime.combine(day, time(0), tzinfo=tz) if days < 0 else now
        slots = slot_list_available(service=physio, branch=camden, date_from=day, date_to=day, step=60, now=before)
        for slot in slots[:1]:
            try:
                visit = sched.appointment_book(
                    actor=desk,
                    patient=isla,
                    doctor=StaffMember.objects.get(pk=slot.doctor_id),
                    branch=camden,
                    service=physio,
                    start=slot.start,
                    now=before,
                )
            except ApplicationError:  # the time is taken for her: the next day
                continue
            if days < 0:  # seen and completed: the session is used, the visit invoiced at zero
                visit = sched.appointment_check_in(actor=desk, appointment=visit, now=slot.start)
                for step in (sched.appointment_start, sched.appointment_complete):
                    visit = step(actor=desk, appointment=visit)
            visits += 1
    # Noah also bought "Physio 10" ten days ago, paid it in cash, and moved away: billing cancelled it
    # giving back the ten unused sessions (a refund; his packages page reads "Cancelled" with the reason).
    clerk = User.objects.get(email="billing@northwind.localhost")
    moved = pkg.package_sell(actor=desk, product=physio10, patient=noah, branch=camden, now=now - timedelta(days=10))
    paid = sale_invoice(purchase=moved)
    if paid is not None:
        payment_record(actor=desk, invoice=paid, method="cash", amount_minor=paid.due_minor)
    package_cancel(actor=clerk, purchase=moved, reason="Moved to another city", give_back=GiveBack.PRO_RATA)


def _load_reconciliation() -> None:
    """Reconciliation with Stripe, visible at once (/billing/reconciliation/, owner or billing): a run
    from yesterday's start until now found exactly one payment at Stripe that the ledger lacks (taken
    on Stripe's dashboard, with its description and Customer: record it against the open invoice
    offered, or resolve it with a note), and a payout lists the Stripe payments it contains (the
    fees charged to cards and the online deposit). The demo has no Stripe to reach, so the
    account's listings are written as Stripe lists them, go through the same matching, and the run
    is marked as the demo's (its page says so)."""
    from typing import Any

    from invoicing.models import Payment, PaymentMethod, ReconciliationRun
    from invoicing.reconciliation.services import day_period, reconciliation_apply
    from tenants.org.selectors import chain_settings_get

    if ReconciliationRun.objects.exists():
        return
    chain = chain_settings_get()
    currency = chain.currency.lower()
    start, _ = day_period(
        datetime.now(ZoneInfo(chain.default_timezone)).date() - timedelta(days=1), chain.default_timezone
    )
    end = timezone.now() + timedelta(minutes=1)  # the payments just made, and the payout of them

    def charge(name: str, intent: str, amount: int, created: int, description: str = "") -> dict[str, Any]:
        fee = amount * 29 // 1000 + 30
        source = {
            "id": f"ch_demo_{name}",
            "object": "charge",
            "payment_intent": intent,
            "description": description,
            "customer": f"cus_demo_{name}",
        }
        return {
            "id": f"txn_demo_{name}",
            "type": "charge",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": currency,
            "created": created,
            "source": source,
            "payout": None,
        }

    dashboard = charge(
        "dashboard",
        "pi_demo_dashboard",
        6500,
        int((start + timedelta(hours=15)).timestamp()),
        description="General consultation, card taken by phone on Stripe's dashboard",
    )
    paid = [
        charge(str(p.pk), p.reference, p.amount_minor, int(p.received_at.timestamp()))
        for p in Payment.objects.filter(method=PaymentMethod.STRIPE).exclude(reference="")
    ]
    payouts = []
    if paid:
        created = max(t["created"] for t in paid) + 1
        payout = {
            "id": "po_demo_1",
            "amount": sum(t["net"] for t in paid),
            "currency": currency,
            "arrival_date": created + 2 * 86400,
            "status": "in_transit",
            "created": created,
        }
        payouts.append((payout, paid))
    reconciliation_apply(period_start=start, period_end=end, transactions=[dashboard], payouts=payouts, demo=True)


def _load_messages() -> None:
    """The message log's two ends (/messages/): an SMS Twilio reported delivered and a booking's
    confirmation e-mail that failed for good (the address has a typo: failed at once, never retried;
    Send again goes to the address on the chart), both sent by the
    dispatcher the worker runs; the SMS goes to the console, as every SMS of the demo does."""
    from notifications.delivery import delivery_status_record
    from notifications.dispatch import messages_dispatch_all
    from notifications.models import Channel, InboundMessage, Kind, Message
    from notifications.outbox import message_enqueue
    from notifications.reply_services import text_answer
    from tenants.org.selectors import chain_settings_get

    if Message.objects.filter(key__startswith="demo:log:").exists():
        return
    history = _history_due()
    patient = Patient.objects.filter(first_name="Amelia", last_name="Hart").first()
    now = timezone.now()
    # the desk's answer to her text, as staff answer on the replies page (headed with the chain's name)
    asked = InboundMessage.objects.filter(patient=patient).order_by("-received_at").first() if patient else None
    if asked is not None:
        text = text_answer(
            actor=User.objects.get(email=OWNER.email),
            text=asked,
            answer="Your parking permit is ready at the Camden desk.",
            now=now,
        )
    else:
        text = message_enqueue(
            kind=Kind.REPLY,
            channel=Channel.SMS,
            recipient=(patient.phone if patient and patient.phone else "+447700900123"),
            due_at=now,
            patient_id=patient.pk if patient else None,
            context={"text": f"{chain_settings_get().name}: your parking permit is ready at the Camden desk."},
            key="demo:log:delivered",
        )
    # a booking's confirmation e-mailed to a mistyped address (the chart's address is right, so Send
    # again reaches her)
    upcoming = Appointment.objects.filter(
        status__in=(Status.BOOKED, Status.CONFIRMED), span__startswith__gt=now, patient__isnull=False
    ).order_by("span")
    visit = upcoming.filter(patient=patient).first() or upcoming.exclude(patient__email="").first()
    failed = message_enqueue(
        kind=Kind.CONFIRMATION,
        channel=Channel.EMAIL,
        recipient="amelia.hart@example",
        due_at=now,
        patient_id=visit.patient_id if visit else None,
        appointment_id=visit.pk if visit else None,
        branch_id=visit.branch_id if visit else None,
        context={"asked": False},
        key="demo:log:failed",
    )
    with _history_time():
        messages_dispatch_all(only=[*history.values_list("pk", flat=True), text.pk, failed.pk])
    _sent_when_due(history)
    text.refresh_from_db()
    if text.provider_id:
        delivery_status_record(sid=text.provider_id, status="delivered", message_id=text.pk)


#: The visits whose reminder a patient answers with C (_load_replies): within the day ahead.
REMINDED = (timedelta(hours=3), timedelta(hours=22))


def _load_visit_to_remind() -> None:
    """A patient who takes texts has a visit within the day ahead (REMINDED) whenever the branches open
    then: its reminder, sent a day before, is the one the replies' demo answers with C. Booked by the
    desk at the first free time of any branch when none is booked."""
    now = timezone.now()
    texting = list(
        Patient.objects.filter(
            sms_consent_at__isnull=False, sms_consent_withdrawn_at__isnull=True, merged_into__isnull=True
        )
        .exclude(phone="")
        .order_by("pk")[:5]
    )
    lo, hi = now + REMINDED[0] + timedelta(minutes=30), now + REMINDED[1] - timedelta(minutes=30)
    if (
        not texting
        or Appointment.objects.filter(
            status__in=(Status.BOOKED, Status.CONFIRMED),
            patient__in=texting,
            span__startswith__range=(now + REMINDED[0], now + REMINDED[1]),
        ).exists()
    ):
        return
    desk = User.objects.get(email="reception@northwind.localhost")
    service = Service.objects.get(name="General consultation")
    for branch in Branch.objects.order_by("pk"):
        tz = ZoneInfo(branch.timezone)
        slots = slot_list_available(
            service=service,
            branch=branch,
            date_from=lo.astimezone(tz).date(),
            date_to=hi.astimezone(tz).date(),
            step=30,
        )
        for slot in (s for s in slots if lo <= s.start <= hi):
            for patient in texting:
                if _slot_booked(slot, desk=desk, patient=patient, branch=branch, service=service, now=now):
                    return


def _load_replies() -> None:
    """Patients' texts back, visible at once (/messages/replies/): after a reminder one patient
    replied C (confirmed), after a confirmation another replied X (cancelled, as the booking link would:
    outside the cancellation window), and one asked a question (answered with what to do). The texts
    go through the same service as Twilio's webhook, to the chain's own Messaging Service (only texts
    to it act on a patient); the SMS they answer are written as delivered. The X is answered by the
    SMS cancellation notice alone."""
    import hashlib

    from notifications.compose import compose
    from notifications.models import Channel, InboundMessage, Kind, Message, MessageStatus
    from notifications.outbox import message_enqueue
    from notifications.replies import Inbound, inbound_message_receive
    from notifications.selectors import messaging_settings_get
    from notifications.services import MessagingSettingsIn, messaging_settings_update
    from tenants.selectors import current_schema

    if InboundMessage.objects.exists():
        return
    current = messaging_settings_get()
    service = current.twilio_messaging_service_sid
    if not service:  # the chain's own service, as its owner names it in Settings > Messaging
        service = "MG" + hashlib.sha256(f"demo:{current_schema()}".encode()).hexdigest()[:32]
        values = {name: getattr(current, name) for name in MessagingSettingsIn.__dataclass_fields__}
        values["twilio_messaging_service_sid"] = service
        owner = User.objects.get(email=OWNER.email)
        messaging_settings_update(actor=owner, values=MessagingSettingsIn(**values))
    now = timezone.now()
    texting = (  # patients who agreed to texts: the only ones an SMS about a visit goes to
        Appointment.objects.filter(
            status=Status.BOOKED, patient__sms_consent_at__isnull=False, patient__sms_consent_withdrawn_at__isnull=True
        )
        .exclude(patient__phone="")
        .select_related("patient")
        .order_by("span")
    )
    # the reminder a day before a visit within the day (due at that reminder time, two hours ago
    # or more), and a confirmation of a visit more than three days ahead (outside the cancellation window)
    reminded = texting.filter(span__startswith__gt=now + REMINDED[0], span__startswith__lt=now + REMINDED[1])
    chosen: list[tuple[Appointment, Kind, str, datetime]] = []
    first = reminded.first()
    if first is not None:
        chosen.append((first, Kind.REMINDER, "C", min(first.span.lower - timedelta(days=1), now - timedelta(hours=2))))
    else:  # no branch opens within the day ahead (a weekend): C answers a later visit's confirmation
        first = texting.filter(span__startswith__gt=now + timedelta(days=3)).first()
        if first is not None:
            chosen.append((first, Kind.CONFIRMATION, "C", now - timedelta(hours=2)))
    later = texting.filter(span__startswith__gt=now + timedelta(days=3))
    second = later.exclude(patient=first.patient).first() if first is not None else later.first()
    if second is not None:
        chosen.append((second, Kind.CONFIRMATION, "X", now - timedelta(hours=1)))
    for appointment, kind, word, sent_at in chosen:
        if appointment.patient is None:
            continue
        # the reminder the booking planned by SMS and the history sent, else one written as it went
        texted = Message.objects.filter(
            kind=kind,
            channel=Channel.SMS,
            appointment_id=appointment.pk,
            status=MessageStatus.SENT,
            due_at__lte=sent_at,
        ).first() or message_enqueue(
            kind=kind,
            channel=Channel.SMS,
            recipient=appointment.patient.phone,
            due_at=sent_at,
            patient_id=appointment.patient_id,
            appointment_id=appointment.pk,
            branch_id=appointment.branch_id,
        )
        sent_at = texted.due_at
        composed = compose(texted, preview=True)  # the text it carried, its manage link masked
        Message.objects.filter(pk=texted.pk).update(
            status=MessageStatus.DELIVERED,
            subject=composed.subject[:200],
            body=composed.logged_body,
            sent_at=sent_at,
            delivered_at=sent_at,
            provider_id=f"SMdemo{texted.pk:026d}",
            provider_status="delivered",
        )
        inbound_message_receive(
            inbound=Inbound(
                sid=f"SMdemoreply{appointment.pk:022d}",
                from_number=appointment.patient.phone,
                body=word,
                messaging_service_sid=service,
            ),
            now=sent_at + timedelta(minutes=20),
        )
    asking = Patient.objects.exclude(phone="").order_by("pk").first()
    if asking is not None:
        inbound_message_receive(
            inbound=Inbound(
                sid="SMdemoquestion0000000000000000001",
                from_number=asking.phone,
                body="Do I need to bring anything?",
                messaging_service_sid=service,
            ),
            now=now - timedelta(minutes=30),
        )


def _load_waitlist() -> None:
    """A waitlist with an offer: two patients waiting for a general consultation at Camden (any
    doctor, the next two weeks' mornings), and a booked morning cancelled, so its time is held and
    offered to the first who joined (the desk's waitlist page shows it and its "Freed times" to whom
    it went, the outbox has the offer; loaded in quiet hours, the offer reads "not sent yet" and is
    held from their end)."""
    from scheduling.models import WaitlistEntry

    if WaitlistEntry.objects.exists():
        return
    owner = User.objects.get(email=OWNER.email)
    branch = Branch.objects.get(name="Camden")
    service = Service.objects.get(name="General consultation")
    today = timezone.now().astimezone(ZoneInfo(branch.timezone)).date()
    window = sched.Window(
        date_from=today + timedelta(days=1), date_to=today + timedelta(days=14), time_from=time(8), time_to=time(12)
    )
    waiting = [
        patient_create(actor=owner, first_name=first, last_name=last, email=f"{first.lower()}.waits@example.com")
        for first, last in (("Nadia", "Waits"), ("Tomas", "Queue"))
    ]
    for patient in waiting:
        sched.waitlist_join(actor=owner, patient=patient, branch=branch, service=service, doctor=None, window=window)
    slots = slot_list_available(
        service=service, branch=branch, date_from=window.date_from, date_to=window.date_to, step=20
    )
    # not the owner's: her Camden mornings stay free for the leave to try (she covers Dr Okafor's)
    mine = StaffMember.objects.get(user=owner).pk
    morning = next(
        (s for s in slots if s.start.astimezone(ZoneInfo(branch.timezone)).hour in (9, 10) and s.doctor_id != mine),
        None,
    )
    if morning is None:
        return
    someone = Patient.objects.exclude(pk__in=[p.pk for p in waiting]).order_by("pk").first()
    if someone is None:
        return
    try:
        freed = sched.appointment_book(
            actor=owner,
            patient=someone,
            doctor=StaffMember.objects.get(pk=morning.doctor_id),
            branch=branch,
            service=service,
            start=morning.start,
        )
    except ApplicationError:  # that patient is busy then: the list still shows who waits
        return
    sched.appointment_cancel(actor=owner, appointment=freed, reason="Cannot come; the time goes to the waitlist")


def _load_waitlist_flagged() -> None:
    """George Ito, flagged for no-shows, waits for a Camden afternoon too: the desk's waitlist says
    "(no-show flag)" beside him, and a freed afternoon time is offered to him. The demo connects no
    Stripe, so his offer page asks no deposit online: it asks the chain's deposit after no-shows
    (the booking pay step) once the chain connects Stripe."""
    from scheduling.models import WaitlistEntry

    george = Patient.objects.filter(first_name="George", last_name="Ito", merged_into__isnull=True).first()
    if george is None or WaitlistEntry.objects.filter(patient=george).exists():
        return
    owner = User.objects.get(email=OWNER.email)
    branch = Branch.objects.get(name="Camden")
    service = Service.objects.get(name="General consultation")
    tz = ZoneInfo(branch.timezone)
    today = timezone.now().astimezone(tz).date()
    window = sched.Window(
        date_from=today + timedelta(days=2), date_to=today + timedelta(days=14), time_from=time(14), time_to=time(18)
    )
    sched.waitlist_join(actor=owner, patient=george, branch=branch, service=service, doctor=None, window=window)
    his_days = {
        a.span.lower.astimezone(tz).date() for a in Appointment.objects.filter(patient=george, status=Status.BOOKED)
    }
    slots = slot_list_available(
        service=service, branch=branch, date_from=window.date_from, date_to=window.date_to, step=20
    )
    afternoon = [
        s for s in slots if s.start.astimezone(tz).hour in (15, 16) and s.start.astimezone(tz).date() not in his_days
    ]
    someone = Patient.objects.exclude(pk=george.pk).filter(waitlist_entries__isnull=True).order_by("pk").first()
    if someone is None:
        return
    for slot in afternoon[:5]:
        try:
            freed = sched.appointment_book(
                actor=owner,
                patient=someone,
                doctor=StaffMember.objects.get(pk=slot.doctor_id),
                branch=branch,
                service=service,
                start=slot.start,
            )
        except ApplicationError:  # that patient is busy then: the next time
            continue
        sched.appointment_cancel(actor=owner, appointment=freed, reason="Cannot come; the time goes to the waitlist")
        return


def _load_templates() -> None:
    """The clinic's own wording (/settings/messages/templates/): its reminder by SMS in English and
    German says who to ask for and how to answer; every other message keeps the built-in wording."""
    from notifications.models import Channel, Kind
    from notifications.services import template_save

    owner = User.objects.get(email=OWNER.email)
    wording = {
        "en": "Northwind: see you {when} at {branch}, {patient}. Reply C to confirm or X to cancel.",
        "de": "Northwind: Bis {when} in {branch}, {patient}. Antworten Sie C zum Bestätigen oder X zum Absagen.",
    }
    for language, body in wording.items():
        template_save(actor=owner, kind=Kind.REMINDER, channel=Channel.SMS, language=language, body=body)


def _load_reminders() -> None:
    """Reminders follow from the demo's own bookings: notifications wrote them as each was booked (a
    day and two hours before, by SMS where the patient agreed to texts, else by e-mail), so some are
    due within the hour whenever the demo is loaded. The confirmations and receipts the loader's
    bookings and payments wrote went out when those were made: they are sent here, to the in-memory
    backends (nothing floods the console), so the message log starts with them sent and the
    reminders waiting."""
    from notifications.dispatch import messages_dispatch_all
    from notifications.models import Kind

    history = _history_due()
    if history and history.exclude(kind=Kind.REMINDER).exists():
        with (
            override_settings(
                SMS_BACKEND="notifications.sms.LocmemBackend",
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            ),
            _history_time(),
        ):
            messages_dispatch_all(only=[m.pk for m in history])
        _told_when_booked(history)
        _sent_when_due(history)


def _told_when_booked(history: QuerySet[Message]) -> None:
    """The history's confirmations and move notices of visits already over (the loader books its
    past and completes it before it sends anything) were sent when those bookings were made: the
    dispatcher, asked now, finds nothing to tell about a completed visit, so they are written as
    sent then, two days before the visit, with the text they carried then (the visit still booked:
    its manage link masked as the log masks a real one). So are the confirmations of the visits the
    demo marks missed (dropped as no longer needed when they were marked)."""
    from notifications.compose import compose
    from notifications.memo import batch_memo, memoized
    from notifications.models import Kind, Message, MessageStatus
    from notifications.policy import APPOINTMENT_RELATED
    from scheduling.models import CalendarEntry

    told = history.filter(
        status=MessageStatus.SKIPPED, kind__in=(Kind.CONFIRMATION, Kind.RESCHEDULED, Kind.LEAVE_MOVED)
    ).exclude(appointment__status__in=(Status.BOOKED, Status.CONFIRMED))
    missed = Message.objects.filter(
        kind=Kind.CONFIRMATION, status=MessageStatus.CANCELLED, appointment__status=Status.NO_SHOW
    )
    rows = [*told, *missed]
    with batch_memo():
        as_booked: dict[int, CalendarEntry] = memoized("appointments", dict)
        for entry in CalendarEntry.objects.select_related(*APPOINTMENT_RELATED).filter(
            pk__in=[m.appointment_id for m in rows]
        ):
            entry.status = Status.BOOKED  # as it was when they were sent (not saved)
            as_booked[entry.pk] = entry
        for message in rows:
            composed = compose(message, preview=True)
            message.subject, message.body = composed.subject[:200], composed.logged_body
            visit = as_booked.get(message.appointment_id or 0)
            sent = min(message.due_at, visit.span.lower - timedelta(days=2)) if visit else message.due_at
            message.status, message.last_error, message.sent_at, message.due_at = MessageStatus.SENT, "", sent, sent
    Message.objects.bulk_update(rows, ["subject", "body", "status", "last_error", "sent_at", "due_at"], batch_size=200)


def _history_due() -> QuerySet[Message]:
    """The messages the loader's history wrote (bookings, payments, cancellations, answers), due by
    now or held to the end of quiet hours: sent when those things happened, not left for the worker.
    Reminders of upcoming visits, follow-ups and summaries stay for their time, and the waitlist's
    offers follow the quiet hours as a live offer would (the waitlist's desk shows "not sent yet")."""
    from notifications.models import Kind, Message, MessageStatus

    now = timezone.now()
    happened = (
        Kind.CONFIRMATION,
        Kind.RESCHEDULED,
        Kind.CANCELLED,
        Kind.LEAVE_MOVED,
        Kind.LEAVE_CANCELLED,
        Kind.RECEIPT,
        Kind.FEE_NOTICE,
        Kind.NO_SHOW,
        Kind.REPLY,
    )
    pending = Message.objects.filter(status=MessageStatus.PENDING, created_at__lte=now).exclude(
        kind=Kind.WAITLIST_OFFER
    )
    ids = list(pending.filter(Q(due_at__lte=now) | Q(kind__in=happened)).values_list("pk", flat=True))
    # one held by quiet hours as it was written (sent at once when it was) is due when it was written
    Message.objects.filter(pk__in=ids, due_at__gt=now).update(due_at=F("created_at"))
    return Message.objects.filter(pk__in=ids)


@contextmanager
def _history_time() -> Iterator[None]:
    """The loader sends its history as it happened, whatever the hour it runs at: the chain's quiet
    hours (which would hold every confirmation and receipt of the demo's past to the morning, a
    backlog that all goes at once) are set aside while it does, and put back."""
    from notifications.models import MessagingSettings
    from notifications.reminders import reminders_replan

    quiet = MessagingSettings.objects.filter(pk=1).values_list("quiet_hours_start", "quiet_hours_end").first()
    MessagingSettings.objects.filter(pk=1).update(quiet_hours_start=None, quiet_hours_end=None)
    try:
        yield
    finally:
        if quiet is not None:
            MessagingSettings.objects.filter(pk=1).update(quiet_hours_start=quiet[0], quiet_hours_end=quiet[1])
            # the upcoming visits' reminders, planned while the quiet hours were set aside, follow them
            reminders_replan()


def _sent_when_due(history: QuerySet[Message]) -> None:
    """The log shows the history's messages sent when they fell due (the time the booking, payment or
    text happened), not the moment the loader ran."""
    from notifications.models import MessageStatus

    history.filter(status=MessageStatus.SENT).update(sent_at=F("due_at"))


def _load_history() -> None:
    """Two years of the chain's past, once (frontend/demo_history.py), and the dashboards' figures over
    it and the weeks ahead, in one transaction: the visits of the demo's own doctors on their shifts,
    around what the demo booked, with patients of their own, the ledger, messages, follow-ups and
    package courses. The story it tells is printed with the dashboards' address."""
    from frontend.demo_history import HistoryPlan, demo_history_load, history_session
    from reporting.rollups import AHEAD_DAYS, rollups_rebuild

    with history_session():
        services = dict(Service.objects.values_list("name", "pk"))
        weights = {"General consultation": 6.0, "Vaccination": 2.0, "Physiotherapy session": 5.0, "Minor surgery": 0.6}
        plan = HistoryPlan(
            cancel_heavy_branch=Branch.objects.get(name="Islington").pk,
            no_show_doctor=StaffMember.objects.get(user__email="dr.okafor@northwind.localhost").pk,
            overloaded_doctor=StaffMember.objects.get(user__email="dr.lindqvist@northwind.localhost").pk,
            service_weights={services[name]: weight for name, weight in weights.items() if name in services},
        )
        written = demo_history_load(plan=plan)
        if written is not None:
            rollups_rebuild(first=written.first_day, last=written.today + timedelta(days=AHEAD_DAYS))
