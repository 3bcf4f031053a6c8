"""The clinical record from the pages, at a desk's 1024x768: a doctor uploads an attachment and adds a
diagnosis; an owner merges two records of one person and opens the change history of an
appointment reception moved."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients import services as patients
from scheduling import services as sched
from tests.browser.conftest import recovery_code, sign_in
from tests.factories.scheduling import MONDAY, book, clinic_setup, daytime_branch
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}


_sign_in = sign_in  # tests/browser/conftest.py: password, then a recovery code for owners


def test_a_doctor_uploads_an_attachment_and_adds_a_diagnosis(page, live, browser_chain, shot, axe, tmp_path):
    # given a patient in the doctor's care
    owner, doctor = browser_chain.users["owner"], browser_chain.users["doctor"]
    with committed(), schema_context(browser_chain.schema):
        patient = patients.patient_create(
            actor=owner, first_name="Nadia", last_name="Brooks", phone="+44 7912 340001", ignore_duplicates=True
        )
        patients.care_team_assign(actor=owner, patient=patient, doctor=doctor.staff)
    report = tmp_path / "spirometry.pdf"
    report.write_bytes(b"%PDF-1.4\n% spirometry report\n")
    page.set_viewport_size(DESK)
    _sign_in(page, live, doctor.email)
    page.goto(f"{live}/patients/{patient.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Nadia Brooks"))).to_be_visible()
    sections = page.get_by_role("navigation", name="Sections of the record")
    # when she uploads a report on the Attachments section
    sections.get_by_role("link", name="Attachments").click()
    page.get_by_label("Title").fill("Spirometry report")
    page.get_by_label("Kind").select_option("lab_result")
    page.get_by_label("File").set_input_files(str(report))
    shot("record-attachment-form")
    axe("attachments section")
    page.get_by_role("button", name="Upload").click()
    # then it is listed, to download
    expect(page.get_by_text("Spirometry report uploaded.")).to_be_visible()
    expect(page.get_by_role("link", name="Spirometry report")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("spirometry.pdf"))).to_be_visible()
    shot("record-attachments")
    # when she adds a diagnosis, first with a code that is none
    sections.get_by_role("link", name="Diagnoses and prescriptions").click()
    page.get_by_label("ICD-10 code").fill("J4")
    page.get_by_label("Diagnosis", exact=True).fill("Asthma")
    page.get_by_role("button", name="Add diagnosis").click()
    expect(page.locator("#id_diagnosis-icd10_code_error")).to_contain_text("Use an ICD-10 code such as J45.9.")
    page.get_by_label("ICD-10 code").fill("J45.9")
    page.get_by_role("button", name="Add diagnosis").click()
    # then the diagnosis is on the record
    expect(page.get_by_text("Diagnosis J45.9 added.")).to_be_visible()
    expect(page.get_by_role("cell", name="Asthma", exact=True)).to_be_visible()
    shot("record-diagnoses")
    axe("diagnoses section")


def test_an_owner_merges_two_records_and_reads_a_moved_appointments_history(page, live, browser_chain, shot, axe):
    # given two records of one person, and an appointment reception moved from 10:00 to 11:30
    owner, receptionist = browser_chain.users["owner"], browser_chain.users["receptionist"]
    with committed(), schema_context(browser_chain.schema):
        keep = patients.patient_create(
            actor=owner,
            first_name="Peter",
            last_name="Quenby",
            date_of_birth=date(1971, 4, 2),
            phone="+44 7912 340002",
            ignore_duplicates=True,
        )
        twin = patients.patient_create(
            actor=receptionist,
            first_name="Pete",
            last_name="Quenby",
            date_of_birth=date(1971, 4, 2),
            ignore_duplicates=True,
        )
        branch = daytime_branch(browser_chain)
        receptionist.staff.branches.add(branch)
        receptionist = type(receptionist).objects.get(pk=receptionist.pk)  # her branches as they are now
        clinic = clinic_setup(browser_chain, branch=branch, doctors=1)
        moved = book(clinic, clinic.at(MONDAY, 10), patient=keep, actor=owner)
        sched.appointment_reschedule(actor=receptionist, appointment=moved, start=clinic.at(MONDAY, 11, 30))
    page.set_viewport_size(DESK)
    _sign_in(page, live, owner.email, recovery_code(browser_chain, "owner"))
    # when the owner opens one record, picks the likely duplicate, compares and merges
    page.goto(f"{live}/patients/{keep.pk}/")
    page.get_by_role("link", name="Merge a duplicate").click()
    expect(page.get_by_role("heading", name="Likely the same person")).to_be_visible()
    shot("merge-pick")
    page.get_by_role("link", name=re.compile(f"Pete Quenby \\({twin.mrn}\\)")).click()
    expect(page.get_by_role("columnheader", name=re.compile(twin.mrn))).to_be_visible()
    page.get_by_label("Keep this record").check()
    shot("merge-compare")
    axe("merge comparison")
    page.get_by_role("button", name="Merge the records").click()
    # then one record remains, with the message saying which went where
    expect(page.get_by_text(f"{twin.mrn} was merged into {keep.mrn}.")).to_be_visible()
    # when she opens the history of the moved appointment from the chart
    page.get_by_role("link", name=re.compile("Change history of the appointment")).first.click()
    # then it says who moved it, from when to when
    expect(page.get_by_role("heading", name=re.compile("Change history"))).to_be_visible()
    change = page.locator("article", has_text=receptionist.get_full_name())
    expect(change.get_by_role("cell", name=re.compile("10:00 to 10:30"))).to_be_visible()
    expect(change.get_by_role("cell", name=re.compile("11:30 to 12:00"))).to_be_visible()
    shot("appointment-history")
    axe("appointment history")
