"""The reports' pages, per role: where "Reports" leads each reader; the owner's overview (every branch,
or those chosen, side by side); a branch's dashboard (its doctors, each a link to her figures; each
count a link to the appointments behind it; its doctors as CSV); a doctor's figures; the appointments
behind a figure (access-logged, on the page and in the CSV). Each reader sees what they may and
nothing more: a manager no other branch, billing the money only, a doctor her own figures, reception
and patients no dashboard; a refusal is a 403 page that writes nothing. A period that is no period is
said beside its field, with a 400."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import Max
from django_tenants.utils import schema_context

from invoicing import services as billing
from invoicing.models import Invoice
from notifications.models import Channel, Kind
from patients.models import Patient
from reporting.rollups import rollups_refresh_all
from reporting.selectors import doctor_name
from scheduling import services as sched
from scheduling.models import Appointment, Source
from tenants.audit.models import AccessLog
from tenants.org.models import Branch, StaffMember
from tests.factories import Chain
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import MONDAY, Clinic, clinic_setup, doctor
from tests.helpers import sign_in
from tests.notifications.message_world import written

pytestmark = pytest.mark.django_db


# --- the figures behind the pages, lived through the real services -----------------------------------


def visit(
    clinic: Clinic,
    day: date,
    hour: int,
    outcome: str,
    *,
    minute: int = 0,
    doctor: StaffMember | None = None,
    patient: Patient | None = None,
    source: str = Source.STAFF,
    paid: bool = False,
) -> Appointment:
    """One appointment booked three days ahead of its day by the owner, and what became of it:
    "completed" (seen and completed on the day: its invoice raised, and paid at the desk if ``paid``),
    "no_show", "late_by_patient" (the patient called two hours before), "early_by_clinic" (two days
    before) or "booked". Works for a day past as for one to come."""
    start = clinic.at(day, hour, minute)
    owner = clinic.owner
    appointment = sched.appointment_book(
        actor=owner,
        patient=patient or clinic.patient(),
        doctor=doctor or clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=start,
        source=source,
        now=start - timedelta(days=3),
    )
    if outcome == "completed":
        with time_machine.travel(start + timedelta(minutes=5), tick=False):
            for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
                appointment = step(actor=owner, appointment=appointment)
            if paid:
                invoice = Invoice.objects.get(appointment_id=appointment.pk)
                billing.payment_record(actor=owner, invoice=invoice, method="cash", amount_minor=invoice.total_minor)
    elif outcome == "no_show":
        appointment = sched.appointment_mark_no_show(
            actor=owner, appointment=appointment, now=start + timedelta(minutes=20)
        )
    elif outcome == "late_by_patient":
        appointment = sched.appointment_cancel(
            actor=owner, appointment=appointment, patient_asked=True, now=start - timedelta(hours=2)
        )
    elif outcome == "early_by_clinic":
        appointment = sched.appointment_cancel(
            actor=owner, appointment=appointment, reason="Doctor away", now=start - timedelta(days=2)
        )
    return appointment


@dataclass
class World:
    chain: Chain
    one: Clinic  # the first branch: the manager's, billing's, reception's
    two: Clinic  # the second branch: the owner's only
    day: date
    visits: dict[str, Appointment] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        """The week of the world's visits, as a page's period."""
        return {"from": self.day.isoformat(), "to": (self.day + timedelta(days=6)).isoformat()}

    @property
    def doctor_a(self) -> StaffMember:
        return self.one.doctors[0]


def report_world(chain: Chain, day: date) -> World:
    """Two branches of the chain priced at 75.00 a visit. At the first, doctor A: a patient seen
    and paid, one seen, a no-show, a late cancellation by the patient, an online booking seen;
    doctor B: one seen. At the second, doctor C: one seen, one no-show. Then the rollups refreshed
    (as the worker does)."""
    one = priced(clinic_setup(chain, branch=chain.branches[0], doctors=2))
    two = priced(clinic_setup(chain, branch=chain.branches[1], doctors=1))
    a, b = one.doctors
    w = World(chain, one, two, day)
    w.visits = {
        "paid": visit(one, day, 9, "completed", doctor=a, patient=one.patient("Ada"), paid=True),
        "seen": visit(one, day, 10, "completed", doctor=a, patient=one.patient("Grace")),
        "missed": visit(one, day, 11, "no_show", doctor=a, patient=one.patient("Nora")),
        "late": visit(one, day, 12, "late_by_patient", doctor=a, patient=one.patient("Lena")),
        "online": visit(one, day, 13, "completed", doctor=a, patient=one.patient("Olive"), source=Source.ONLINE),
        "b_seen": visit(one, day, 9, "completed", doctor=b, patient=one.patient("Bea")),
        "two_seen": visit(two, day, 9, "completed", patient=two.patient("Zelda")),
        "two_missed": visit(two, day, 10, "no_show", patient=two.patient("Yara")),
    }
    rollups_refresh_all()
    return w


@pytest.fixture
def world(in_a: Chain) -> World:
    return report_world(in_a, MONDAY)


def _get(client: Any, chain: Chain, path: str, role: str | None = None, **data: Any) -> Any:
    if role is not None:
        with schema_context(chain.schema):
            sign_in(client, chain.users[role])
    return client.get(path, data, HTTP_HOST=chain.host)


def _text(response: Any) -> str:
    """The page's words, without its markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _section(html: str, heading_id: str) -> str:
    found = re.search(rf'aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert found is not None, heading_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def _words(html: str) -> str:
    """A cell's words as seen: without what only screen readers hear."""
    seen = re.sub(r'<span class="visually-hidden">.*?</span>', "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", seen)).strip()


