"""The staff chart (and a patient's packages page) show an appointment at the time on its branch's wall
clock for that date, summer time or not (issue 12's walk: a 08:00 visit in September read "07:00" on the
chart, the invoice said 08:00)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from tests.factories import Chain
from tests.factories.packages import sold
from tests.factories.scheduling import book, clinic_setup, clock_changes, local_today
from tests.frontend.test_billing_pages import _as, _get

pytestmark = pytest.mark.django_db


def test_the_chart_lists_visits_on_the_branchs_clock_either_side_of_the_clocks_going_back(in_a: Chain, client):
    # given a visit at 10:00 a week before the branch's clocks go back and one at 10:00 a week after
    clinic = clinic_setup(in_a)
    _, back = clock_changes(clinic.branch.timezone, after=local_today(clinic.tz) + timedelta(days=8))
    patient = clinic.patient("Dora")
    summer = book(clinic, clinic.at(back - timedelta(days=7), 10), patient=patient)
    winter = book(clinic, clinic.at(back + timedelta(days=7), 10), patient=patient)
    assert summer.span.lower.astimezone(clinic.tz).utcoffset() != winter.span.lower.astimezone(clinic.tz).utcoffset()
    # when the receptionist opens the patient's chart
    _as(client, in_a, "receptionist")
    html = _get(client, in_a, f"/patients/{patient.pk}/").content.decode()
    # then both read 10:00 on the branch's clock, neither an hour off
    with timezone.override(clinic.tz):
        shown = [date_format(timezone.localtime(a.span.lower), "SHORT_DATETIME_FORMAT") for a in (summer, winter)]
    with timezone.override("UTC"):
        utc_summer = date_format(timezone.localtime(summer.span.lower), "SHORT_DATETIME_FORMAT")
    for text in shown:
        assert f"<li>{text} · " in html
    assert utc_summer not in html


def test_the_packages_page_lists_booked_sessions_on_the_branchs_clock(in_a: Chain, client):
    # given a package and a visit booked on it at 10:00 a week before the branch's clocks go back
    clinic = clinic_setup(in_a)
    _, back = clock_changes(clinic.branch.timezone, after=local_today(clinic.tz) + timedelta(days=8))
    patient = clinic.patient("Ezra")
    sold(clinic, patient, sessions=3, validity_days=800)
    summer = book(clinic, clinic.at(back - timedelta(days=7), 10), patient=patient)
    # when the receptionist opens the patient's packages
    _as(client, in_a, "receptionist")
    html = _get(client, in_a, f"/patients/{patient.pk}/packages/").content.decode()
    # then the booked session reads 10:00 on the branch's clock
    with timezone.override(clinic.tz):
        assert f"<li>{date_format(timezone.localtime(summer.span.lower), 'SHORT_DATETIME_FORMAT')} · " in html
    with timezone.override("UTC"):
        assert date_format(timezone.localtime(summer.span.lower), "SHORT_DATETIME_FORMAT") not in html


def test_a_note_written_in_summer_reads_on_the_chains_clock(in_a: Chain, client):
    # given the patient's doctor wrote a note at 13:00 UTC on a summer day (clocks ahead of UTC there)
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    import time_machine

    from patients import services as records
    from tenants.org.selectors import chain_settings_get

    zone = ZoneInfo(chain_settings_get().default_timezone)
    forward, back = clock_changes(str(zone), after=local_today(zone))
    summer = forward + (back - forward) / 2 if forward < back else back - timedelta(days=30)
    owner, doctor = in_a.users["owner"], in_a.users["doctor"]
    patient = records.patient_create(actor=owner, first_name="Nell", last_name="Summers")
    records.care_team_assign(actor=owner, patient=patient, doctor=doctor.staff)
    written = datetime.combine(summer, time(13), tzinfo=UTC)
    assert written.astimezone(zone).utcoffset() != timedelta(0)
    with time_machine.travel(written, tick=False):
        records.note_create(actor=doctor, patient=patient, title="Review", body="Doing well.")
    # when she opens the chart
    _as(client, in_a, "doctor")
    html = _get(client, in_a, f"/patients/{patient.pk}/").content.decode()
    # then the note's time is the chain's wall-clock time, not UTC's
    with timezone.override(zone):
        assert date_format(timezone.localtime(written), "SHORT_DATETIME_FORMAT") in html
    with timezone.override("UTC"):
        assert date_format(timezone.localtime(written), "SHORT_DATETIME_FORMAT") not in html
