"""The appointment book at a 1024x768 desk: a receptionist checks in the 09:00 patient from the panel,
moves another appointment by dragging it to the other doctor, is refused in place when the time is
taken (the appointment snaps back), and books into an empty time by clicking it. Under the CSP, with
no violation, and axe finds nothing serious."""

from __future__ import annotations

import re
from datetime import datetime, time

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import Locator, Page, expect

from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.browser.conftest import standing_box
from tests.browser.test_csp import WATCH
from tests.browser.test_front_desk import _desk as desk_clinic
from tests.browser.test_front_desk import _sign_in as sign_in
from tests.factories.scheduling import book
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SLOT_PX = 28  # book.js: slotHeight for 15 minutes


def drag(page: Page, event: Locator, *, slots: int, to_column: str | None = None) -> None:
    """Drag an appointment by its top edge `slots` quarter hours down (up if negative), into the
    doctor's column named `to_column` if given, with the mouse as a person would."""
    box = standing_box(page, event)
    x = box["x"] + box["width"] / 2
    if to_column is not None:
        target = page.locator(".ec-col-head", has_text=to_column).bounding_box()
        x = target["x"] + target["width"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 6)
    page.mouse.down()
    page.mouse.move(x, box["y"] + 6 + slots * SLOT_PX, steps=12)
    page.mouse.up()


@pytest.fixture
def morning(browser_chain):
    """A branch where it is daytime, and the run's clock (server and browser) at 08:30 there today:
    the day's visits are still ahead, and check-in is on the day."""
    clinic, _ = desk_clinic(browser_chain)  # its branch is where it is daytime now
    tz = clinic.tz
    at = datetime.combine(timezone.now().astimezone(tz).date(), time(8, 30), tzinfo=tz)
    with time_machine.travel(at, tick=True):
        yield clinic, at


@pytest.fixture
def desk_page(page, live, morning):
    page.set_viewport_size({"width": 1024, "height": 768})
    page.clock.set_fixed_time(morning[1])
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.add_init_script(WATCH)
    return page, lambda: problems + page.evaluate("window.__csp || []")


def test_receptionist_works_the_day_on_the_book(desk_page, morning, live, browser_chain, shot, axe):
    page, violations = desk_page
    # given today's book at 08:30: two doctors, visits of 20 minutes
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        today = timezone.now().astimezone(clinic.tz).date()
        first, second = clinic.doctors
        nine = book(clinic, clinic.at(today, 9), actor=clinic.owner, patient=clinic.patient("Nina"), doctor=first)
        ten = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Theo"), doctor=first)
        book(clinic, clinic.at(today, 11), actor=clinic.owner, patient=clinic.patient("Bella"), doctor=second)
        book(clinic, clinic.at(today, 9), actor=clinic.owner, patient=clinic.patient("Otto"), doctor=second)
    # when the receptionist opens the desk
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    nine_el = page.locator(f"#event-{nine.pk}")
    expect(nine_el).to_be_visible()
    expect(page.locator(".ec-col-head", has_text=first.user.get_full_name())).to_be_visible()
    expect(nine_el).to_contain_text("Booked")
    expect(page.locator(".ec-now-indicator")).to_have_count(1)
    shot("book-day-1024")
    axe("the book")

    # 1. the 09:00 patient is checked in from the panel (opened by keyboard: focus and Enter)
    nine_el.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=re.compile("Nina"))).to_be_visible()
    expect(dialog).to_contain_text(nine.patient.mrn)
    expect(dialog.get_by_role("link", name="Open the chart")).to_be_visible()
    shot("book-panel")
    axe("the panel")
    dialog.get_by_role("button", name="Check in").press("Enter")  # by keyboard, as the panel was opened
    status = dialog.get_by_role("status")
    expect(status).to_contain_text("checked in")
    expect(status).to_be_focused()  # the keyboard stays in the panel, on what happened
    expect(dialog.get_by_role("button", name="Start visit")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator(f"#event-{nine.pk}")).to_contain_text("Checked in")
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=nine.pk).status == Status.CHECKED_IN

    # 2. the 10:00 appointment is dragged to the second doctor at 10:30
    drag(page, page.locator(f"#event-{ten.pk}"), to_column=second.user.get_full_name(), slots=2)
    message = page.locator("#book-message")
    expect(message).to_contain_text("oved")
    if "Not moved" in message.inner_text():  # a drop the book refused left it in place: a person drags again
        message.get_by_role("button", name="Dismiss").click()
        drag(page, page.locator(f"#event-{ten.pk}"), to_column=second.user.get_full_name(), slots=2)
    expect(message).to_contain_text("Moved to 10:30")
    with committed(), schema_context(browser_chain.schema):
        moved = Appointment.objects.get(pk=ten.pk)
        assert moved.doctor_id == second.pk
        assert moved.span.lower == clinic.at(today, 10, 30)
    shot("book-after-drag")

    # 3. dragged onto Bella's 11:00 with the same doctor: refused in place, and it snaps back
    moved_el = page.locator(f"#event-{ten.pk}")
    expect(moved_el).to_be_visible()
    drag(page, moved_el, slots=2)
    refusal = page.get_by_role("alert").filter(has_text="Not moved")
    expect(refusal).to_contain_text("already has an appointment")
    shot("book-drag-refused")
    expect(page.locator(f"#event-{ten.pk}")).to_contain_text("10:30")  # snapped back
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=ten.pk).span.lower == clinic.at(today, 10, 30)

    # 4. the live refresh keeps the keyboard where it was
    page.locator(f"#event-{ten.pk}").focus()
    page.locator("#book").dispatch_event("book:refresh")
    page.wait_for_load_state("networkidle")
    expect(page.locator(f"#event-{ten.pk}")).to_be_focused()

    # 5. an empty time is clicked: the first doctor at 12:00, and the patient booked there
    nine_box = standing_box(page, page.locator(f"#event-{nine.pk}"), centre=False)  # the refresh may be drawing
    col_box = page.locator(".ec-body .ec-day").first.bounding_box()
    page.mouse.click(col_box["x"] + col_box["width"] / 2, nine_box["y"] + 12 * SLOT_PX + 4)
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=re.compile(r"Book .* at 12:00"))).to_be_visible()
    shot("book-slot")
    dialog.get_by_role("button", name="Choose the patient").click()
    page.get_by_label("First name").fill("Clara")
    page.get_by_label("Last name").fill("Clicked")
    page.get_by_role("button", name="Register and book").click()
    expect(page.get_by_text(re.compile("Clara Clicked booked on .* at 12:00"))).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        booked = Appointment.objects.get(patient__last_name="Clicked")
        assert (booked.doctor_id, booked.span.lower) == (first.pk, clinic.at(today, 12))
    expect(page.locator(f"#event-{booked.pk}")).to_be_visible()

    # 6. the search finds a patient's next appointment and opens its day on the book
    page.get_by_label("Find a patient's next appointment").fill("Bella")
    result = page.locator("#find-results").get_by_role("link", name=re.compile("11:00"))
    expect(result).to_be_visible()
    shot("book-search")
    assert violations() == []