def _log_size() -> int:
    return AccessLog.objects.aggregate(last=Max("id"))["last"] or 0


# --- where "Reports" leads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "lands"),
    [("owner", "/reports/overview/"), ("billing", "/reports/overview/"), ("branch_manager", "/reports/branches/")],
)
def test_reports_sends_each_reader_to_what_they_may_see(in_a, client, role, lands) -> None:
    # when each reader opens Reports
    answer = _get(client, in_a, "/reports/", role)
    # then the owner and billing land on the overview, the manager of one branch on its dashboard
    assert answer.status_code == 302
    assert answer["Location"].startswith(lands)
    if role == "branch_manager":
        assert answer["Location"].startswith(f"/reports/branches/{in_a.branches[0].pk}/")


def test_a_doctor_is_sent_to_her_own_figures_from_every_dashboard(world, client) -> None:
    # given a doctor of the first branch signed in
    a = world.doctor_a
    with schema_context(world.chain.schema):
        sign_in(client, a.user)
    # when she opens Reports, the overview or her branch's dashboard
    for path in ("/reports/", "/reports/overview/", f"/reports/branches/{world.one.branch.pk}/"):
        answer = client.get(path, world.query, HTTP_HOST=world.chain.host)
        # then each sends her to her own figures, for the same period
        assert answer.status_code == 302, path
        assert answer["Location"].startswith(f"/reports/doctors/{a.pk}/?"), path
        assert f"from={world.day.isoformat()}" in answer["Location"]


def test_another_doctors_figures_are_refused_to_a_doctor_and_nothing_is_logged(world, client) -> None:
    # given doctor A signed in
    with schema_context(world.chain.schema):
        sign_in(client, world.doctor_a.user)
    before = _log_size()
    # when she asks for doctor B's figures, or the appointments behind them
    other = world.one.doctors[1]
    page = client.get(f"/reports/doctors/{other.pk}/", world.query, HTTP_HOST=world.chain.host)
    listed = client.get(
        "/reports/appointments/",
        {**world.query, "figure": "completed", "doctor": other.pk},
        HTTP_HOST=world.chain.host,
    )
    # then both are refused with the 403 page, and nothing is written to the access log
    for answer in (page, listed):
        assert answer.status_code == 403
        assert "report_doctor_not_in_reach" in answer.content.decode()
    assert _log_size() == before


def test_reception_goes_to_its_list_and_sees_no_dashboard(world, client) -> None:
    # when reception opens the dashboards and the appointments behind a figure
    _get(client, world.chain, "/", "receptionist")
    for path in ("/reports/overview/", f"/reports/branches/{world.one.branch.pk}/", "/reports/appointments/"):
        answer = client.get(path, {**world.query, "figure": "completed"}, HTTP_HOST=world.chain.host)
        # then each is refused with the 403 page, never a 500
        assert answer.status_code == 403, path
    # and Reports leads it to the patients to call back (or a page naming its reports)
    landing = client.get("/reports/", HTTP_HOST=world.chain.host)
    assert landing.status_code in (200, 302)
    if landing.status_code == 302:
        assert landing["Location"].startswith("/reports/call-backs/")


