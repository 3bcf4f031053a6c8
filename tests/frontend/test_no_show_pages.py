"""No-shows on the desk's pages: a flagged patient is said to be flagged, in words, on the book
(their block), the appointment panel and the chart; the booking rules page sets the grace period and
the flag; the online payments page sets the deposit asked after N no-shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django_tenants.utils import schema_context

from invoicing.checkout.policy import online_payment_policy_get
from scheduling.models import SchedulingPolicy
from scheduling.no_shows import no_shows_mark
from scheduling.selectors import policy_get
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

FLAG = "Flagged for no-shows: missed 2 appointments in the last year"


def _flagged(clinic: Clinic, name: str = "Nora"):
    """A patient who missed two visits in the last weeks (marked by the sweep), and their next visit."""
    patient = clinic.patient(name)
    for days in (20, 10):
        start = clinic.at(clinic.days_ahead(-days), 9)
        with time_machine.travel(start - timedelta(days=1), tick=False):
            book(clinic, start, patient=patient, actor=clinic.owner)
        no_shows_mark(now=start + timedelta(minutes=30))
    coming = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=patient, actor=clinic.owner)
    return patient, coming


@pytest.fixture
def desk(in_a, client: Client):
    clinic = clinic_setup(in_a, doctors=1)
    clinic.receptionist.staff.branches.add(clinic.branch)
    with schema_context(in_a.schema):
        sign_in(client, clinic.receptionist)
    return clinic, client, in_a.host


def test_the_desk_sees_the_flag_in_words_on_the_book_the_panel_and_the_chart(desk):
    # given Nora, who missed two visits and comes in three days, and Otto, who never missed one
    clinic, client, host = desk
    nora, coming = _flagged(clinic)
    otto = clinic.patient("Otto")
    other = book(clinic, clinic.at(clinic.days_ahead(3), 11), patient=otto, actor=clinic.owner)
    day = clinic.days_ahead(3)
    # when the desk reads the day's book
    feed = client.get(f"/desk/{clinic.branch.pk}/feed/?day={day}", HTTP_HOST=host).json()
    # then Nora's block says she is flagged, in words; Otto's is his name only
    events = {e["id"]: e for e in feed["events"] if e.get("id")}
    assert events[str(coming.pk)]["title"] == f"{nora} (no-show flag)"
    assert events[str(coming.pk)]["extendedProps"]["patient"] == f"{nora} (no-show flag)"
    assert events[str(other.pk)]["title"] == str(otto)
    # when the desk opens her appointment's panel
    panel = client.get(f"/desk/appointments/{coming.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    # then its alerts say the flag first
    html = panel.content.decode()
    assert panel.status_code == 200
    assert f"<li>{FLAG}</li>" in html
    # when the desk opens her chart, and Otto's
    chart = client.get(f"/patients/{nora.pk}/", HTTP_HOST=host).content.decode()
    clean = client.get(f"/patients/{otto.pk}/", HTTP_HOST=host).content.decode()
    # then hers says it; his says nothing of no-shows
    assert f'<p class="alert" id="no-show-flag">{FLAG}.</p>' in chart
    assert "no-show-flag" not in clean


def test_the_booking_rules_page_sets_the_grace_period_and_the_flag(in_a, client: Client):
    # given the owner on the booking rules page
    sign_in(client, in_a.users["owner"])
    page = client.get("/settings/booking-rules/", HTTP_HOST=in_a.host).content.decode()
    assert "No-shows: grace period after the start (minutes)" in page
    assert "No-shows: flag a patient after this many (0: never)" in page
    # and it points to where a deposit is asked of flagged patients
    assert '<a href="/settings/payments/online/">Online payments</a>' in page
    rules = {f: getattr(policy_get(), f) for f in ("cancellation_window_hours", "online_min_notice_minutes")}
    # when she sets 20 minutes, 3 no-shows in 6 months, and turns the automatic marking off
    form = rules | {
        "online_horizon_days": 60,
        "online_slot_step_minutes": 15,
        "hold_minutes": 10,
        "no_show_grace_minutes": 20,
        "no_show_flag_after": 3,
        "no_show_flag_months": 6,
    }
    saved = client.post("/settings/booking-rules/", form, HTTP_HOST=in_a.host)
    # then the chain's policy says so
    assert saved.status_code == 302
    policy = SchedulingPolicy.objects.get(pk=1)
    assert (policy.no_show_auto, policy.no_show_grace_minutes) == (False, 20)
    assert (policy.no_show_flag_after, policy.no_show_flag_months) == (3, 6)


def test_the_online_payments_page_sets_the_deposit_after_no_shows(in_a, client: Client):
    # given the owner on the online payments page
    sign_in(client, in_a.users["owner"])
    url = "/settings/payments/online/"
    page = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert "Ask a deposit from patients with this many no-shows (0: never)" in page
    # when she asks 12.50 of patients with 2 no-shows, and then a rule without an amount
    saved = client.post(
        url, {"kind": "none", "no_show_deposit_after": "2", "no_show_deposit": "12.50"}, HTTP_HOST=in_a.host
    )
    rule = {"kind": "none", "no_show_deposit_after": "3", "no_show_deposit": "0"}
    refused = client.post(url, rule, HTTP_HOST=in_a.host)
    # then the first is saved; the second is refused on the amount and changes nothing
    assert saved.status_code == 302
    assert refused.status_code == 200
    assert "Give the deposit asked after no-shows." in refused.content.decode()
    policy = online_payment_policy_get()
    assert (policy.no_show_deposit_after, policy.no_show_deposit_minor) == (2, 1250)


def test_the_phone_bookings_patient_step_says_who_is_flagged(desk):
    # given Nora, flagged for no-shows, and Otto, who never missed a visit
    clinic, client, host = desk
    nora, _ = _flagged(clinic)
    otto = clinic.patient("Otto")
    start = clinic.at(clinic.days_ahead(4), 9).isoformat()
    step = (
        f"/desk/{clinic.branch.pk}/walk-in/?source=phone&service={clinic.service.pk}&start={start}"
        f"&doctor={clinic.doctors[0].pk}&q="
    )
    # when reception finds each by name at the step where the patient is chosen
    found_nora = client.get(step + nora.last_name, HTTP_HOST=host).content.decode()
    found_otto = client.get(step + otto.last_name, HTTP_HOST=host).content.decode()
    # then Nora's choice says she is flagged, as the book does; Otto's does not
    assert f'{nora} <strong class="no-show-flag">(no-show flag)</strong>' in found_nora
    assert "no-show-flag" not in found_otto
