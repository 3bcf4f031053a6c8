"""The waitlist in the browser: a visitor with no time that suits joins from the booking page (390 px,
proving their e-mail with the code), the desk sees them on the branch's waitlist (1024x768), a booked
time frees up, and the visitor takes it from the offer's link (the hold with its day). The desk
cancels a visit from its panel and reads whether the patient was told and to whom the time went
(never back to its patient), sees the freed times on the waitlist, and removes a patient only after
confirming. Screenshots and axe at each step."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.checkout.models import OnlinePaymentPolicy
from invoicing.checkout.policy import online_payment_policy_set
from scheduling import services as sched
from scheduling.models import Appointment, Status, WaitlistEntry, WaitlistOffer
from tenants.models import StripeConnection, StripeEvent
from tests.browser.conftest import emailed_code
from tests.browser.test_front_desk import _desk, _sign_in
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book
from tests.helpers import committed
from tests.invoicing.checkout_world import connect_stripe
from tests.invoicing.test_no_show_deposit import _missed
from tests.scheduling.waitlist_world import join, link_token, patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1024, "height": 768}


def test_a_visitor_joins_the_waitlist_and_takes_a_freed_time(page, live, browser_chain, shot, axe):
    cache.clear()
    clinic, receptionist = _desk(browser_chain)
    day = MONDAY + timedelta(days=14)
    email = "wendy.waitlist@example.com"

    # a visitor finds no time that suits on the booking page, and joins the waitlist
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1")
    page.get_by_role("link", name="Join the waitlist").click()
    page.get_by_label("First name").fill("Wendy")
    page.get_by_label("Last name").fill("Waitlist")
    page.get_by_label("E-mail or mobile number").fill(email)
    page.get_by_label("From").fill(day.isoformat())
    page.get_by_label("Until").fill((day + timedelta(days=3)).isoformat())
    page.get_by_label("Earliest time").fill("09:00")
    page.get_by_label("Latest time").fill("12:00")
    shot("waitlist-join")
    axe("join the waitlist")
    page.get_by_role("button", name="Send me a code").click()
    code = emailed_code(email)
    page.get_by_label("The six-digit code we sent you").fill(code)
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", name="You are on the waitlist")).to_be_visible()
    shot("waitlist-joined")
    axe("on the waitlist")

    # the desk sees her on the branch's waitlist
    desk = page.context.browser.new_page(viewport=DESK)
    _sign_in(desk, live, receptionist)
    desk.goto(f"{live}/desk/{clinic.branch.pk}/waitlist/")
    expect(desk.get_by_role("link", name="Wendy Waitlist")).to_be_visible()
    shot("waitlist-desk", desk)
    axe_desk = _axe_on(desk)
    axe_desk("the desk's waitlist")

    # a booked time in her window frees up: it is held and offered to her
    with committed(), schema_context(browser_chain.schema):
        freed = book(clinic, clinic.at(day, 10), doctor=clinic.doctors[0])
        sched.appointment_cancel(actor=receptionist, appointment=freed, reason="called")
        entry = WaitlistEntry.objects.get(patient__email=email)
        offer = WaitlistOffer.objects.get(entry=entry)
        token = link_token(offer)  # as the e-mail she received has it
    desk.reload()
    expect(desk.get_by_text("Waiting for an answer")).to_be_visible()
    shot("waitlist-desk-offer", desk)

    # she opens the offer's link and takes the time
    path = f"/waitlist/offer/{token}/"
    page.goto(f"{live}{path}")
    expect(page.get_by_role("heading", name="A time is free for you")).to_be_visible()
    # the hold's end as its message says it: "today 13:05", "tomorrow 09:30", else its day
    held = r"(today|tomorrow) \d\d:\d\d|\w+ \d{1,2} \w+, \d\d:\d\d"
    expect(page.get_by_text(re.compile(rf"We keep this time for you until ({held})"))).to_be_visible()
    shot("waitlist-offer")
    axe("the waitlist offer")
    # the same "Payment and cancellation" box as online booking, before she takes it
    terms = page.get_by_role("region", name="Payment and cancellation")
    expect(terms).to_be_visible()
    expect(terms.get_by_text("Nothing is paid online: you pay at the visit.")).to_be_visible()
    terms.scroll_into_view_if_needed()
    shot("waitlist-offer-terms-390")
    page.get_by_role("button", name="Take this time").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    shot("waitlist-booked")
    with committed(), schema_context(browser_chain.schema):
        booked = Appointment.objects.get(pk=offer.hold_id)
        assert (booked.status, booked.patient_id) == (Status.BOOKED, entry.patient_id)

    # the offer's link now says it is hers
    page.goto(f"{live}{path}")
    expect(page.get_by_role("heading", name="You took this time")).to_be_visible()
    desk.close()


def test_a_flagged_patient_takes_an_offer_through_the_deposit_step(page, live, browser_chain, stripe_server, shot, axe):
    cache.clear()
    clinic, receptionist = _desk(browser_chain)
    day = MONDAY + timedelta(days=21)
    with committed(), schema_context(browser_chain.schema):
        # the chain asks a deposit of 15.00 of patients with 2 no-shows; George missed two
        priced(clinic, 6500)
        account = connect_stripe(clinic, stripe_server)
        online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=2, no_show_deposit_minor=1500)
        george = patient(clinic, "George")
        _missed(clinic, george, 2)
        entry = join(clinic, george, day=day)
        freed = book(clinic, clinic.at(day, 10), doctor=clinic.doctors[0])
        sched.appointment_cancel(actor=receptionist, appointment=freed, reason="called")
        offer = WaitlistOffer.objects.get(entry=entry)
        token = link_token(offer)
    try:
        # the desk's waitlist says he is flagged, as the book does
        desk = page.context.browser.new_page(viewport=DESK)
        _sign_in(desk, live, receptionist)
        desk.goto(f"{live}/desk/{clinic.branch.pk}/waitlist/")
        expect(desk.get_by_text("(no-show flag)").first).to_be_visible()
        shot("waitlist-desk-flagged", desk)
        _axe_on(desk)("the desk's waitlist with a flagged patient")
        desk.close()

        # he opens the offer at 390 px: the box says the deposit asked of him, and why
        page.set_viewport_size(PHONE)
        page.goto(f"{live}/waitlist/offer/{token}/")
        terms = page.get_by_role("region", name="Payment and cancellation")
        expect(
            terms.get_by_text(re.compile(r"deposit of .*15\.00 online .* after 2 missed appointments"))
        ).to_be_visible()
        shot("waitlist-offer-deposit-390")
        axe("the waitlist offer of a flagged patient")

        # he takes it: the booking pay step, the time kept for him, not booked yet
        page.get_by_role("button", name="Take this time").click()
        expect(page.get_by_role("heading", name="Pay the deposit")).to_be_visible()
        shot("waitlist-offer-pay-step-390")
        axe("the pay step of a waitlist offer")
        with committed(), schema_context(browser_chain.schema):
            held = Appointment.objects.get(pk=offer.hold_id)
            assert (held.status, held.patient_id) == (Status.HELD, None)
        page.goto(f"{live}/waitlist/offer/{token}/")
        expect(page.get_by_role("heading", name="This time is kept for you")).to_be_visible()
    finally:
        with committed(), schema_context(browser_chain.schema):
            OnlinePaymentPolicy.objects.all().delete()
        with committed():  # the platform's rows this journey committed, for the tests after it
            StripeEvent.objects.filter(account_id=account).delete()
            StripeConnection.objects.filter(account_id=account).delete()


def test_the_desk_cancels_reads_where_the_time_went_and_removes_after_confirming(page, live, browser_chain, shot):
    cache.clear()
    clinic, receptionist = _desk(browser_chain)
    day = MONDAY + timedelta(days=21)
    with committed(), schema_context(browser_chain.schema):
        leo, ana = patient(clinic, "Leo"), patient(clinic, "Ana")
        join(clinic, leo, day=day)
        join(clinic, ana, day=day)
        visit = book(clinic, clinic.at(day, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=leo)
    page.set_viewport_size(DESK)
    _sign_in(page, live, receptionist)
    check = _axe_on(page)

    # the desk cancels Leo's visit from its panel, confirming with a reason
    page.goto(f"{live}/desk/{clinic.branch.pk}/?day={day.isoformat()}")
    page.locator(f"#event-{visit.pk}").click()
    panel = page.get_by_role("dialog")
    panel.locator("summary", has_text="Cancel").click()
    panel.get_by_label("Reason").fill("Clinic asked to move")
    panel.get_by_role("button", name="Yes, cancel").click()

    # the panel says Leo is told by e-mail, and the time went to Ana (not back to Leo)
    status = panel.get_by_role("status")
    expect(status).to_contain_text("The patient is told by e-mail")
    expect(status).to_contain_text(f"offered to Ana {ana.last_name} (")
    expect(status).not_to_contain_text(f"Leo {leo.last_name} (")
    shot("waitlist-desk-cancel-said", page)
    check("the desk's panel after a cancel")

    # the waitlist lists the freed time and what became of it
    page.goto(f"{live}/desk/{clinic.branch.pk}/waitlist/")
    expect(page.get_by_role("heading", name="Freed times")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(f"offered to Ana {ana.last_name}"))).to_be_visible()
    shot("waitlist-desk-freed", page)
    check("the waitlist with its freed times")

    # "Remove" asks first; only "Yes, remove" takes Leo off the list
    page.locator("summary", has_text=f"Remove {leo.first_name} {leo.last_name}").click()
    shot("waitlist-desk-remove-confirm", page)
    check("the remove confirmation")
    page.get_by_role("button", name="Yes, remove").click()
    expect(page.get_by_text(f"{leo.first_name} {leo.last_name} is off the waitlist.")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        assert not WaitlistEntry.objects.filter(patient=leo, status="waiting").exists()
        assert WaitlistEntry.objects.filter(patient=ana, status="waiting").exists()


def _axe_on(target):
    from axe_playwright_python.sync_playwright import Axe

    checker = Axe()

    def check(name: str) -> None:
        results = checker.run(target)
        bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + "; ".join(f"{v['id']}: {v['help']}" for v in bad)

    return check