def test_a_patient_has_no_reports(in_a, client) -> None:
    # given a patient signed in to the portal
    from patients import portal
    from patients.services import patient_create

    with schema_context(in_a.schema):
        patient = patient_create(
            actor=in_a.users["owner"], first_name="Pia", last_name="Portal", email="pia.portal@example.com"
        )
        sent = portal.code_request(identifier=patient.email, ip="192.0.2.77")
        assert sent is not None
        user = portal.code_verify(identifier=patient.email, code=sent.code)
        client.force_login(user)
    # when she opens Reports or the overview: refused
    for path in ("/reports/", "/reports/overview/"):
        assert client.get(path, HTTP_HOST=in_a.host).status_code == 403


def test_the_main_bar_has_reports_for_readers_of_reports_only(in_a, client) -> None:
    for role, shown in (("owner", True), ("billing", True), ("receptionist", True), ("doctor", True)):
        html = _get(client, in_a, "/", role).content.decode()
        bar = re.search(r'<div class="nav-links">(.*?)</div>', html, re.S)
        assert bar is not None
        assert ('href="/reports/"' in bar.group(1)) is shown, role


# --- the owner's overview ------------------------------------------------------------------------------


def test_the_owner_sees_every_branch_side_by_side_with_the_change_from_the_previous_period(world, client) -> None:
    # when the owner opens the overview for the week of the visits
    answer = _get(client, world.chain, "/reports/overview/", "owner", **world.query)
    assert answer.status_code == 200
    html = answer.content.decode()
    # then the headline figures count the chain's visits: 5 completed, 2 no-shows of 7 with an outcome
    headline = _section(html, "headline-h")
    assert "Completed visits 5" in headline
    assert "No-show rate 28.6%" in headline
    # each against the previous week, which had none: in words for screen readers too
    assert "up 5 from 0" in headline
    assert "Late cancellations 1" in headline
    # and the money: 5 visits invoiced at 75.00, one paid
    assert "Invoiced £375.00" in headline
    assert "Collected £75.00" in headline
    # both branches are side by side, each a link to its dashboard
    branches = _section(html, "branches-h")
    assert world.one.branch.name in branches
    assert world.two.branch.name in branches
    assert f'href="/reports/branches/{world.two.branch.pk}/?from=' in html
    # bookings by source: one online booking, seven by staff
    assert "Online" in _section(html, "sources-h")
    # every figure that counts appointments links to them, for the same period
    assert f"/reports/appointments/?figure=no_shows&amp;from={world.day.isoformat()}" in html


def test_a_period_still_running_is_compared_with_as_many_days_of_the_one_before(world, client) -> None:
    from django.utils.formats import date_format

    # given a fortnight running to the week of the visits, read on its Monday evening, and two visits
    # seen in the fortnight before: one in its first eight days, one in its last six
    first, last = MONDAY - timedelta(days=7), MONDAY + timedelta(days=6)
    visit(world.one, MONDAY - timedelta(days=18), 9, "completed", patient=world.one.patient("Early"))
    visit(world.one, MONDAY - timedelta(days=10), 9, "completed", patient=world.one.patient("Later"))
    rollups_refresh_all()
    with time_machine.travel(world.one.at(MONDAY, 18), tick=False):
        # when the owner opens the overview for the fortnight
        answer = _get(client, world.chain, "/reports/overview/", "owner", **{"from": first, "to": last})
    html = answer.content.decode()
    # then its eight days so far are compared with the first eight days of the fortnight before, not
    # with all of it: five visits seen against one
    assert "up 4 from 1" in _section(html, "headline-h")
    day = {d: date_format(d, "SHORT_DATE_FORMAT") for d in (first - timedelta(days=14), first - timedelta(days=7))}
    said = " \N{EN DASH} ".join(day.values())
    assert f"Compared with {said} (the same days)" in _text(answer)
    # and every figure of the page covers those days so far, as the heading says: the rows, the
    # appointments behind the figures, the trend (no day after today)
    assert f"so far, to {date_format(MONDAY, 'SHORT_DATE_FORMAT')}" in _text(answer)
    assert f"from={first.isoformat()}&amp;to={MONDAY.isoformat()}" in html
    trend = _section(html, "trend-h")
    assert f"{MONDAY:%a %d %b %Y}" in trend
    assert f"{MONDAY + timedelta(days=1):%a %d %b %Y}" not in trend


