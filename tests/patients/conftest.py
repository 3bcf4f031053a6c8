from __future__ import annotations

from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context

from patients import services
from patients.models import ClinicalNote, Patient
from tenants.accounts.models import User
from tests.factories import Chain, user_with_roles


@dataclass
class Record:
    chain: Chain
    patient: Patient
    note: ClinicalNote
    outsider: User  # a doctor of the chain who has never seen this patient
    twin: Patient  # a second record of the same person, to merge


@pytest.fixture
def record(chain_a) -> Record:
    with schema_context(chain_a.schema):
        owner = chain_a.users["owner"]
        patient = services.patient_create(
            actor=owner,
            first_name="Zoë",
            last_name="Müller",
            date_of_birth=None,
            phone="+44 7911 123456",
            email="zoe@example.com",
        )
        doctor = chain_a.users["doctor"]
        # The doctor is the patient's doctor by an owner's assignment (real care, not self-granted).
        services.care_team_assign(actor=owner, patient=patient, doctor=doctor.staff)
        note = services.note_create(actor=doctor, patient=patient, title="First visit", body="Cough for 3 weeks.")
        outsider = user_with_roles(email="locum@alpha.example", roles=["doctor"])
        twin = services.patient_create(actor=owner, first_name="Zoe", last_name="Muller", ignore_duplicates=True)
    return Record(chain=chain_a, patient=patient, note=note, outsider=outsider, twin=twin)
