"""Every page of both sites passes axe and fits its screen.

The pages are read from each site's URL resolver (a chain's and the public one: every pattern but the
API, FHIR and admin ones, and each site's API docs page), so a new page is walked as soon as it is added. A
pattern with path parameters needs a line in VISITS saying how to fill them from the data this
test makes through the services; a pattern nobody taught it fails the test by name.

Each page is opened by the role that may see it, in one browser context per role: staff pages at a
desk's 1024x768, the patient's pages (book/*, portal/*, the manage link) at a phone's 390x844. On
each: the expected status (or the expected redirect), no serious or critical axe violation, no
horizontal scroll, no console error, and a screenshot in test-artifacts/screenshots/every-page/.
Views that answer only POST are asked with a GET and must refuse it (405); fragments and data the
pages fetch must answer 200 (their markup is checked inside the page that shows them)."""

from __future__ import annotations

import re
import time as clock_time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from invoicing.models import Invoice
from invoicing.services import credit_note_issue
from tests.browser.conftest import ARTIFACTS, recovery_code
from tests.factories import PASSWORD, Chain
from tests.helpers import committed

SHOTS = ARTIFACTS / "every-page"
DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
BAD = ("serious", "critical")

# A page whose template is being rewritten may stand here, with why, while the work is under way: it is
# still walked and its findings printed (and written to the report), but does not fail the run. Empty
# whenever main is released.
KNOWN: dict[str, str] = {}

Kwargs = Callable[["World"], dict[str, Any]]


@dataclass(frozen=True)
class Visit:
    """How to open one URL pattern.

    kind: "page" (opened in the browser and checked), "post" (a GET must be refused with 405),
    "part" (a fragment or data the pages fetch: a GET answers 200), "sign-in" (a step of the role's
    sign-in, checked as the role signs in).
    role: whose browser context opens it (see ROLES).
    lands: the URL name (or a regular expression of the path) the browser must end at, when the
    page answers with a redirect; by default the page itself.
    before: run in the role's page just before the visit (a step the page needs first)."""

    role: str
    kwargs: Kwargs | None = None
    kind: str = "page"
    query: Callable[[World], str] | str = ""
    lands: str | None = None
    before: Callable[[Any, World], None] | None = None
    status: int = 200
    path: str = ""  # a path that no pattern names (a missing page)
    ready: str = ""  # a selector that is there once the page's scripts have drawn it


@dataclass
class World:
    chain: Chain
    live: str
    public: str
    ids: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.ids[key]


def _ids(*names: str, **fixed: Any) -> Kwargs:
    """A pattern's parameters from the world's ids: `_ids("pk=patient", "note_pk=note")` fills pk with
    the patient's id and note_pk with the note's; `fixed` are given as they are."""

    def fill(world: World) -> dict[str, Any]:
        pairs = dict(n.split("=") for n in names)
        return {param: world[key] for param, key in pairs.items()} | fixed

    return fill


FETCH = """async ([url, method, form]) => {
    const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
    const init = {method, redirect: "manual", headers: {"X-CSRFToken": csrf}};
    if (form) init.body = new URLSearchParams(form);
    const answer = await fetch(url, init);
    return answer.type === "opaqueredirect" ? 302 : answer.status;
}"""


def fetch(page: Any, base: str, path: str, method: str = "GET", form: dict[str, Any] | None = None) -> int:
    """A request from the role's page, as its scripts would send it (its cookies, its CSRF token):
    the status, a redirect as 302. (Playwright's own request client cannot resolve *.localhost.)"""
    if not page.url.startswith(base):
        page.goto(f"{base}/accounts/login/")
    return int(page.evaluate(FETCH, [path, method, {k: str(v) for k, v in form.items()} if form else None]))


def _post(page: Any, world: World, path: str, form: dict[str, Any]) -> None:
    """A form sent as the role's browser would send it."""
    status = fetch(page, world.live, path, "POST", form)
    assert status in (200, 302), f"POST {path}: {status}"


def _hold_a_time(page: Any, world: World) -> None:
    """The visitor picks a time on the booking page: the hold the details page needs."""
    _post(
        page,
        world,
        "/book/hold/",
        {
            "branch": world["branch"],
            "service": world["service"],
            "doctor": world["doctor"],
            "start": world["free_start"],
        },
    )


def _give_details(page: Any, world: World) -> None:
    """... and gives their name and address: the code page comes next."""
    _hold_a_time(page, world)
    _post(
        page,
        world,
        "/book/details/",
        {"first_name": "Vera", "last_name": "Visitor", "contact": f"vera.{uuid.uuid4().hex[:6]}@example.com"},
    )


def _ask_portal_code(page: Any, world: World) -> None:
    _post(page, world, "/portal/sign-in/", {"identifier": world["patient_email"]})