def test_the_overviews_message_table_is_a_table_and_no_status_notice(world, client) -> None:
    # given a reminder due an hour before one of the visits
    with schema_context(world.chain.schema):
        visit_row = Appointment.objects.filter(branch=world.one.branch).order_by("span").first()
        assert visit_row is not None
        assert visit_row.patient is not None
        written(
            patient=visit_row.patient,
            appointment=visit_row,
            kind=Kind.REMINDER,
            channel=Channel.EMAIL,
            recipient="reminded@example.com",
            due_at=visit_row.span.lower - timedelta(hours=1),
        )
        rollups_refresh_all()
    # when the owner opens the overview for that week
    html = _get(client, world.chain, "/reports/overview/", "owner", **world.query).content.decode()
    # then the message is a row of the Messages table
    messages = _section(html, "messages-h")
    assert "Email Reminder 1" in messages
    # e-mail reports no delivery: its delivered count and rate say so, not 0 and 0%
    assert "Not reported" in messages
    assert "0%" not in messages
    # and the page carries no status notice: its rows are not read as the site's notices
    assert 'class="messages"' not in html


def test_the_owner_compares_the_branches_she_chooses(world, client, in_a) -> None:
    # given a third branch with figures of its own
    third = priced(clinic_setup(in_a, branch=_third_branch(in_a), doctors=1))
    visit(third, world.day, 9, "completed", patient=third.patient("Tess"))
    rollups_refresh_all()
    # when the owner ticks the first two branches
    query = {**world.query, "branch": [world.one.branch.pk, world.two.branch.pk]}
    html = _get(client, world.chain, "/reports/overview/", "owner", **query).content.decode()
    # then only they are side by side, and the headline figures are theirs
    branches = _section(html, "branches-h")
    assert world.one.branch.name in branches
    assert world.two.branch.name in branches
    table = re.search(r'<table class="report">.*?</table>', html[html.index('id="branches-h"') :], re.S)
    assert table is not None
    assert third.branch.name not in table.group(0)
    assert "Completed visits 5" in _section(html, "headline-h")
    # the boxes of the chosen branches are ticked
    assert re.search(rf'value="{world.two.branch.pk}"[^>]*checked', html)


def _third_branch(chain: Chain) -> Branch:
    from tenants.org import services as org

    return org.branch_create(actor=chain.users["owner"], name="Alpha Annex", timezone_name="Europe/London")


def test_a_manager_sees_only_her_branch_and_its_figures(world, client) -> None:
    # when the manager of the first branch opens the overview and her branch's dashboard
    overview = _get(client, world.chain, "/reports/overview/", "branch_manager", **world.query)
    board = _get(client, world.chain, f"/reports/branches/{world.one.branch.pk}/", **world.query)
    # then both are hers: the second branch's name and figures are nowhere
    for answer in (overview, board):
        assert answer.status_code == 200
        text = _text(answer)
        assert world.two.branch.name not in text
        assert "Zelda" not in text
    # the overview counts her branch only: 4 completed, 1 no-show of 5
    headline = _section(overview.content.decode(), "headline-h")
    assert "Completed visits 4" in headline
    assert "No-show rate 20%" in headline
    # and on her branch's dashboard the reports' tabs say where she is: among the figures
    tabs = re.search(r'<nav class="settings-nav reports-nav".*?</nav>', board.content.decode(), re.S)
    assert tabs is not None
    assert re.search(r'aria-current="page">Overview<', tabs.group(0))
    assert tabs.group(0).count("aria-current") == 1


def test_another_branch_is_refused_to_a_manager_with_the_403_page_writing_nothing(world, client) -> None:
    _get(client, world.chain, "/", "branch_manager")
    before = _log_size()
    # when the manager opens the second branch's dashboard, compares it, or lists its appointments
    for path, extra in (
        (f"/reports/branches/{world.two.branch.pk}/", {}),
        ("/reports/overview/", {"branch": world.two.branch.pk}),
        ("/reports/appointments/", {"figure": "completed", "branch": world.two.branch.pk}),
    ):
        answer = _get(client, world.chain, path, **world.query, **extra)
        # then each is the 403 page saying why in words, the code only as a reference to quote
        assert answer.status_code == 403, path
        text = _text(answer)
        assert "Not allowed" in text
        assert "quote: report_branch_not_in_reach" in text, path
        assert "Zelda" not in answer.content.decode()
    # and nothing was written to the access log
    assert _log_size() == before


