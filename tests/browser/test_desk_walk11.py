# ruff: noqa: F811  (the fixtures imported from the book's browser test are named as parameters)
"""The book at a 1024x768 desk after the page walks of issue 11: the keyboard lands in the panel, a
cancelled visit's freed time books with a click (the live visit beside it keeps its width), the
first time label shows, shift blocks end cleanly, and a drag is undone from the book's message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from scheduling import services as sched
from scheduling.models import Appointment
from tests.browser.conftest import standing_box
from tests.browser.test_appointment_book import desk_page, drag, morning  # noqa: F401  (fixtures)
from tests.browser.test_front_desk import _sign_in as sign_in
from tests.factories.scheduling import book
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_keyboard_opens_the_panel_and_a_freed_time_books_with_a_click(
    desk_page, morning, live, browser_chain, shot, axe
):
    page, violations = desk_page
    # given today's book: Nina at 09:00; Carl's 10:00 cancelled and Lena booked into that time
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        today = timezone.now().astimezone(clinic.tz).date()
        first, second = clinic.doctors
        nine = book(clinic, clinic.at(today, 9), actor=clinic.owner, patient=clinic.patient("Nina"), doctor=first)
        carl = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Carl"), doctor=first)
        sched.appointment_cancel(actor=clinic.owner, appointment=carl, reason="Unwell")
        lena = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Lena"), doctor=first)
        book(clinic, clinic.at(today, 11), actor=clinic.owner, patient=clinic.patient("Free"), doctor=second)
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    nine_el = page.locator(f"#event-{nine.pk}")
    expect(nine_el).to_be_visible()
    # the grid's first time label is shown; no block's line ends with a stray separator
    first_label = page.locator(".ec-body .ec-sidebar .ec-slot").first
    assert first_label.evaluate("e => getComputedStyle(e).visibility") == "visible"
    lines = page.locator(".book .ev-line").all_inner_texts()
    assert lines
    assert not any(line.strip().endswith("·") for line in lines)

    # 1. Enter opens the panel with the focus in it (checking in from the panel: test_appointment_book.py)
    nine_el.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=re.compile("Nina"))).to_be_focused()
    shot("panel-focus-on-open")
    page.keyboard.press("Escape")

    # 2. the cancelled 10:00 lies behind Lena's, who keeps the column's width, and still opens from the keyboard
    lena_el, carl_el = page.locator(f"#event-{lena.pk}"), page.locator(f"#event-{carl.pk}")
    expect(carl_el).to_contain_text("Cancelled")
    lena_box = standing_box(page, lena_el)
    column = standing_box(page, page.locator(".ec-body .ec-day").first)
    assert lena_box["width"] > column["width"] * 0.8
    carl_el.focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading", name=re.compile("Carl"))).to_be_focused()
    page.keyboard.press("Escape")
    shot("freed-time")
    axe("the book with a freed time")

    # 3. a click on the freed time beside nobody (the second doctor at 10:00) and on a cancelled one's
    # time both open the booking of that time
    with committed(), schema_context(browser_chain.schema):
        sched.appointment_cancel(actor=clinic.owner, appointment=lena, reason="Moved away")
    page.locator("#book").dispatch_event("book:refresh")
    expect(lena_el).to_contain_text("Cancelled")
    box = page.locator(f"#event-{lena.pk}").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 10)
    expect(dialog.get_by_role("heading", name=re.compile(r"Book .* at 10:00"))).to_be_visible()
    assert violations() == []


# Kept on the page: whether the keyboard was ever left on the page itself (the focused block removed
# and none focused instead) when the tasks in hand were done, i.e. where a key pressed then would fall.
WATCH_FOCUS = """() => {
  window.__focusLost = 0;
  new MutationObserver(function () {
    if (document.activeElement === document.body) window.__focusLost += 1;
  }).observe(document.getElementById("book"), { childList: true, subtree: true });
}"""


def test_a_refresh_drawn_after_the_keyboard_moved_leaves_it_where_it_went(desk_page, morning, live, browser_chain):
    page, violations = desk_page
    # given today's book: Nina at 09:00 and Carl at 10:00, the keyboard on Nina's block
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        today = timezone.now().astimezone(clinic.tz).date()
        nine = book(clinic, clinic.at(today, 9), actor=clinic.owner, patient=clinic.patient("Nina"))
        ten = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Carl"))
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    nine_el, ten_el = page.locator(f"#event-{nine.pk}"), page.locator(f"#event-{ten.pk}")
    expect(ten_el).to_be_visible()
    feed = page.locator("#book").get_attribute("data-feed")
    held: list = []

    def is_feed(url: str) -> bool:
        return feed in url

    page.route(is_feed, lambda route: held.append(route))  # the book's refreshes wait until let go
    nine_el.focus()
    page.evaluate(WATCH_FOCUS)
    # when the live refresh begins with the keyboard on Nina, and the receptionist moves it to Carl's
    # block before the feed answers (as the book's 10-second refresh may, under a keypress)
    page.locator("#book").dispatch_event("book:refresh")
    while not held:
        page.wait_for_timeout(50)
    ten_el.evaluate("e => { e.__before = true; }")
    ten_el.focus()
    for route in held:
        route.continue_()
    page.unroute(is_feed)
    page.wait_for_function(f"() => {{ const e = document.getElementById('event-{ten.pk}'); return e && !e.__before; }}")
    # then the book drawn anew gives the keyboard back to Carl's block, never leaving it on the page
    # in between, and Enter opens Carl's panel (the refresh's start put it on Nina's: her panel opened)
    expect(ten_el).to_be_focused()
    assert page.evaluate("window.__focusLost") == 0
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog").get_by_role("heading", name=re.compile("Carl"))).to_be_focused()
    assert violations() == []


def test_one_enter_asks_one_panel_and_a_late_answer_never_replaces_a_newer_one(desk_page, morning, live, browser_chain):
    page, violations = desk_page
    # given today's book: Nina at 09:00 and Carl at 10:00
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        today = timezone.now().astimezone(clinic.tz).date()
        nine = book(clinic, clinic.at(today, 9), actor=clinic.owner, patient=clinic.patient("Nina"))
        ten = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Carl"))
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    nine_el, ten_el = page.locator(f"#event-{nine.pk}"), page.locator(f"#event-{ten.pk}")
    expect(ten_el).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/panel/" in r.url else None)
    dialog = page.get_by_role("dialog")
    # when Enter is pressed on Nina's block, then Escape
    nine_el.focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading", name=re.compile("Nina"))).to_be_focused()
    page.keyboard.press("Escape")
    # then her panel was asked once (the calendar's own Enter handling asked it a second time, whose
    # answer could come after Escape and open her panel again over the next one)
    assert len(asked) == 1, asked
    held: list = []

    def is_ninas(url: str) -> bool:
        return f"/appointments/{nine.pk}/panel/" in url

    page.route(is_ninas, lambda route: held.append(route))
    # and when her panel is asked again but answers only after Carl's has opened
    nine_el.focus()
    page.keyboard.press("Enter")
    while not held:
        page.wait_for_timeout(50)
    ten_el.focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading", name=re.compile("Carl"))).to_be_focused()
    for route in held:
        route.continue_()
    page.unroute(is_ninas)
    page.wait_for_load_state("networkidle")
    # then Carl's panel stays, and once closed nothing opens it again
    expect(dialog.get_by_role("heading", name=re.compile("Carl"))).to_be_focused()
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    expect(dialog).to_have_count(0)
    assert violations() == []


def test_phone_booking_picks_a_day_and_lands_on_it_focused(desk_page, morning, live, browser_chain, shot, axe):
    page, violations = desk_page
    # given a patient on file and the desk's book
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        caller = clinic.patient("Amelia")
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    # when the receptionist books a caller: the service, then a day and time from the day picker
    page.get_by_role("link", name="Phone booking").click()
    page.get_by_label(re.compile(clinic.service.name)).check()
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".day-picker")).to_be_visible()
    shot("phone-booking-days-1024")
    axe("the phone booking's day picker")
    page.locator(".day-times a.time").first.click()
    # then the patient step says when; the one patient found is chosen already
    expect(page.get_by_role("heading", name=re.compile(r"3\. Patient .* on .* at \d\d:\d\d"))).to_be_visible()
    page.get_by_label("Find the patient").fill(caller.mrn)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("radio", name=re.compile("Amelia"))).to_be_checked()
    shot("phone-booking-patient-1024")
    page.get_by_role("button", name="Book", exact=True).click()
    # and the book opens on the booked day with the new appointment focused, the message saying the day
    expect(page.get_by_text(re.compile(r"Amelia .* booked on \w{3} \d+ \w{3} at \d\d:\d\d"))).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        booked = caller.appointments.get()
    expect(page.locator(f"#event-{booked.pk}")).to_be_focused()
    shot("phone-booking-landed-1024")
    assert violations() == []


def test_a_dragged_appointment_is_put_back_with_undo(desk_page, morning, live, browser_chain, shot, axe):
    page, violations = desk_page
    # given Theo at 10:00 with the first doctor
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        today = timezone.now().astimezone(clinic.tz).date()
        first, second = clinic.doctors
        theo = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Theo"), doctor=first)
    sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{branch.pk}/")
    # when the receptionist drags him to the second doctor at 10:30 by mistake, then undoes it
    drag(page, page.locator(f"#event-{theo.pk}"), to_column=second.user.get_full_name(), slots=2)
    message = page.locator("#book-message")
    expect(message).to_contain_text("Moved to 10:30")
    shot("drag-undo-offered")
    axe("the book offering an undo")
    message.get_by_role("button", name=re.compile("Undo")).click()
    # then he is back where he was, through the same door, and the book says so
    expect(message).to_contain_text("undone")
    expect(message.get_by_role("button", name=re.compile("Undo"))).to_have_count(0)
    with committed(), schema_context(browser_chain.schema):
        back = Appointment.objects.get(pk=theo.pk)
        assert (back.doctor_id, back.span.lower) == (first.pk, clinic.at(today, 10))
    expect(page.locator(f"#event-{theo.pk}")).to_contain_text("10:00")
    assert violations() == []


def test_short_visits_and_the_week_keep_each_status_readable(desk_page, morning, live, browser_chain, shot, axe):
    page, violations = desk_page
    # given a 10-minute jab at 09:00 and an ordinary visit at 10:00 with the first doctor
    clinic, branch, receptionist = morning[0], morning[0].branch, browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        today = timezone.now().astimezone(clinic.tz).date()
        first = clinic.doctors[0]
        jab = sched.service_create(actor=clinic.owner, name="Jab", duration_minutes=10)
        sched.offering_set(actor=clinic.owner, doctor=first, branch=branch, service_ids=[clinic.service.pk, jab.pk])
        short = sched.appointment_book(
            actor=clinic.owner,
            patient=clinic.patient("Harry"),
            doctor=first,
            branch=branch,
            service=jab,
            start=clinic.at(today, 9),
        )
        long = book(clinic, clinic.at(today, 10), actor=clinic.owner, patient=clinic.patient("Zoe"), doctor=first)
    sign_in(page, live, receptionist)
    # when the day's book shows them
    page.goto(f"{live}/desk/{branch.pk}/")
    short_el = page.locator(f"#event-{short.pk}")
    expect(short_el).to_contain_text("Booked")
    # then the short one says its name and status on one line that fits inside its block
    who = short_el.locator(".ev-who")
    fits = "e => e.getBoundingClientRect().bottom <= e.closest('.ec-event').getBoundingClientRect().bottom + 1"
    assert who.evaluate(fits)
    assert short_el.get_attribute("title").startswith("09:00")  # the whole of it on hover
    shot("short-visit-1024")
    # and in the doctor's week (asked for by its Wednesday) the status comes first on each block's
    # line, so a narrow column keeps it, and the title names the week's Monday
    wednesday = today + timedelta(days=2 - today.weekday())
    page.goto(f"{live}/desk/{branch.pk}/?view=week&doctor={first.pk}&day={wednesday}")
    line = page.locator(f"#event-{long.pk} .ev-line")
    expect(line).to_have_text(re.compile(r"^Booked · "))
    expect(page.get_by_role("heading", level=1)).to_contain_text("week of Monday")
    shot("week-status-first-1024")
    axe("the doctor's week")
    assert violations() == []