def _reset_link(world: World) -> dict[str, Any]:
    # made when the page is opened: the token hashes the user's last sign-in and password, so one
    # made with the world would be spent by anything that signed the user in since
    from tenants.accounts.models import User
    from tenants.accounts.tokens import password_reset_token

    with schema_context(world.chain.schema):
        user = User.objects.get(pk=world["reset_user"])
        return {"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": password_reset_token.make_token(user)}


# One line per URL pattern with path parameters or a role other than the owner's. Patterns without
# parameters that are not listed are opened by the owner as pages.
VISITS: dict[str, Visit] = {
    # signing in and out
    "login": Visit("anonymous"),
    "logout": Visit("owner", kind="post"),
    # Twilio posts delivery reports and patients' texts here (signed); a browser's GET is refused.
    "twilio-status": Visit("anonymous", kind="post"),
    "twilio-inbound": Visit("anonymous", kind="post"),
    "password_reset": Visit("anonymous"),
    "password_reset_done": Visit("anonymous"),
    "password_reset_confirm": Visit("anonymous", _reset_link, lands=r"/accounts/reset/[^/]+/set-password/$"),
    "password_reset_complete": Visit("anonymous"),
    "two-factor-verify": Visit("owner", kind="sign-in"),
    "two-factor-recovery": Visit("owner", kind="sign-in"),
    "two-factor-setup": Visit("receptionist"),
    "two-factor-codes": Visit("owner", lands="two-factor"),  # shown once, right after they are made
    "two-factor-regenerate": Visit("owner", kind="post"),
    "invitation-accept": Visit("anonymous", _ids("token=invite_token")),
    "invitation-revoke": Visit("owner", _ids("pk=invitation"), kind="post"),
    # the chain's set-up
    "branch-edit": Visit("owner", _ids("pk=branch")),
    "staff-edit": Visit("owner", _ids("pk=doctor")),
    "staff-offerings": Visit("owner", _ids("pk=doctor"), kind="post"),
    "catalogue-service": Visit("owner", _ids("pk=service")),
    "catalogue-hours": Visit("owner", _ids("branch_pk=branch")),
    "catalogue-branch": Visit("owner", _ids("branch_pk=branch")),
    "catalogue-shift": Visit("owner", _ids("pk=shift")),
    "catalogue-extra-shift": Visit("owner", _ids("pk=extra_shift")),
    "catalogue-special-day": Visit("owner", _ids("branch_pk=branch", "pk=special_day")),
    "leave-cancel": Visit("owner", _ids("pk=leave"), kind="post"),
    # patients and their records
    "patient-chart": Visit("doctor", _ids("pk=patient")),
    "patient-break-glass": Visit("owner", _ids("pk=patient"), kind="post"),
    "note-create": Visit("doctor", _ids("pk=patient")),
    "note-edit": Visit("doctor", _ids("pk=patient", "note_pk=note")),
    "note-addendum": Visit("doctor", _ids("pk=patient", "note_pk=note"), kind="post"),
    "patient-audit": Visit("owner", _ids("pk=patient")),
    "patient-edit": Visit("doctor", _ids("pk=patient")),
    "patient-merge": Visit("owner", _ids("pk=patient")),
    "patient-diagnosis-add": Visit("doctor", _ids("pk=patient"), kind="post"),
    "patient-prescription-add": Visit("doctor", _ids("pk=patient"), kind="post"),
    "patient-attachment-add": Visit("doctor", _ids("pk=patient"), kind="post"),
    "patient-follow-up-add": Visit("doctor", _ids("pk=patient"), kind="post"),
    # (a POST-only view refuses a GET before it looks the id up: the patient's id stands in)
    "patient-follow-up-close": Visit("doctor", _ids("pk=patient", "follow_up_pk=patient"), kind="post"),
    "patient-consent-form-add": Visit("doctor", _ids("pk=patient"), kind="post"),
    "patient-consent-form-withdraw": Visit("doctor", _ids("pk=patient", "form_pk=patient"), kind="post"),
    "patient-history": Visit("owner", _ids("pk=patient")),
    "appointment-history": Visit("owner", _ids("pk=appointment")),
    "user-audit": Visit("owner", _ids("pk=doctor_user")),
    "patient-care-team": Visit("owner", _ids("pk=patient"), kind="post"),
    "patient-care-team-remove": Visit("owner", _ids("pk=patient", "doctor_pk=doctor"), kind="post"),
    # the doctor's day and the desk
    "my-day": Visit("doctor"),
    "desk": Visit("receptionist", lands=r"/desk/\d+/$"),
    "desk-branch": Visit("receptionist", _ids("branch_pk=branch")),
    "desk-walk-in": Visit("receptionist", _ids("branch_pk=branch")),
    "desk-book": Visit("receptionist", _ids("branch_pk=branch")),
    "desk-waitlist": Visit("receptionist", lands=r"/desk/\d+/waitlist/$"),
    "desk-waitlist-branch": Visit("receptionist", _ids("branch_pk=branch")),
    "desk-waitlist-offers": Visit("receptionist", _ids("branch_pk=branch")),
    "desk-waitlist-remove": Visit("receptionist", _ids("pk=waitlist_entry"), kind="post"),
    "desk-series": Visit("receptionist", _ids("pk=series")),
    "desk-series-cancel": Visit("receptionist", _ids("pk=series"), kind="post"),
    "desk-series-move": Visit("receptionist", _ids("pk=series"), kind="post"),
    "desk-feed": Visit("receptionist", _ids("branch_pk=branch"), kind="part"),
    "desk-slot": Visit(
        "receptionist",
        _ids("branch_pk=branch"),
        kind="part",
        query=lambda w: f"doctor={w['doctor']}&start={w['free_start_local']}",
    ),
    "desk-find": Visit("receptionist", _ids("branch_pk=branch"), query=lambda w: f"q={w['patient_last_name']}"),
    "desk-panel": Visit("receptionist", _ids("pk=appointment"), kind="part"),
    "desk-drop": Visit("receptionist", _ids("pk=appointment"), kind="post"),
    "desk-resize": Visit("receptionist", _ids("pk=appointment"), kind="post"),
    "desk-move": Visit("receptionist", _ids("pk=appointment")),
    "desk-action": Visit("receptionist", _ids("pk=appointment", action="check-in"), kind="post"),
    # the patient's pages, on a phone
    "book": Visit("visitor"),
    "book-hold": Visit("visitor", kind="post"),
    "book-details": Visit("visitor", before=_hold_a_time),
    "book-verify": Visit("visitor", before=_give_details),
    "book-manage": Visit("visitor", _ids("token=manage_token")),
    "book-cancel": Visit("visitor", _ids("token=manage_token"), kind="post"),
    "book-move": Visit("visitor", _ids("token=manage_token")),
    "book-ics": Visit("visitor", _ids("token=manage_token"), kind="part"),
    # the waitlist: joining from the booking page, the offer's and the entry's links (scheduling/waitlist.py)
    "book-waitlist": Visit("visitor", query=lambda w: f"branch={w['branch']}&service={w['service']}"),
    "book-waitlist-confirm": Visit("visitor", lands="book"),
    "waitlist-offer": Visit("visitor", _ids("token=waitlist_offer_token")),
    "waitlist-accept": Visit("visitor", _ids("token=waitlist_offer_token"), kind="post"),
    "waitlist-decline": Visit("visitor", _ids("token=waitlist_offer_token"), kind="post"),
    "waitlist-entry": Visit("visitor", _ids("token=waitlist_entry_token")),
    "waitlist-leave": Visit("visitor", _ids("token=waitlist_entry_token"), kind="post"),
    # online deposits (checkout12): a payment's pages need a connected Stripe account; an unknown
    # token is the page's own 404 (tests/browser/test_online_deposit.py walks them with a payment)
    "book-pay": Visit("visitor", _ids(token="no-such-payment"), status=404),
    "book-paid": Visit("visitor", _ids(token="no-such-payment"), status=404),
    "settings-online-payments": Visit("owner"),
    "portal-login": Visit("visitor"),
    "portal-verify": Visit("visitor", before=_ask_portal_code),
    "portal-home": Visit("patient"),
    "portal-profile": Visit("patient"),
    "portal-logout": Visit("patient", kind="post"),
    "portal-cancel": Visit("patient", _ids("pk=portal_appointment"), kind="post"),
    "portal-reschedule": Visit("patient", _ids("pk=portal_appointment")),
    # billing: the desk, an invoice and its actions, its print page and PDF, a patient's billing
    "billing-invoice": Visit("owner", _ids("pk=invoice")),
    "billing-invoice-pay": Visit("owner", _ids("pk=invoice"), kind="post"),
    "billing-invoice-refund": Visit("owner", _ids("pk=invoice"), kind="post"),
    "billing-invoice-credit": Visit("owner", _ids("pk=invoice"), kind="post"),
    "billing-invoice-void": Visit("owner", _ids("pk=invoice"), kind="post"),
    "billing-invoice-print": Visit("owner", _ids("pk=invoice")),
    "billing-invoice-pdf": Visit("owner", _ids("pk=invoice"), kind="part"),
    "billing-credit-note": Visit("owner", _ids("pk=credit_note")),
    "billing-credit-note-pdf": Visit("owner", _ids("pk=credit_note"), kind="part"),
    "billing-patient": Visit("owner", _ids("pk=patient")),
    "billing-patient-pay": Visit("receptionist", _ids("pk=patient"), kind="post"),
    "billing-visit": Visit("receptionist", _ids("pk=visit"), kind="part"),
    # fees: the policy and the fees list open without parameters; retry and waive answer only POST
    "billing-fee-retry": Visit("owner", _ids(pk=1), kind="post"),
    "billing-fee-waive": Visit("owner", _ids(pk=1), kind="post"),
    "patient-card": Visit("receptionist", _ids("pk=patient")),
    # messages: the log opens without parameters; a failed message (and sending it again, POST only), a
    # patient's messages, one wording's editor
    "message-detail": Visit("receptionist", _ids("pk=message")),
    "message-resend": Visit("receptionist", _ids("pk=message"), kind="post"),
    # answering a patient's text from the replies page answers only POST
    "message-reply-answer": Visit("receptionist", _ids(pk=1), kind="post"),
    "patient-messages": Visit("receptionist", _ids("pk=patient")),
    "message-template": Visit("owner", _ids(kind="reminder", channel="sms", language="de")),
    # reconciliation: resolving answers only POST; the walk's chain has no Stripe payout (the page's 404)
    "billing-reconciliation-resolve": Visit("owner", _ids(pk=1), kind="post"),
    "billing-reconciliation-record": Visit("owner", _ids(pk=1), kind="post"),
    "billing-reconciliation-payout": Visit("owner", _ids(pk=1), status=404),
    # packages: a patient's packages and the panel's package line; retiring answers only POST; a
    # portal purchase's page needs a payment (an unknown token is its own 404)
    "settings-package-retire": Visit("owner", _ids(pk=1), kind="post"),
    "patient-packages": Visit("receptionist", _ids("pk=patient")),
    "patient-package-cancel": Visit("owner", _ids("pk=patient", purchase_pk=999999), status=404),
    "appointment-package": Visit("receptionist", _ids("pk=appointment"), kind="part"),
    "portal-package-paid": Visit("patient", _ids(token="no-such-payment"), status=404),
    "portal-packages": Visit("patient"),
    # the API's docs page of the chain's site
    "api-docs": Visit("owner", ready=".opblock"),
    # the reports: Reports leads the owner to the overview; a branch's and a doctor's figures; the
    # appointments behind a figure (this month's bookings)
    "reports": Visit("owner", lands="report-overview"),
    "report-branch": Visit("owner", _ids("pk=branch")),
    "report-doctor": Visit("owner", _ids("pk=doctor")),
    "report-appointments": Visit("owner", query="figure=bookings"),
}

