"""The booking link's page gives the visit's time on its branch's clock, whatever zone the server runs in."""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import translation
from django.utils.formats import date_format

from scheduling import services as sched
from tenants.org import services as org
from tests.factories.scheduling import book, clinic_setup

pytestmark = pytest.mark.django_db


def test_the_booking_link_page_names_the_time_on_the_branchs_clock(in_a, client):
    # given a branch in Tokyo (nine hours ahead of UTC) and a visit at 17:00 there, eight days ahead
    tokyo = org.branch_create(actor=in_a.users["owner"], name="Tokyo", timezone_name="Asia/Tokyo")
    clinic = clinic_setup(in_a, branch=tokyo, opens=time(8), closes=time(20), shift=(time(8), time(20)))
    start = clinic.at(clinic.days_ahead(8), 17)
    token = sched.manage_link_issue(appointment=book(clinic, start, actor=clinic.owner))

    # when the patient opens the link
    page = client.get(f"/book/manage/{token}/", HTTP_HOST=in_a.host).content.decode()

    # then the page reads 17:00 on the branch's clock, not 08:00 UTC
    with translation.override("en"):
        shown = date_format(start.replace(tzinfo=None), "DATETIME_FORMAT")
    assert f"{shown} (Asia/Tokyo)" in page