def test_receptionist_drags_the_end_of_an_adjustable_visit(desk_page, morning, live, browser_chain, shot, axe):
    page, violations = desk_page
    # given a service whose length staff may change, Rhea at 14:00-14:30 and Sam at 15:00, one doctor
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        sched.service_update(actor=clinic.owner, service=clinic.service, length_adjustable=True)
        today = timezone.now().astimezone(clinic.tz).date()
        doctor = clinic.doctors[0]
        rhea = book(clinic, clinic.at(today, 14), actor=clinic.owner, patient=clinic.patient("Rhea"), doctor=doctor)
        book(clinic, clinic.at(today, 15), actor=clinic.owner, patient=clinic.patient("Sam"), doctor=doctor)
        sched.appointment_resize(actor=clinic.owner, appointment=rhea, end=clinic.at(today, 14, 30))
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    rhea_el = page.locator(f"#event-{rhea.pk}")
    expect(rhea_el).to_be_visible()
    rhea_el.evaluate("e => e.scrollIntoView({block: 'center'})")

    def drag_end(pixels: float) -> None:
        grip = page.locator(f"#event-{rhea.pk} .ec-resizer")
        box = grip.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + pixels, steps=12)
        page.mouse.up()

    # when its bottom edge is dragged 15 minutes lower, then it lasts 45 minutes, said in place
    drag_end(SLOT_PX)
    expect(page.locator("#book-message")).to_contain_text("Now 45 minutes, until 14:45")
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=rhea.pk).span.upper == clinic.at(today, 14, 45)
    shot("book-after-resize")
    # when it is dragged into Sam's 15:00, then the refusal is said in place and it snaps back
    drag_end(2 * SLOT_PX)
    refusal = page.get_by_role("alert").filter(has_text="Length not changed")
    expect(refusal).to_contain_text("already has an appointment")
    shot("book-resize-refused")
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=rhea.pk).span.upper == clinic.at(today, 14, 45)
    expect(page.locator(f"#event-{rhea.pk}")).to_contain_text("14:45")  # snapped back
    axe("the book after a resize")
    assert violations() == []