# Pages that show another step or section at the same URL, with a query; a page as another role sees
# it; the missing page.
EXTRA_PAGES: dict[str, tuple[str, Visit]] = {
    "book-times": (
        "book",
        Visit("visitor", query=lambda w: f"branch={w['branch']}&service={w['service']}&pick=1&day={w['day']}"),
    ),
    **{
        f"patient-chart-{section}": (
            "patient-chart",
            Visit("doctor", _ids("pk=patient"), query=f"section={section}"),
        )
        for section in ("diagnoses", "attachments", "follow-ups", "consent")
    },
    "desk-walk-in-times": (
        "desk-walk-in",
        Visit("receptionist", _ids("branch_pk=branch"), query=lambda w: f"service={w['service']}"),
    ),
    "desk-walk-in-patient": (
        "desk-walk-in",
        Visit(
            "receptionist",
            _ids("branch_pk=branch"),
            query=lambda w: f"service={w['service']}&doctor={w['doctor']}&start={w['free_start_query']}",
        ),
    ),
    "desk-phone-booking": (
        "desk-walk-in",
        Visit(
            "receptionist",
            _ids("branch_pk=branch"),
            query=lambda w: f"source=phone&service={w['service']}&day={w['day']}",
        ),
    ),
    "desk-book-patient": (
        "desk-book",
        Visit("receptionist", _ids("branch_pk=branch"), query=lambda w: f"patient={w['patient']}"),
    ),
    "home-receptionist": ("home", Visit("receptionist")),
    "billing-receptionist": ("billing", Visit("receptionist")),
    "home-doctor": ("home", Visit("doctor")),
    "not-found": ("home", Visit("owner", status=404, path="/no-such-page/")),
}

