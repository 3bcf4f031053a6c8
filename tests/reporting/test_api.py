"""The reporting API (/api/v1/reports/): filters, groups, the previous period, CSV and XLSX of each
report, the appointments behind a figure, and bad input answered 400 with its code, never a 500.

The data: two days of a chain (tests/reporting/report_world.py). Day D at the day clinic: a first
visit (completed), two no-shows, four cancellations; day D+1: the same patient's second visit
(completed), a visit moved there from D with the other doctor, one booked online; at the night
clinic: a completed visit on D and one at 23:15 on D+1 (its 00:15 the day after and 23:20 the day
before are outside the period)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from invoicing.models import Invoice
from notifications.models import Message
from reporting import drill
from reporting.export import Format
from reporting.selectors import Figures, figures_rows
from tenants.audit.models import AccessLog
from tests.factories.scheduling import local_today
from tests.helpers import assert_error
from tests.reporting.report_world import DAY_PRICE, World, lived

pytestmark = pytest.mark.django_db

BASE = "/api/v1/reports"


@pytest.fixture
def world(in_a) -> World:
    return lived(in_a)


@pytest.fixture
def owner(api, chain_a):
    return api(chain_a, "owner")


def _period(world: World, days: int = 2) -> dict[str, str]:
    return {"from": world.day.isoformat(), "to": (world.day + timedelta(days=days - 1)).isoformat()}


def _get(client, report: str, **params):
    return client.client.get(f"{BASE}/{report}/", params)


def _csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response) -> list[dict[str, object]]:
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = [[c.value for c in row] for row in sheet.iter_rows()]
    return [dict(zip(header, row, strict=True)) for row in rows]


# --- figures ------------------------------------------------------------------------------------


def test_figures_by_branch_day_doctor_and_service(owner, world):
    day_branch, night_branch = world.day_clinic.branch.pk, world.night.branch.pk
    # when the owner asks for the two days by branch
    body = _get(owner, "figures", group="branch", **_period(world)).json()
    # then one row per branch, with what each counts
    assert (body["from"], body["to"], body["group"], body["previous"]) == (
        world.day.isoformat(),
        (world.day + timedelta(days=1)).isoformat(),
        "branch",
        None,
    )
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {day_branch, night_branch}
    assert rows[day_branch]["label"] == world.day_clinic.branch.name
    assert (rows[day_branch]["bookings"], rows[night_branch]["bookings"]) == (10, 2)
    assert rows[day_branch]["completed"] == 2
    assert rows[day_branch]["no_shows"] == 2
    assert rows[day_branch]["no_show_rate"] == 0.5
    assert rows[day_branch]["cancelled"] == 4
    assert rows[day_branch]["new_patients"] == 1
    assert rows[day_branch]["returning_patients"] == 1
    assert rows[day_branch]["rebook_rate"] == 0.5
    # and every figure of the selectors is there, as they computed it
    assert set(body["rows"][0]) == {"key", "label", *Figures().as_dict()}
    direct = figures_rows(actor=world.day_clinic.owner, period=world.period, group="branch")
    assert [(r.key, r.figures.as_dict()) for r in direct] == [
        (r["key"], {k: v for k, v in r.items() if k not in ("key", "label")}) for r in body["rows"]
    ]

    # by day: the local days, as dates
    by_day = _get(owner, "figures", group="day", **_period(world)).json()["rows"]
    assert [(r["key"], r["bookings"]) for r in by_day] == [
        (world.day.isoformat(), 8),
        ((world.day + timedelta(days=1)).isoformat(), 4),
    ]
    # one doctor (the one the visit was moved to), one service (the night clinic's)
    doc_b = world.day_clinic.doctors[1].pk
    assert _get(owner, "figures", doctor=doc_b, **_period(world)).json()["rows"][0]["bookings"] == 4
    by_service = _get(owner, "figures", service=world.night.service.pk, **_period(world)).json()["rows"]
    assert by_service[0]["bookings"] == 2
    assert by_service[0]["capacity_minutes"] is None  # a service has no capacity of its own
    # several branches at once: the parameter repeated
    both = _get(owner, "figures", branch=[day_branch, night_branch], **_period(world)).json()["rows"]
    assert both[0]["bookings"] == 12


def test_a_client_accepting_only_the_files_type_gets_the_file_and_json_answers_stay_json(owner, world):
    # when a client generated from the schema asks for the CSV accepting only text/csv, or the
    # workbook accepting only its own type
    csv_file = owner.client.get(f"{BASE}/figures/", {"format": "csv", **_period(world)}, HTTP_ACCEPT="text/csv")
    workbook = owner.client.get(
        f"{BASE}/figures/",
        {"format": "xlsx", **_period(world)},
        HTTP_ACCEPT="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    # then each is the file, not a refusal
    assert _csv(csv_file)[0]["Bookings"] == "12"
    assert _xlsx(workbook)[0]["Bookings"] == 12
    # and a report that is never a file answers in JSON whatever ?format= says
    counts = owner.client.get("/api/v1/reports/call-backs/counts/", {"format": "xlsx"})
    assert (counts.status_code, counts["Content-Type"]) == (200, "application/json")


def test_figures_compared_with_the_period_before(owner, world):
    body = _get(owner, "figures", compare="1", **_period(world)).json()
    previous = body["previous"]
    assert (previous["from"], previous["to"]) == (
        (world.day - timedelta(days=2)).isoformat(),
        (world.day - timedelta(days=1)).isoformat(),
    )
    # the night visit at 23:20 the evening before is the previous period's only booking
    assert previous["rows"][0]["bookings"] == 1
    assert body["rows"][0]["bookings"] == 12


def test_figures_default_to_this_month_on_the_chains_clock(owner, world):
    today = local_today("Europe/London")
    body = _get(owner, "figures").json()
    assert body["from"] == today.replace(day=1).isoformat()
    assert body["to"] >= today.isoformat()
    # one day given: the rest of its month
    body = _get(owner, "figures", **{"from": world.day.isoformat()}).json()
    assert (body["from"], body["to"][:7]) == (world.day.isoformat(), world.day.isoformat()[:7])
    body = _get(owner, "figures", to=world.day.isoformat()).json()
    assert (body["from"], body["to"]) == (world.day.replace(day=1).isoformat(), world.day.isoformat())


def test_figures_as_csv_and_xlsx(owner, world):
    # when the rows by branch and the period before are downloaded
    response = _get(owner, "figures", group="branch", compare="1", format="csv", **_period(world))
    # then the file is named with its period and has the rows of both periods, said which is which
    first, last = world.day.isoformat(), (world.day + timedelta(days=1)).isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="figures-by-branch_{first}_{last}.csv"'
    rows = _csv(response)
    current = [r for r in rows if r["From"] == first]
    before = [r for r in rows if r["From"] != first]
    assert [(r["Name"], r["Bookings"], r["To"]) for r in current] == [
        (world.day_clinic.branch.name, "10", last),
        (world.night.branch.name, "2", last),
    ]
    # the period before: the day clinic's doctors were on shift with nothing booked; the night visit at 23:20
    assert [(r["Name"], r["Bookings"], r["Capacity minutes"]) for r in before] == [
        (world.day_clinic.branch.name, "0", str(2 * 2 * 480)),
        (world.night.branch.name, "1", before[1]["Capacity minutes"]),
    ]
    assert current[0]["No-show rate"] == "50.00%"
    assert current[0]["Key"] == str(world.day_clinic.branch.pk)
    # and the workbook holds the same cells
    book = _xlsx(_get(owner, "figures", group="branch", compare="1", format="xlsx", **_period(world)))
    assert [(r["Name"], r["Bookings"], r["No-show rate"]) for r in book] == [
        (r["Name"], int(r["Bookings"]), float(r["No-show rate"].rstrip("%")) / 100 if r["No-show rate"] else None)
        for r in rows
    ]


# --- money --------------------------------------------------------------------------------------


def test_money_by_doctor_per_currency(owner, world):
    doctor = world.day_clinic.doctors[0]
    invoices = Invoice.objects.filter(appointment__doctor=doctor)
    invoiced = sum(i.total_minor for i in invoices)
    assert invoiced == 2 * DAY_PRICE
    # when the money is read by doctor
    body = _get(owner, "money", group="doctor", **_period(world)).json()
    # then the doctor's row has her visits' invoices and the payment taken
    row = next(r for r in body["rows"] if r["key"] == doctor.pk)
    assert row["currency"] == "GBP"
    assert (row["invoices"], row["invoiced_minor"], row["collected_minor"], row["net_collected_minor"]) == (
        2,
        invoiced,
        DAY_PRICE,
        DAY_PRICE,
    )
    night = next(r for r in body["rows"] if r["key"] == world.night.doctors[0].pk)
    assert night["invoiced_minor"] > 0
    assert night["collected_minor"] == 0
    # the file shows amounts in pounds
    rows = _csv(_get(owner, "money", group="doctor", format="csv", **_period(world)))
    line = next(r for r in rows if r["Key"] == str(doctor.pk))
    assert (line["Currency"], line["Invoiced"], line["Collected"]) == ("GBP", f"{invoiced / 100:.2f}", "60.00")
    book = _xlsx(_get(owner, "money", group="doctor", format="xlsx", **_period(world)))
    assert next(r for r in book if r["Key"] == str(doctor.pk))["Invoiced"] == invoiced / 100


def test_money_compared_and_by_month(owner, world):
    body = _get(owner, "money", group="month", compare="true", **_period(world)).json()
    assert body["rows"][0]["key"] == world.day.replace(day=1).isoformat()
    assert body["previous"]["rows"] == []  # nothing was invoiced the two days before


# --- messages and load --------------------------------------------------------------------------


def test_messages_by_channel_and_kind(owner, world):
    period = {"from": (world.day - timedelta(days=2)).isoformat(), "to": (world.day + timedelta(days=1)).isoformat()}
    reminders = Message.objects.filter(kind="reminder", channel="sms")
    body = _get(owner, "messages", **period).json()
    row = next(r for r in body["rows"] if (r["channel"], r["kind"]) == ("sms", "reminder"))
    assert row["messages"] == reminders.count() > 0
    assert row["sent"] == reminders.filter(sent_at__isnull=False).count() > 0
    rows = _csv(_get(owner, "messages", format="csv", **period))
    line = next(r for r in rows if (r["Channel"], r["Kind"]) == ("sms", "reminder"))
    assert int(line["Written"]) == row["messages"]


def test_doctors_load(owner, world):
    doctor = world.day_clinic.doctors[0]
    body = _get(owner, "load", **_period(world)).json()
    row = next(r for r in body["rows"] if r["doctor_id"] == doctor.pk)
    # on shift 9:00 to 17:00 both days; her visits kept: the first visit and a no-show on D, the second on D+1
    assert (row["capacity_minutes"], row["booked_minutes"], row["overloaded"]) == (2 * 480, 90, False)
    assert row["branch_id"] == world.day_clinic.branch.pk
    # by default the seven days from tomorrow on the chain's clock
    ahead = _get(owner, "load").json()
    tomorrow = local_today("Europe/London") + timedelta(days=1)
    assert (ahead["from"], ahead["to"]) == (tomorrow.isoformat(), (tomorrow + timedelta(days=6)).isoformat())
    rows = _csv(_get(owner, "load", format="csv", **_period(world)))
    line = next(r for r in rows if r["Doctor"] == row["doctor"])
    assert (line["Booked minutes"], line["Utilization"], line["Overloaded"]) == ("90", "9.38%", "no")


# --- the appointments behind a figure ------------------------------------------------------------


def test_the_appointments_behind_a_figure_name_their_patients_and_are_access_logged(owner, world):
    missed = world.ids("missed_reminded", "missed_unreminded")
    # when the owner lists the no-shows, one per page
    page = _get(owner, "appointments", figure="no_shows", page_size=1, **_period(world)).json()
    # then the list is as long as the figure and names each patient
    assert page["count"] == 2
    assert page["next"]
    row = page["results"][0]
    first = world.visits["missed_reminded"]
    assert row["id"] == first.pk
    assert (row["patient"], row["mrn"]) == (str(first.patient), first.patient.mrn)
    assert (row["status"], row["source"], row["cancelled_by"], row["late_cancellation"]) == (
        "no_show",
        "phone",
        None,
        None,
    )
    assert row["start"] == first.span.lower.astimezone(world.day_clinic.tz).isoformat()
    second = _get(owner, "appointments", figure="no_shows", page_size=1, page=2, **_period(world)).json()
    assert {row["id"], second["results"][0]["id"]} == missed
    # and each page's patients are in the access log, as listed
    listed = AccessLog.objects.filter(action="list", object_type="appointment")
    assert sorted(listed.values_list("object_id", "patient_id")) == sorted(
        (str(a.pk), a.patient_id) for a in (world.visits["missed_reminded"], world.visits["missed_unreminded"])
    )


def test_the_appointments_behind_a_figure_as_files(owner, world):
    late = world.visits["late_by_patient"]
    rows = _csv(_get(owner, "appointments", figure="cancelled_late", format="csv", **_period(world)))
    assert [r["Appointment"] for r in rows] == [str(late.pk), str(world.visits["late_by_clinic"].pk)]
    assert (rows[0]["Patient"], rows[0]["MRN"], rows[0]["Cancelled by"], rows[0]["Late cancellation"]) == (
        str(late.patient),
        late.patient.mrn,
        "patient",
        "yes",
    )
    assert rows[0]["Start"] == late.span.lower.astimezone(world.day_clinic.tz).strftime("%Y-%m-%d %H:%M")
    exported = AccessLog.objects.filter(action="export", object_type="appointment")
    assert sorted(exported.values_list("patient_id", flat=True)) == sorted(
        [late.patient_id, world.visits["late_by_clinic"].patient_id]
    )
    book = _xlsx(_get(owner, "appointments", figure="cancelled_late", format="xlsx", **_period(world)))
    assert [r["Appointment"] for r in book] == [late.pk, world.visits["late_by_clinic"].pk]
    assert exported.count() == 4  # the workbook is a second export


def test_the_appointments_behind_a_figure_narrowed_like_the_figure(owner, world):
    doc_b = world.day_clinic.doctors[1].pk
    mine = _get(owner, "appointments", figure="appointments", doctor=doc_b, **_period(world)).json()
    figure = _get(owner, "figures", doctor=doc_b, **_period(world)).json()["rows"][0]["appointments"]
    assert mine["count"] == figure == len(mine["results"])
    assert world.visits["moved"].pk in {r["id"] for r in mine["results"]}
    night = _get(owner, "appointments", figure="bookings", branch=world.night.branch.pk, **_period(world)).json()
    assert {r["id"] for r in night["results"]} == world.ids("night_in", "night_first")


# --- bad input --------------------------------------------------------------------------------------

BAD = [
    ("figures", {"from": "2027-02-30"}, 400, "validation_error", "from"),
    ("figures", {"from": "1899-12-31"}, 400, "validation_error", "from"),
    ("figures", {"to": "yesterday"}, 400, "validation_error", "to"),
    ("figures", {"from": "1900-01-01", "to": "2199-12-31"}, 400, "report_period_invalid", "to"),
    ("figures", {"group": "foo"}, 400, "validation_error", "group"),
    ("figures", {"branch": "abc"}, 400, "validation_error", "branch.0"),
    ("figures", {"branch": "1.5"}, 400, "validation_error", "branch.0"),
    ("figures", {"branch": "0"}, 400, "validation_error", "branch.0"),
    ("figures", {"doctor": "99999999999999999999999"}, 400, "validation_error", "doctor.0"),
    ("figures", {"service": "\u0663"}, 400, "validation_error", "service.0"),
    ("figures", {"compare": "maybe"}, 400, "validation_error", "compare"),
    ("figures", {"format": "pdf"}, 400, "validation_error", "format"),
    ("money", {"group": "patient"}, 400, "validation_error", "group"),
    ("messages", {"from": "1900-01-01", "to": "1910-01-01"}, 400, "report_period_invalid", "to"),
    ("load", {"format": "html"}, 400, "validation_error", "format"),
    ("appointments", {}, 400, "validation_error", "figure"),
    ("appointments", {"figure": "booked_minutes"}, 400, "validation_error", "figure"),
    ("appointments", {"figure": "bookings", "page": "99"}, 404, "not_found", None),
    ("appointments", {"figure": "bookings", "page_size": "abc"}, None, None, None),
]


@pytest.mark.parametrize(("report", "params", "status", "code", "field"), BAD)
def test_bad_input_is_refused_with_its_code(owner, in_a, report, params, status, code, field):
    response = _get(owner, report, **params)
    if status is None:
        assert response.status_code == 200  # a page size that is not a number is the default's
        return
    error = assert_error(response, status, code)
    if field:
        assert field in error["fields"], error


def test_a_period_ending_before_it_starts(owner, in_a):
    today = timezone.localdate()
    for report in ("figures", "money", "messages", "load", "appointments"):
        params = {"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat(), "figure": "bookings"}
        assert_error(_get(owner, report, **params), 400, "report_period_invalid")
    # the longest period reports cover is taken, one day more is not
    longest = {"from": today.isoformat(), "to": (today + timedelta(days=1099)).isoformat()}
    assert _get(owner, "figures", group="month", **longest).status_code == 200
    longer = {"from": today.isoformat(), "to": (today + timedelta(days=1100)).isoformat()}
    assert_error(_get(owner, "figures", **longer), 400, "report_period_invalid")


def test_a_branch_of_no_one_is_empty_for_the_owner(owner, in_a):
    body = _get(owner, "figures", branch=987654, group="branch").json()
    assert body["rows"] == []


def test_a_list_too_long_for_one_file_is_refused(owner, world, monkeypatch):
    monkeypatch.setitem(drill.EXPORT_MAX_APPOINTMENTS, Format.CSV, 3)
    # when more bookings than a file holds are downloaded
    response = _get(owner, "appointments", figure="bookings", format="csv", **_period(world))
    # then the reader is asked for a shorter period, and nothing was exported
    error = assert_error(response, 400, "validation_error")
    assert "to" in error["fields"]
    assert not AccessLog.objects.filter(action="export").exists()
    # a list that fits is a file
    assert _get(owner, "appointments", figure="no_shows", format="csv", **_period(world)).status_code == 200