def test_report_pages_only_read_a_post_is_refused_and_logs_nothing(world, client) -> None:
    # given the owner signed in, her CSRF token checked as the browser's would be
    _get(client, world.chain, "/", "owner")
    before = _log_size()
    for path in (
        "/reports/",
        "/reports/overview/",
        f"/reports/branches/{world.one.branch.pk}/",
        f"/reports/doctors/{world.doctor_a.pk}/",
        "/reports/appointments/?figure=completed",
        "/reports/call-backs/?format=csv",
        "/reports/receivables/",
        "/reports/packages/",
    ):
        # when a page or its file is asked for with POST or DELETE
        for method in (client.post, client.delete):
            answer = method(path, HTTP_HOST=world.chain.host)
            # then it is refused as a method the page does not take, naming the ones it does
            assert answer.status_code == 405, (method, path)
            assert set(answer["Allow"].split(", ")) == {"GET", "HEAD"}, path
    # and nothing was read into the access log
    assert _log_size() == before


def test_billing_reads_the_money_and_no_visit_figure(world, client) -> None:
    # when billing opens the overview
    answer = _get(client, world.chain, "/reports/overview/", "billing", **world.query)
    assert answer.status_code == 200
    text = _text(answer)
    # then it reads its branch's money: four visits invoiced, one paid
    assert "Invoiced £300.00" in text
    assert "Collected £75.00" in text
    # and no visit figure, no appointment, no other branch
    for word in ("Utilization", "utilization", "No-show", "no-show", "Completed visits", "appointments behind"):
        assert word not in text, word
    assert world.two.branch.name not in text
    assert "/reports/appointments/" not in answer.content.decode()
    # the dashboards of branches and doctors and the appointments are refused
    for path in (f"/reports/branches/{world.one.branch.pk}/", f"/reports/doctors/{world.doctor_a.pk}/"):
        assert _get(client, world.chain, path, **world.query).status_code == 403
    listed = _get(client, world.chain, "/reports/appointments/", figure="completed", **world.query)
    assert listed.status_code == 403


def test_the_overview_names_doctors_overloaded_in_the_week_ahead(world, client, in_a) -> None:
    # given a doctor with no hours on shift in the week ahead, fitted in by the owner all the same
    fitted = doctor(in_a, world.one.branch)
    sched.offering_set(
        actor=world.one.owner, doctor=fitted, branch=world.one.branch, service_ids=[world.one.service.pk]
    )
    sched.appointment_book(
        actor=world.one.owner,
        patient=world.one.patient(),
        doctor=fitted,
        branch=world.one.branch,
        service=world.one.service,
        start=world.one.at(world.one.days_ahead(2), 10),
        override=True,
        override_reason="Extra clinic",
    )
    rollups_refresh_all()
    # when the owner opens the overview
    html = _get(client, world.chain, "/reports/overview/", "owner").content.decode()
    # then she is named as overloaded, a link to her figures
    ahead = _section(html, "ahead-h")
    assert doctor_name(fitted) in ahead
    assert "Overloaded" in ahead
    assert f'href="/reports/doctors/{fitted.pk}/"' in html
    # and a doctor with hours to spare is not
    assert doctor_name(world.doctor_a) not in ahead


# --- the branch's dashboard and a doctor's figures -----------------------------------------------------