# The public site: the landing page, the operator's sign-in and what the operator sees.
PUBLIC_VISITS: dict[str, Visit] = {
    "landing": Visit("public"),
    "login": Visit("public"),
    "logout": Visit("operator", kind="post"),
    "password_reset": Visit("public"),
    "password_reset_done": Visit("public"),
    "password_reset_complete": Visit("public"),
    "password_reset_confirm": Visit(
        "public", lambda w: {"uidb64": "MQ", "token": "set-password"}, lands=r"/accounts/reset/MQ/set-password/$"
    ),
    "password_change": Visit("operator"),
    "password_change_done": Visit("operator"),
    "platform-clinics": Visit("operator"),
    "platform-clinic-status": Visit(
        "operator", lambda w: {"slug": w.chain.clinic.slug, "action": "suspend"}, kind="post"
    ),
    "api-docs": Visit("public", ready=".opblock"),
    # Stripe posts events here (signed); a browser's GET is refused.
    "stripe-connect-webhook": Visit("public", kind="post"),
}

ROLES = {
    # role: (viewport, site)
    "anonymous": (DESK, "chain"),
    "owner": (DESK, "chain"),
    "receptionist": (DESK, "chain"),
    "doctor": (DESK, "chain"),
    "visitor": (PHONE, "chain"),
    "patient": (PHONE, "chain"),
    "public": (DESK, "public"),
    "operator": (DESK, "public"),
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    params: tuple[str, ...]


def site_routes(urlconf: str) -> list[Route]:
    """Every named pattern of a site's urlconf that serves pages: all but the API, FHIR and admin,
    whose one page is the API's docs; the first pattern of each path (later ones are never reached)."""
    found: dict[str, Route] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                route = prefix + str(p.pattern)
                if route.startswith(("api/", "fhir/", "admin/")) and p.name != "api-docs":
                    continue
                params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
                found.setdefault(route, Route(p.name, route, params))

    walk(get_resolver(urlconf).url_patterns, "")
    return list(found.values())


def plan(routes: list[Route], visits: dict[str, Visit], default_role: str) -> tuple[list[tuple[str, Visit]], list[str]]:
    """(name, visit) for each route, and the patterns nobody taught this test to fill."""
    planned, unknown = [], []
    for r in routes:
        visit = visits.get(r.name)
        if visit is None and r.params:
            unknown.append(f"{r.name} ({r.route}: {', '.join(r.params)})")
            continue
        planned.append((r.name, visit or Visit(default_role)))
    return planned, unknown


def _visit_seen_earlier(clinic: Any, patient: Any, now: datetime) -> Any:
    """A visit of the patient earlier today, seen and completed at its price: its invoice is issued."""
    from scheduling import services as sched
    from scheduling.selectors import slot_list_available

    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=7500)
    day = now.date()
    midnight = datetime.combine(day, time(0), tzinfo=clinic.tz)
    slots = slot_list_available(
        service=clinic.service, branch=clinic.branch, date_from=day, date_to=day, step=30, now=midnight
    )
    start = [s.start for s in slots if s.start < now - timedelta(minutes=40)][-1]
    visit = sched.appointment_book(
        actor=clinic.owner,
        patient=patient,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=start,
        now=midnight,
    )
    visit = sched.appointment_check_in(actor=clinic.owner, appointment=visit, now=start)
    for step in (sched.appointment_start, sched.appointment_complete):
        visit = step(actor=clinic.owner, appointment=visit)
    return visit


