"""Online self-booking: choose, hold, verify by code, confirm; then manage from the link."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils.formats import date_format

from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment, ManageLink, Source, Status
from tests.factories.scheduling import MONDAY, clinic_setup, local_today


@pytest.fixture
def online(in_a, client, django_capture_on_commit_callbacks):
    cache.clear()
    clinic = clinic_setup(in_a, doctors=2, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55)))
    host = in_a.host

    def post(path, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data, HTTP_HOST=host)

    return clinic, client, host, post


def _first_slot(client, host, clinic):
    page = client.get(
        f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1&tz=Asia/Tokyo", HTTP_HOST=host
    ).content.decode()
    form = re.search(r'name="doctor" value="(\d+)"><input type="hidden" name="start" value="([^"]+)"', page)
    return page, int(form.group(1)), form.group(2)


def test_book_online_end_to_end(online):
    clinic, client, host, post = online
    page, doctor, start = _first_slot(client, host, clinic)
    assert "yours" in page  # Tokyo differs from London: both times are shown
    held = post(
        "/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start}
    )
    assert held["Location"] == "/book/details/"
    assert Appointment.objects.get(status=Status.HELD).hold_expires_at is not None
    post("/book/details/", {"first_name": "Olga", "last_name": "Online", "contact": "olga@example.com"})
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert post("/book/confirm/", {"code": "000000" if code != "000000" else "111111"}).status_code == 200
    done = post("/book/confirm/", {"code": code})
    assert done.status_code == 302
    booked = Appointment.objects.get(patient__email="olga@example.com")
    assert (booked.status, booked.source) == (Status.BOOKED, Source.ONLINE)
    manage = done["Location"]
    assert b"You are booked" in client.get(manage, HTTP_HOST=host).content
    ics = client.get(manage + "calendar.ics", HTTP_HOST=host)
    assert ics["Content-Type"].startswith("text/calendar")
    body = ics.content.decode()
    assert "BEGIN:VEVENT" in body
    assert f"DTSTART:{booked.span.lower:%Y%m%dT%H%M%SZ}" in body
    # the same person booking again is the same patient record
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Olga", "last_name": "Online", "contact": "olga@example.com"})
    post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})
    assert Patient.objects.filter(email="olga@example.com").count() == 1


def test_manage_link_cancels_and_forged_links_are_404(online):
    clinic, client, host, post = online
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Carl", "last_name": "Cancel", "contact": "+44 7912 345009"})
    from notifications import sms

    done = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)})
    manage = done["Location"]
    booked = Appointment.objects.get(patient__phone="+447912345009")
    # inside the chain's cancellation window (24 h by default) the page offers a call, not Cancel
    assert b"Yes, cancel" not in client.get(manage, HTTP_HOST=host).content
    # and a cancel posted anyway is refused, saying why
    confirmed = {"confirm": "1", "reason": "Feeling  better"}
    page = client.post(manage + "cancel/", confirmed, HTTP_HOST=host, follow=True)
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED
    assert b"Please call the clinic" in page.content
    # with no window, the page asks before it cancels, and asks why
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    assert b"Yes, cancel" in client.get(manage, HTTP_HOST=host).content
    # and a cancel that was not confirmed still changes nothing
    page = client.post(manage + "cancel/", {"reason": "Feeling better"}, HTTP_HOST=host, follow=True)
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED
    assert b"confirm the cancellation first" in page.content
    # confirmed, the link cancels with the patient's reason for the desk
    page = client.post(manage + "cancel/", confirmed, HTTP_HOST=host, follow=True)
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert booked.cancellation_reason == "Cancelled online from the booking link: Feeling better"
    assert b"Your appointment is cancelled." in page.content
    assert client.get("/book/manage/forged-token/", HTTP_HOST=host).status_code == 404


def test_a_cancelled_booking_link_says_cancelled_and_offers_only_book_again(online):
    # given an online booking cancelled from its link, outside the window
    clinic, client, host, post = online
    clinic.branch.phone = "020 7946 0000"
    clinic.branch.save()
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Cora", "last_name": "Gone", "contact": "cora@example.com"})
    manage = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})["Location"]
    # when the patient cancels
    done = client.post(manage + "cancel/", {"confirm": "1"}, HTTP_HOST=host)
    # then the same link says so, with the details and only "Book again"
    assert done["Location"] == manage
    page = client.get(manage, HTTP_HOST=host)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Your appointment is cancelled</h1>" in html
    assert "Cancelled</span>" in html
    assert str(clinic.service) in html
    assert f'href="/book/?branch={clinic.branch.pk}&amp;service={clinic.service.pk}">Book again' in html
    assert "Yes, cancel" not in html
    assert "Change time" not in html
    # and the link changes nothing any more (a cancellation sent again lands on this page); a forged one is 404
    again = client.post(manage + "cancel/", {"confirm": "1", "reason": "again"}, HTTP_HOST=host)
    assert (again.status_code, again["Location"]) == (302, manage)
    cancelled = Appointment.objects.get(patient__last_name="Gone")
    assert cancelled.cancellation_reason == "Cancelled online from the booking link"
    assert client.get(manage + "move/", HTTP_HOST=host).status_code == 404
    assert client.get(manage + "calendar.ics", HTTP_HOST=host).status_code == 404
    assert client.get("/book/manage/forged-token/", HTTP_HOST=host).status_code == 404


def test_inside_the_window_the_link_refusal_names_the_branch_phone(online):
    # given a booking inside the 24 h window at a branch with a phone
    clinic, client, host, post = online
    clinic.branch.phone = "020 7946 0000"
    clinic.branch.save()
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Lea", "last_name": "Late", "contact": "lea@example.com"})
    manage = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})["Location"]
    # when the patient opens the link, then it offers the branch's phone, not Cancel or Change time
    shown = client.get(manage, HTTP_HOST=host).content.decode()
    assert f"Too late to cancel or change online. Please call {clinic.branch.name} on 020 7946 0000." in shown
    assert "Yes, cancel" not in shown
    assert "Change time" not in shown
    # when the patient tries to cancel anyway
    page = client.post(manage + "cancel/", {"confirm": "1"}, HTTP_HOST=host, follow=True)
    # then nothing changed and the refusal names the branch's phone
    assert Appointment.objects.get(patient__email="lea@example.com").status == Status.BOOKED
    assert f"Please call {clinic.branch.name} on 020 7946 0000" in page.content.decode()


def test_the_booking_picker_warns_on_times_inside_the_cancellation_window(online):
    # given the default 24 h window and free times from now on
    clinic, client, host, _ = online
    # when the patient opens today's times
    page, _, _ = _first_slot(client, host, clinic)
    # then those times say they cannot be cancelled online
    assert page.count("within 24 hours: once booked") == 1  # said once above the times, not on each


def test_bots_and_stale_sessions_get_nothing(online):
    clinic, client, host, post = online
    assert client.get("/book/details/", HTTP_HOST=host).status_code == 404  # no hold in this session
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    sent = len(mail.outbox)
    post(
        "/book/details/",
        {"first_name": "B", "last_name": "Ot", "contact": "bot@example.com", "website": "http://spam.example"},
    )
    assert len(mail.outbox) == sent
    # a time that is not offered cannot be held
    refused = post(
        "/book/hold/",
        {
            "branch": clinic.branch.pk,
            "service": clinic.service.pk,
            "doctor": doctor,
            "start": clinic.at(local_today(clinic.tz) - timedelta(days=7), 10).isoformat(),  # a week ago
        },
    )
    assert refused.status_code == 302
    assert "/book/?" in refused["Location"]


def test_change_the_time_from_the_booking_link(online):
    clinic, client, host, post = online
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Mo", "last_name": "Mover", "contact": "mo@example.com"})
    manage = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})["Location"]
    page = client.get(manage + "move/", HTTP_HOST=host).content.decode()
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    later = starts[-1]
    client.post(manage + "move/", {"start": later}, HTTP_HOST=host)
    booked = Appointment.objects.get(patient__email="mo@example.com")
    assert booked.span.lower.isoformat() == later


def test_the_booking_pages_show_the_branch_price_and_the_doctor(online):
    # given a service with its own price at this branch, in a chain that counts in pounds
    clinic, client, host, post = online
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=6000)
    sched.service_price_set(actor=clinic.owner, service=clinic.service, branch=clinic.branch, price_minor=7550)
    # when a visitor looks at the free times and holds one
    page, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    details = client.get("/book/details/", HTTP_HOST=host).content.decode()
    # then both pages show the branch's price as money, and the details name the doctor held
    assert "£75.50" in page
    assert "£75.50" in details
    assert "£60.00" not in page + details
    held = Appointment.objects.get(status=Status.HELD)
    assert held.doctor.user.get_full_name() in details


def test_a_second_tab_confirming_a_booked_hold_is_told_it_is_booked(online):
    # given a hold with a code asked for in one tab, whose session a second tab shares
    clinic, client, host, post = online
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    held = dict(client.session["hold"])
    post("/book/details/", {"first_name": "Tab", "last_name": "Twice", "contact": "tabs@example.com"})
    # when the first tab confirms it, then goes to its booking link as before
    done = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})
    assert done.status_code == 302
    assert b"You are booked" in client.get(done["Location"], HTTP_HOST=host).content
    links = ManageLink.objects.filter(appointment_id=held["id"]).count()  # the booking's and its e-mail's
    # and the second tab, still showing that hold, asks for a code and confirms it too
    session = client.session
    session["hold"] = held
    session.save()
    post("/book/details/", {"first_name": "Tab", "last_name": "Twice", "contact": "tabs@example.com"})
    again = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})
    # then it is told the time is already booked, and no second booking link is made
    assert again.status_code == 200
    assert "This time is already booked" in again.content.decode()
    assert ManageLink.objects.filter(appointment_id=held["id"]).count() == links


def test_booking_under_another_name_of_a_known_contact_is_told_on_the_booking_link(online):
    # given a patient whose e-mail a relative uses to book
    clinic, client, host, post = online
    parent = clinic.patient("Hana")
    Patient.objects.filter(pk=parent.pk).update(email="house@example.com")
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Ivo", "last_name": "Kin", "contact": "house@example.com"})
    # when the relative confirms with the code
    done = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})
    # then the booking link opens as before and says whose record it went on, without naming it
    page = client.get(done["Location"], HTTP_HOST=host).content.decode()
    assert "You are booked" in page
    assert "The clinic will see that you booked as Ivo Kin." in page
    assert "Hana" not in page
    assert Appointment.objects.get(patient=parent).notes == "Booked online as Ivo Kin"


def test_the_service_step_and_the_confirmation_show_the_branch_price(online):
    # given a service with its own price at this branch
    clinic, client, host, post = online
    sched.service_price_set(actor=clinic.owner, service=clinic.service, branch=clinic.branch, price_minor=7550)
    # when the visitor chooses where and what
    start_page = client.get(f"/book/?branch={clinic.branch.pk}", HTTP_HOST=host).content.decode()
    # then the service's option carries the branch's price (shown whole below the select)
    assert re.search(rf'value="{clinic.service.pk}" data-facts="[^"]*£75\.50"', start_page)
    # and once booked, the confirmation says it too
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Pia", "last_name": "Price", "contact": "pia@example.com"})
    manage = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})["Location"]
    assert "£75.50" in client.get(manage, HTTP_HOST=host).content.decode()


def test_the_details_step_links_back_to_the_picker_with_the_same_choices(online):
    # given a visitor who chose a doctor and held one of her times
    clinic, client, host, post = online
    chosen = clinic.doctors[1]
    page = client.get(
        f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&doctor={chosen.pk}&pick=1", HTTP_HOST=host
    ).content.decode()
    start = re.search(r'name="start" value="([^"]+)"', page).group(1)
    asked = {"branch": clinic.branch.pk, "service": clinic.service.pk, "asked": chosen.pk}
    post("/book/hold/", {**asked, "doctor": chosen.pk, "start": start})
    # when the details step shows
    details = client.get("/book/details/", HTTP_HOST=host).content.decode()
    # then "Change time" goes back to the picker with the branch, service, doctor and day
    held = Appointment.objects.get(status=Status.HELD)
    day = held.span.lower.astimezone(clinic.tz).date()
    href = (
        f"/book/?branch={clinic.branch.pk}&amp;service={clinic.service.pk}&amp;doctor={chosen.pk}"
        f"&amp;pick=1&amp;day={day}"
    )
    assert f'<a href="{href}">Change time</a>' in details


def test_the_picker_says_which_full_day_it_skipped(online):
    # given a Monday (with its Tuesday in the same month) whose times all lie inside the online notice
    clinic, client, host, _ = online
    monday = MONDAY if (MONDAY + timedelta(days=1)).month == MONDAY.month else MONDAY + timedelta(days=7)
    sched.policy_update(actor=clinic.owner, online_min_notice_minutes=24 * 60)
    with time_machine.travel(clinic.at(monday, 0, 5), tick=False):
        # when the visitor opens the picker without a day
        page = client.get(
            f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1", HTTP_HOST=host
        ).content.decode()
        # then it says the Monday has no free times (not "fully booked": none was taken) and the Tuesday is next
        tuesday = monday + timedelta(days=1)
        said = (
            f"{date_format(monday, 'MONTH_DAY_FORMAT')} has no free times; the first free day is "
            f"{date_format(tuesday, 'MONTH_DAY_FORMAT')}."
        )
        assert said in page
        assert said.startswith("Monday ")  # the weekday is said once
        assert "Monday Monday" not in page
        # and asking for a day says nothing of the kind
        asked = client.get(
            f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1&day={tuesday}", HTTP_HOST=host
        ).content.decode()
        assert "no free times;" not in asked
