"""The portal and online booking on a phone, as a patient walks them: a coming cancelled appointment is
not "earlier", a moved one says its new time and is highlighted, the cancellation window is said once
above the times, the service's price is never cut, and the details form has an error summary."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils.formats import date_format

from scheduling import services as sched
from scheduling.models import Appointment
from tests.factories.scheduling import MONDAY
from tests.frontend.test_online_booking import _first_slot, online  # noqa: F401 (a fixture)
from tests.frontend.test_portal_window import portal  # noqa: F401 (a fixture)


def _section(html: str, heading: str) -> str:
    return html.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


def test_a_coming_cancelled_appointment_is_in_its_own_group_not_earlier(in_a, client, portal) -> None:  # noqa: F811
    # given the appointment a week away cancelled by the clinic
    clinic, _soon, later = portal
    sched.appointment_cancel(actor=clinic.owner, appointment=later, reason="Doctor away")

    # when the patient opens the portal
    html = client.get("/portal/", HTTP_HOST=in_a.host).content.decode()

    # then it is listed under "Cancelled", said in words, and "Earlier" has nothing
    cancelled = _section(html, "Cancelled")
    assert '<span class="badge">Cancelled</span>' in cancelled
    assert "None." in _section(html, "Earlier")
    assert f'id="appointment-{later.pk}"' not in html  # not offered as coming either


def _times(html: str) -> list[str]:
    return re.findall(r'name="start" value="([^"]+)"', html)


def test_after_changing_the_time_the_portal_says_the_new_time_and_highlights_it(in_a, client, portal) -> None:  # noqa: F811
    # given the change page of the far appointment, on the day after it
    clinic, _soon, later = portal
    day = MONDAY + timedelta(days=8)
    page = client.get(f"/portal/appointments/{later.pk}/change/?day={day.isoformat()}", HTTP_HOST=in_a.host)
    start = _times(page.content.decode())[0]

    # when the patient picks the first time
    answer = client.post(f"/portal/appointments/{later.pk}/change/", {"start": start}, HTTP_HOST=in_a.host)
    home = client.get(answer["Location"], HTTP_HOST=in_a.host).content.decode()

    # then the message names the new day and time, and that appointment is highlighted and takes the focus
    moved = Appointment.objects.get(pk=later.pk)
    when = date_format(moved.span.lower.astimezone(ZoneInfo(clinic.branch.timezone)), "DATETIME_FORMAT")
    assert f"Your appointment has moved. New time: {when}." in home
    card = re.search(rf'<div class="card[^"]*" id="appointment-{later.pk}"[^>]*>', home)
    assert card is not None
    assert "just-moved" in card.group(0)
    assert "data-focus-on-load" in card.group(0)
    assert "Just moved" in home


def test_the_cancellation_window_is_said_once_above_the_times_not_on_each(in_a, client, portal) -> None:  # noqa: F811
    # given every time of today inside the 24 h window
    _clinic, _soon, later = portal

    # when the patient opens today's times
    html = client.get(
        f"/portal/appointments/{later.pk}/change/?day={MONDAY.isoformat()}", HTTP_HOST=in_a.host
    ).content.decode()

    # then one sentence above them says it, and no tile repeats it
    assert len(_times(html)) > 1
    assert html.count("Every time on this day is within 24 hours") == 1
    assert html.index("Every time on this day") < html.index('name="start"')
    assert '<span class="late">' not in html


def test_when_only_some_times_are_inside_the_window_those_carry_a_short_word(in_a, client, portal) -> None:  # noqa: F811
    # given a 26 h window: tomorrow's first times (before 10:00) are inside it, the later ones not
    clinic, _soon, later = portal
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=26)
    tomorrow = MONDAY + timedelta(days=1)

    # when
    html = client.get(
        f"/portal/appointments/{later.pk}/change/?day={tomorrow.isoformat()}", HTTP_HOST=in_a.host
    ).content.decode()

    # then the sentence once, and the short word only on some tiles
    assert html.count("within 26 hours: once booked") == 1
    marked = html.count('<span class="late">within 26 h</span>')
    assert 0 < marked < len(_times(html))


def test_the_service_select_says_only_the_name_and_its_length_and_price_show_whole(online) -> None:  # noqa: F811
    # given a service priced 75.50 at the branch
    clinic, client, host, _ = online
    sched.service_price_set(actor=clinic.owner, service=clinic.service, branch=clinic.branch, price_minor=7550)

    # when the visitor opens the first step with that service chosen
    html = client.get(f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}", HTTP_HOST=host).content.decode()

    # then the option is the name alone and a line below the select says its length and price
    option = re.search(rf'<option value="{clinic.service.pk}"[^>]*>([^<]*)</option>', html)
    assert option is not None
    assert option.group(1) == clinic.service.name
    facts = re.search(r'<p class="help service-facts" id="service-facts"[^>]*>([^<]*)</p>', html)
    assert facts is not None
    assert facts.group(1) == f"{clinic.service.duration_minutes} min · £75.50"
    assert 'aria-describedby="service-facts"' in html


def test_the_details_form_sums_up_its_errors_on_top_and_names_each_field(online) -> None:  # noqa: F811
    # given a time held
    clinic, client, host, post = online
    _, doctor, start = _first_slot(client, host, clinic)
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})

    # when the details are sent empty
    html = post("/book/details/", {"first_name": "", "last_name": "", "contact": ""}).content.decode()

    # then a summary on top takes the focus and links to each field; each error is beside its field
    summary = re.search(r'<div class="alert error-summary" role="alert"[^>]*>.*?</div>', html, re.S)
    assert summary is not None
    assert "data-focus-on-load" in summary.group(0)
    for field in ("first_name", "last_name", "contact"):
        assert f'href="#id_{field}"' in summary.group(0)
        assert f'id="id_{field}_error"' in html
    assert html.index("error-summary") < html.index('name="first_name"')