def _world(chain: Chain, live: str, public: str) -> World:
    """One of everything a page can be about, made through the services and committed (the live
    server reads it): a branch open around the clock with a doctor on shift, a patient with a note,
    an appointment today and one ahead, a weekly series, an extra shift, a special day, a leave, a
    pending invitation, a booking's manage link."""
    from patients import services as records
    from scheduling import services as sched
    from scheduling.models import ShiftPattern
    from tenants.org import services as org
    from tests.factories.scheduling import MONDAY, book, clinic_setup, daytime_branch
    from tests.factories.scheduling import doctor as new_doctor

    tag = uuid.uuid4().hex[:6]
    world = World(chain=chain, live=live, public=public)
    with committed(), schema_context(chain.schema):
        branch = daytime_branch(chain)
        chain.users["receptionist"].staff.branches.add(branch)
        clinic = clinic_setup(
            chain, branch=branch, doctors=1, rooms=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
        )
        owner, doc = clinic.owner, clinic.doctors[0]
        patient = records.patient_create(
            actor=owner,
            first_name="Petra",
            last_name=f"Every{tag}",
            email=f"petra.{tag}@example.com",
            phone=f"+447946900{200 + int(tag, 16) % 800}",  # a number of its own: no journey's patient is a duplicate
        )
        records.care_team_assign(actor=owner, patient=patient, doctor=doc)
        note = records.note_create(actor=doc.user, patient=patient, title="First visit", body="Well.")
        today = clinic.days_ahead(0)
        now = datetime.now(clinic.tz)
        later = [s.start for s in clinic.slots(today) if s.start > now + timedelta(minutes=30)]
        if later:  # the doctor's day and the desk show a patient today
            book(clinic, later[0], patient=patient, actor=owner)
        ahead = book(clinic, clinic.at(MONDAY, 10), patient=patient, actor=owner)
        seen = _visit_seen_earlier(clinic, patient, now)
        manage_token = sched.manage_link_issue(appointment=ahead)
        series, _ = sched.series_book(
            actor=owner,
            patient=patient,
            doctor=doc,
            branch=branch,
            service=clinic.service,
            first_start=clinic.at(MONDAY + timedelta(days=1), 11),
            count=3,
        )
        other = new_doctor(chain, branch)
        extra = sched.extra_shift_create(
            actor=owner, doctor=other, branch=branch, day=MONDAY + timedelta(days=4), starts=time(9), ends=time(12)
        )
        special = sched.special_day_create(
            actor=owner,
            branch=branch,
            day=MONDAY + timedelta(days=40),
            opens=time(10),
            closes=time(14),
            note="Short day",
        )
        leave = sched.leave_create(
            actor=owner,
            doctor=other,
            start=clinic.at(MONDAY + timedelta(days=2), 0),
            end=clinic.at(MONDAY + timedelta(days=3), 0),
            reason="Conference",
        )
        invitation, link = org.staff_invite(actor=owner, email=f"new.{tag}@charlie.example", roles=["doctor"])
        waiting, offer_token = _waitlist_with_offer(clinic, patient, day=MONDAY + timedelta(days=6))
        free = clinic.free_slot(MONDAY + timedelta(days=5))
        user = chain.users["billing"]  # nobody signs in as them: the link stays good
        world.ids |= {
            "branch": branch.pk,
            "service": clinic.service.pk,
            "doctor": doc.pk,
            "doctor_user": doc.user.pk,
            "doctor_email": doc.user.email,
            "patient": patient.pk,
            "patient_email": patient.email,
            "patient_last_name": patient.last_name,
            "note": note.pk,
            "appointment": ahead.pk,
            "visit": seen.pk,
            "invoice": Invoice.objects.get(appointment_id=seen.pk).pk,
            "credit_note": credit_note_issue(
                actor=owner, invoice=Invoice.objects.get(appointment_id=seen.pk), amount_minor=100, reason="Goodwill"
            ).pk,
            "portal_appointment": ahead.pk,
            "manage_token": manage_token,
            "series": series.pk,
            "shift": ShiftPattern.objects.filter(doctor=doc, branch=branch).values_list("pk", flat=True).first(),
            "extra_shift": extra.pk,
            "special_day": special.pk,
            "leave": leave.pk,
            "invitation": invitation.pk,
            "invite_token": link.rstrip("/").rsplit("/", 1)[-1],
            "day": str(free.date()),
            "free_start": free.isoformat(),
            "free_start_query": quote(free.isoformat()),
            "free_start_local": free.astimezone(clinic.tz).strftime("%Y-%m-%dT%H:%M"),
            "reset_user": user.pk,
            "waitlist_entry": waiting.entry.pk,
            "waitlist_entry_token": waiting.token,
            "waitlist_offer_token": offer_token,
            "message": _failed_message(patient, ahead).pk,
        }
    return world