def test_the_branch_dashboard_links_each_doctor_and_each_count_to_what_is_behind_it(world, client) -> None:
    # when the manager opens her branch's dashboard
    answer = _get(client, world.chain, f"/reports/branches/{world.one.branch.pk}/", "branch_manager", **world.query)
    assert answer.status_code == 200
    html = answer.content.decode()
    doctors = _section(html, "doctors-h")
    a, b = world.one.doctors
    # then each doctor has her row: A saw 3 with 1 no-show and 1 late cancellation; B saw 1
    a_row = re.search(rf"<tr>\s*<th[^>]*><a href=\"/reports/doctors/{a.pk}/\?[^\"]*\">.*?</tr>", html, re.S)
    assert a_row is not None
    cells = [_words(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", a_row.group(0), re.S)]
    # completed, no-shows (rate), cancelled, of them late
    assert cells[2:6] == ["3", "1 (25%)", "1", "1"], cells
    assert doctor_name(b) in doctors
    # her name opens her figures at this branch, for the same period
    assert f"/reports/doctors/{a.pk}/?from={world.day.isoformat()}" in html
    assert f"branch={world.one.branch.pk}" in a_row.group(0)
    # her no-shows open the appointments behind them: the figure, the period, the branch and her
    link = re.search(rf'href="(/reports/appointments/\?figure=no_shows[^"]*doctor={a.pk}[^"]*)"', html)
    assert link is not None
    assert f"branch={world.one.branch.pk}" in link.group(1)
    # money by doctor: A's three visits invoiced at 75.00, on average 75.00 a visit
    money = _section(html, "money-h")
    assert "£225.00" in money
    assert "£75.00" in money


def test_the_doctors_table_downloads_as_csv(world, client) -> None:
    # when the manager downloads the doctors' table
    answer = _get(
        client, world.chain, f"/reports/branches/{world.one.branch.pk}/", "branch_manager", format="csv", **world.query
    )
    # then it is a CSV file named with the period, one line per doctor, the figures as the page has them
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert world.day.isoformat() in answer["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    a = next(r for r in rows if r["Doctor"] == doctor_name(world.doctor_a))
    assert (a["Completed"], a["No-shows"], a["No-show rate"], a["Cancelled late by patient"]) == (
        "3",
        "1",
        "25.00%",
        "1",
    )
    assert a["Invoiced"] == f"{3 * PRICE / 100:.2f}"
    assert a["Currency"] == "GBP"
    assert len(rows) == 2


def test_a_day_by_day_trend_is_drawn_against_the_same_weekdays_before(world, client) -> None:
    # given a visit seen on the Monday a week before the week of the visits
    visit(world.one, MONDAY - timedelta(days=7), 9, "completed", patient=world.one.patient("Before"))
    rollups_refresh_all()
    # when the owner opens the overview of that week
    html = _get(client, world.chain, "/reports/overview/", "owner", **world.query).content.decode()
    # then the trend's comparison is the same weekdays a week before: its Monday row holds that visit
    chart = next((f for f in html.split("<figure")[1:] if "Completed visits, this period and before" in f), None)
    assert chart is not None
    assert "The same weekdays 1 week before" in chart
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", chart, re.S)
    assert first_row is not None
    cells = [_words(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", first_row.group(1), re.S)]
    assert cells[-1] == "1", cells


def test_the_overview_downloads_each_branchs_figures(world, client) -> None:
    # when the owner downloads the overview of the week
    page = _get(client, world.chain, "/reports/overview/", "owner", **world.query).content.decode()
    assert "Download CSV" in page
    answer = _get(client, world.chain, "/reports/overview/", format="csv", **world.query)
    # then it is one line per branch, with the figures the page shows
    assert answer.status_code == 200
    assert answer["Content-Disposition"].startswith('attachment; filename="branches_')
    rows = {r["Branch"]: r for r in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))}
    assert (rows[world.one.branch.name]["Completed"], rows[world.two.branch.name]["Completed"]) == ("4", "1")
    assert rows[world.one.branch.name]["Invoiced"] == f"{4 * PRICE / 100:.2f}"


def test_the_page_offers_its_table_as_an_excel_workbook_too(world, client) -> None:
    import openpyxl

    # when the manager opens her branch's dashboard
    page = _get(client, world.chain, f"/reports/branches/{world.one.branch.pk}/", "branch_manager", **world.query)
    # then beside the CSV it offers the same table as a workbook, which opens with a row per doctor
    link = re.search(
        r'<a class="button secondary" href="([^"]*format=xlsx)" download>Download Excel', page.content.decode()
    )
    assert link is not None
    answer = client.get(link.group(1).replace("&amp;", "&"), HTTP_HOST=world.chain.host)
    assert answer.status_code == 200
    assert answer["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert doctor_name(world.doctor_a) in names


def test_a_doctor_reads_her_own_figures_revenue_and_average(world, client) -> None:
    # given doctor A signed in
    a = world.doctor_a
    with schema_context(world.chain.schema):
        sign_in(client, a.user)
    # when she opens her figures
    answer = client.get(f"/reports/doctors/{a.pk}/", world.query, HTTP_HOST=world.chain.host)
    assert answer.status_code == 200
    headline = _section(answer.content.decode(), "headline-h")
    # then her practitioner performance: appointments kept, revenue, average, DNAs, rebooking
    assert "Appointments not cancelled 4" in headline  # 3 seen, 1 missed; the cancelled one is not kept
    assert "Revenue £225.00" in headline
    assert "Average revenue £75.00" in headline
    assert "No-shows (DNAs) 1" in headline
    assert "Rebook rate" in headline
    # and nothing of anyone else's
    text = _text(answer)
    assert doctor_name(world.one.doctors[1]) not in text
    assert world.two.branch.name not in text


def test_the_doctor_page_downloads_her_figures_by_service(world, client) -> None:
    a = world.doctor_a
    answer = _get(client, world.chain, f"/reports/doctors/{a.pk}/", "owner", format="csv", **world.query)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["Service"], r["Completed"], r["Bookings"]) for r in rows] == [(world.one.service.name, "3", "5")]


# --- the appointments behind a figure -------------------------------------------------------------------


def test_the_appointments_behind_a_figure_are_listed_and_access_logged(world, client) -> None:
    # when the manager opens the no-shows of her branch
    _get(client, world.chain, "/", "branch_manager")
    before = _log_size()
    query = {**world.query, "figure": "no_shows", "branch": world.one.branch.pk}
    answer = _get(client, world.chain, "/reports/appointments/", **query)
    # then Nora's missed visit is listed, its time on the branch's clock, her name a link to her chart
    assert answer.status_code == 200
    html = answer.content.decode()
    missed = world.visits["missed"]
    assert "1 appointment" in _text(answer)
    assert f'href="/patients/{missed.patient_id}/"' in html
    assert f"{world.day.day} {world.day:%b %Y}, 11:00" in html
    assert "No-show" in html
    assert "Ada" not in _text(answer)
    # and the access log says the manager listed Nora's appointment
    rows = AccessLog.objects.filter(id__gt=before)
    assert list(rows.values_list("patient_id", "action", "object_type", "actor_id")) == [
        (missed.patient_id, "list", "appointment", world.chain.users["branch_manager"].pk)
    ]


def test_a_list_longer_than_a_file_holds_is_refused_on_the_page_as_in_the_api(world, client, monkeypatch) -> None:
    from reporting import drill
    from reporting.export import Format

    monkeypatch.setitem(drill.EXPORT_MAX_APPOINTMENTS, Format.CSV, 3)
    _get(client, world.chain, "/", "owner")
    before = _log_size()
    # when the owner downloads more bookings than a file holds
    answer = _get(
        client, world.chain, "/reports/appointments/", **{**world.query, "figure": "bookings", "format": "csv"}
    )
    # then she is asked for a shorter period, and nothing was exported
    assert answer.status_code == 400
    assert "file holds at most 3 appointments" in _text(answer)
    assert _log_size() == before


def test_the_appointments_behind_a_figure_download_as_csv_logged_as_an_export(world, client) -> None:
    _get(client, world.chain, "/", "owner")
    before = _log_size()
    # when the owner downloads the completed visits of doctor A
    query = {**world.query, "figure": "completed", "doctor": world.doctor_a.pk, "format": "csv"}
    answer = _get(client, world.chain, "/reports/appointments/", **query)
    # then the file lists her three, with their patients and times on the branch's clock
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert sorted(r["Patient"].split()[0] for r in rows) == ["Ada", "Grace", "Olive"]
    assert {r["Start"] for r in rows} == {f"{world.day.isoformat()} {h}:00" for h in ("09", "10", "13")}
    # and each patient in it is logged as exported by the owner
    logged = AccessLog.objects.filter(id__gt=before, action="export")
    patients = {world.visits[k].patient_id for k in ("paid", "seen", "online")}
    assert set(logged.values_list("patient_id", flat=True)) == patients
    assert set(logged.values_list("actor_id", flat=True)) == {world.chain.users["owner"].pk}


def test_the_list_pages_through_many_appointments(world, client, in_a) -> None:
    # given sixty more bookings on the day (doctor B's)
    b = world.one.doctors[1]
    for n in range(60):
        day = world.day + timedelta(days=1 + n // 14)
        visit(world.one, day, 9 + (n % 14) // 2, "booked", minute=30 * (n % 2), doctor=b)
    rollups_refresh_all()
    query = {**world.query, "figure": "bookings", "doctor": b.pk}
    first = _get(client, world.chain, "/reports/appointments/", "owner", **query)
    # then the first page lists 50 of the 61 and links to the next, which keeps the figure and period
    html = first.content.decode()
    assert "61 appointments" in _text(first)
    assert len(re.findall(r'href="/patients/\d+/"', html)) == 50
    nxt = re.search(r'href="\?([^"]*page=2)"', html)
    assert nxt is not None
    second = client.get(f"/reports/appointments/?{nxt.group(1).replace('&amp;', '&')}", HTTP_HOST=in_a.host)
    assert len(re.findall(r'href="/patients/\d+/"', second.content.decode())) == 11


# --- the period ------------------------------------------------------------------------------------------


def test_the_period_defaults_to_this_month_on_the_chains_clock_with_quick_choices(in_a, client) -> None:
    from frontend.report_views import chain_today
    from reporting.period import Period

    # when the owner opens the overview without a period
    html = _get(client, in_a, "/reports/overview/", "owner").content.decode()
    # then it is this month's, and the quick choices carry their own days
    with schema_context(in_a.schema):
        month = Period.month_of(chain_today())
    for name in ("from", "to"):  # the fields stay empty: the default
        field = re.search(rf'<input[^>]*id="id_{name}"[^>]*>', html)
        assert field is not None
        assert "value=" not in field.group(0)
    assert f"{month.first:%B %Y}" in html
    assert f"from={month.first.isoformat()}&amp;to={month.last.isoformat()}" in html
    assert re.search(r'aria-current="true">This month<', html)
    for label in ("Last month", "Last 3 months", "This year", "Last 12 months"):
        assert f">{label}<" in html
    # and the picker says what empty fields mean and how long a period may be
    assert "Both empty: this month. A period covers at most 1,100 days." in html


@pytest.mark.parametrize(
    ("change", "field_id", "said"),
    [
        ({"from": "not a day"}, "id_from", "Enter a valid date."),
        ({"to": "2026-02-30"}, "id_to", "Enter a valid date."),
        ("reversed", "id_to", "Choose a day after the start."),
        ("long", "id_to", "Choose a shorter period."),
    ],
)
def test_a_period_that_is_none_is_said_beside_its_field(world, client, change, field_id, said) -> None:
    if change == "reversed":
        change = {"from": (world.day + timedelta(days=3)).isoformat(), "to": world.day.isoformat()}
    elif change == "long":
        change = {"from": (world.day - timedelta(days=1200)).isoformat(), "to": world.day.isoformat()}
    _get(client, world.chain, "/", "owner")
    before = _log_size()
    for path in (
        "/reports/overview/",
        f"/reports/branches/{world.one.branch.pk}/",
        f"/reports/doctors/{world.doctor_a.pk}/",
        "/reports/appointments/",
    ):
        answer = _get(client, world.chain, path, **{**world.query, "figure": "completed", **change})
        # then the page answers 400 with its form, the error beside the field, and no figure
        assert answer.status_code == 400, path
        html = answer.content.decode()
        assert re.search(rf'id="{field_id}_error"[^>]*>.*?{re.escape(said)}', html, re.S), path
        assert 'class="report-cards"' not in html
        assert 'id="appointments"' not in html
    assert _log_size() == before


def test_a_branch_or_figure_that_is_not_one_is_a_400_not_a_500(world, client) -> None:
    _get(client, world.chain, "/", "owner")
    for path, query in (
        ("/reports/overview/", {"branch": "north"}),
        ("/reports/appointments/", {"figure": "everything"}),
        ("/reports/appointments/", {"figure": "completed", "doctor": "her"}),
        (f"/reports/branches/{world.one.branch.pk}/", {"format": "pdf"}),
        (f"/reports/doctors/{world.doctor_a.pk}/", {"branch": "abc"}),
    ):
        answer = _get(client, world.chain, path, **{**world.query, **query})
        assert answer.status_code == 400, (path, query)
    assert _get(client, world.chain, "/reports/branches/999999/", **world.query).status_code == 404
    # a branch that is none is not found, not an empty list of it
    for path, query in (
        (f"/reports/doctors/{world.doctor_a.pk}/", {"branch": 999999}),
        ("/reports/appointments/", {"figure": "completed", "branch": 999999}),
    ):
        assert _get(client, world.chain, path, **{**world.query, **query}).status_code == 404, path
    assert _get(client, world.chain, "/reports/doctors/999999/", **world.query).status_code == 404