def _failed_message(patient: Any, appointment: Any) -> Any:
    """A reminder of the appointment ahead that bounced (a wrong address)."""
    from django.utils import timezone

    from notifications.models import Channel, Kind, Message, MessageStatus
    from notifications.outbox import message_enqueue

    message = message_enqueue(
        kind=Kind.REMINDER,
        channel=Channel.EMAIL,
        recipient="bounced@example.invalid",
        due_at=timezone.now() - timedelta(minutes=5),
        patient_id=patient.pk,
        appointment_id=appointment.pk,
        branch_id=appointment.branch_id,
    )
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, attempts=1, last_error="550 5.1.1 The address does not exist."
    )
    return message


def _waitlist_with_offer(clinic: Any, patient: Any, *, day: Any) -> tuple[Any, str]:
    """The patient waiting for the clinic's service that day, and a booked time there cancelled: the
    waitlist's entry (with its own link) and the offer's link, as the patient received it."""
    from scheduling import services as sched
    from scheduling.models import WaitlistOffer
    from tests.factories.scheduling import book
    from tests.scheduling.waitlist_world import link_token

    window = sched.Window(date_from=day, date_to=day, time_from=time(9), time_to=time(13))
    waiting = sched.waitlist_join(
        actor=clinic.owner, patient=patient, branch=clinic.branch, service=clinic.service, doctor=None, window=window
    )
    freed = book(clinic, clinic.at(day, 10), actor=clinic.owner)
    sched.appointment_cancel(actor=clinic.owner, appointment=freed, reason="called")
    return waiting, link_token(WaitlistOffer.objects.get(entry=waiting.entry))


@dataclass
class Findings:
    failures: dict[str, list[str]] = field(default_factory=dict)
    known: dict[str, list[str]] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    last: float = field(default_factory=clock_time.monotonic)

    def add(self, name: str, problems: list[str]) -> None:
        self.visited.append(name)
        now = clock_time.monotonic()
        self.seconds[name], self.last = now - self.last, now
        if problems:
            (self.known if name in KNOWN else self.failures)[name] = problems

    def report(self) -> str:
        slowest = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:5]
        lines = [f"{len(self.visited)} visits; slowest: " + ", ".join(f"{n} {t:.1f} s" for n, t in slowest)]
        for title, pages in (("FAILING", self.failures), ("KNOWN (not failing)", self.known)):
            for name, problems in sorted(pages.items()):
                why = f" [{KNOWN[name]}]" if name in KNOWN else ""
                lines.append(f"{title} {name}{why}:")
                lines += [f"    {p}" for p in problems]
        clean = sorted(name for name in KNOWN if name in self.visited and name not in self.known)
        if clean:
            lines.append(f"KNOWN but clean now (take them out of KNOWN): {', '.join(clean)}")
        return "\n".join(lines)


class Role:
    """One role's browser context and page, with the console errors the page logged since the last look."""

    def __init__(self, browser: Any, name: str, world: World) -> None:
        viewport, site = ROLES[name]
        self.name = name
        self.base = world.live if site == "chain" else world.public
        self.context = browser.new_context(viewport=viewport)
        self.context.add_init_script(AXE_SCRIPT)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.console.append(str(e)))

    def close(self) -> None:
        self.context.close()


def _axe(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page (axe is put in every page of the
    role's context when it opens: see Role)."""
    results = page.evaluate("axe.run({resultTypes: ['violations']})")
    return [
        f"axe {v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:6]}"
        for v in results["violations"]
        if v.get("impact") in BAD
    ]


def check_page(
    role: Role, name: str, *, lands: str | None, status: int | None, response: Any, ready: str = ""
) -> list[str]:
    """What is wrong with the page the role's browser shows now."""
    page, problems = role.page, []
    page.wait_for_load_state("load")
    if ready:
        page.locator(ready).first.wait_for()
    if status is not None and (response is None or response.status != status):
        problems.append(f"status {response.status if response else None}, expected {status}")
    if status is not None and status >= 400:  # the browser logs the page's own expected status
        role.console = [t for t in role.console if f"status of {status} " not in t]
    if lands is not None:
        path = re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]
        if not re.search(lands, path):
            problems.append(f"landed at {path}, expected {lands}")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1] + 1:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                  + (typeof e.className === 'string' && e.className
                     ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))"""
        )
        problems.append(f"horizontal scroll: {width[0]} px wide in a {width[1]} px window, widest: {wide}")
    problems += [f"console: {text}" for text in role.console]
    role.console.clear()
    problems += _axe(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    return problems


def _url(role: Role, urlconf: str, name: str, visit: Visit, world: World) -> str:
    path = visit.path or reverse(name, urlconf=urlconf, kwargs=visit.kwargs(world) if visit.kwargs else None)
    query = visit.query(world) if callable(visit.query) else visit.query
    return f"{role.base}{path}" + (f"?{query}" if query else "")


def _lands(visit: Visit, urlconf: str, url: str) -> str:
    if visit.lands is None:
        return "^" + re.escape(re.sub(r"^https?://[^/]+", "", url).split("?")[0]) + "$"
    if visit.lands.startswith(("/", "^")):
        return visit.lands
    return "^" + re.escape(reverse(visit.lands, urlconf=urlconf)) + "$"


def visit_one(role: Role, urlconf: str, shot: str, name: str, visit: Visit, world: World, findings: Findings) -> None:
    if visit.before:
        visit.before(role.page, world)
    url = _url(role, urlconf, name, visit, world)
    if visit.kind == "page":
        response = role.page.goto(url)
        status = visit.status  # of the page the browser ends at
        lands = _lands(visit, urlconf, url)
        findings.add(shot, check_page(role, shot, lands=lands, status=status, response=response, ready=visit.ready))
        return
    status = fetch(role.page, role.base, url)
    role.console.clear()  # the refusal asked for, logged by the browser
    expected = 405 if visit.kind == "post" else 200
    findings.add(shot, [] if status == expected else [f"GET {url}: {status}, expected {expected}"])


def sign_in_staff(role: Role, world: World, email: str, findings: Findings, code: str | None = None) -> None:
    """Sign in as a person would; the owner's second-factor steps are pages of the walk too."""
    page = role.page
    page.goto(f"{role.base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code:
        page.wait_for_url(re.compile("/accounts/two-factor/verify/"))
        findings.add("two-factor-verify", check_page(role, "two-factor-verify", lands=None, status=None, response=None))
        page.get_by_role("link", name="Lost your phone? Use a recovery code").click()
        page.wait_for_url(re.compile("/accounts/two-factor/recovery/"))
        findings.add(
            "two-factor-recovery", check_page(role, "two-factor-recovery", lands=None, status=None, response=None)
        )
        page.get_by_label("Recovery code").fill(code)
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
    role.console.clear()


def sign_in_patient(role: Role, world: World) -> None:
    """The portal's code, asked and typed as the patient would (through the requests of their browser)."""
    _ask_portal_code(role.page, world)
    sent = next(m for m in reversed(mail.outbox) if m.to == [world["patient_email"]])
    code = re.search(r"\b(\d{6})\b", sent.body).group(1)  # type: ignore[union-attr]
    _post(role.page, world, "/portal/code/", {"code": code})


def sign_in_operator(role: Role) -> None:
    page = role.page
    page.goto(f"{role.base}/accounts/login/")
    page.get_by_label(re.compile("Email")).fill("operator@platform.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in")).click()
    page.wait_for_url(re.compile("/platform/clinics/"))
    role.console.clear()


@contextmanager
def _suspended_page(chain: Chain) -> Iterator[None]:
    """The chain suspended for the length of one look at its page, then active again."""
    from tenants.services import clinic_reactivate, clinic_suspend

    with committed():
        clinic_suspend(actor=None, clinic=chain.clinic, reason="Unpaid invoice")
    try:
        yield
    finally:
        with committed():
            clinic_reactivate(actor=None, clinic=chain.clinic)


def test_every_url_pattern_of_both_sites_is_known_to_the_page_walk() -> None:
    # given the patterns of both sites, as the URL resolver has them
    # when the walk plans its visits
    _, unknown = plan(site_routes("config.urls_tenant"), VISITS, "owner")
    _, unknown_public = plan(site_routes("config.urls_public"), PUBLIC_VISITS, "operator")

    # then each pattern with path parameters has a line in VISITS saying how to fill them
    assert not unknown + unknown_public, (
        "tests/browser/test_every_page.py does not know how to open these pages; add a line to VISITS "
        "(or PUBLIC_VISITS) with the role that may see them and their path parameters: "
        + "; ".join(unknown + unknown_public)
    )


@pytest.mark.browser
@pytest.mark.django_db
def test_every_page_passes_axe_fits_its_screen_and_logs_no_error(
    browser: Any, live: str, live_server_port: str, browser_chain: Chain
) -> None:
    started = clock_time.monotonic()
    # given one of everything, and each role's browser
    world = _world(browser_chain, live, f"http://localhost:{live_server_port}")
    made = clock_time.monotonic() - started
    chain_plan, unknown = plan(site_routes("config.urls_tenant"), VISITS, "owner")
    public_plan, unknown_public = plan(site_routes("config.urls_public"), PUBLIC_VISITS, "operator")
    assert not unknown + unknown_public, f"pages the walk cannot fill: {unknown + unknown_public}"
    findings = Findings()
    roles = {name: Role(browser, name, world) for name in ROLES}
    try:
        sign_in_staff(
            roles["owner"], world, browser_chain.email("owner"), findings, recovery_code(browser_chain, "owner")
        )
        sign_in_staff(roles["receptionist"], world, browser_chain.email("receptionist"), findings)
        sign_in_staff(roles["doctor"], world, world["doctor_email"], findings)
        sign_in_patient(roles["patient"], world)
        sign_in_operator(roles["operator"])

        # when each page is opened by its role
        for name, visit in chain_plan:
            if visit.kind != "sign-in":
                visit_one(roles[visit.role], "config.urls_tenant", name, name, visit, world, findings)
        for shot, (name, visit) in EXTRA_PAGES.items():
            visit_one(roles[visit.role], "config.urls_tenant", shot, name, visit, world, findings)
        for name, visit in public_plan:
            visit_one(roles[visit.role], "config.urls_public", f"public-{name}", name, visit, world, findings)
        with _suspended_page(browser_chain):
            visit_one(
                roles["anonymous"],
                "config.urls_tenant",
                "suspended",
                "login",
                Visit("anonymous", status=403),
                world,
                findings,
            )
    finally:
        for role in roles.values():
            role.close()
    took = clock_time.monotonic() - started
    report = findings.report() + f"\n{took:.1f} s, of which {made:.1f} s making the data"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "report.txt").write_text(report + "\n")
    print(report)

    # then no page has a serious or critical axe violation, a horizontal scroll or a console error
    assert not findings.failures, report
