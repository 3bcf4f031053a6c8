"""The fuzzer's open findings (/work/briefs/fuzz_findings.md), each replayed as the one request that
showed it. Each is a strict xfail: when its owner fixes it, the test passes, the xfail fails the
suite, and the pin and its entry in test_openapi.KNOWN are removed together."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Chain
from tests.factories.scheduling import clinic_setup
from tests.fuzz.conftest import signed_note

LIST_VIEWS = [
    "/api/v1/appointments/",
    "/api/v1/branches/",
    "/api/v1/invitations/",
    "/api/v1/patients/",
    "/api/v1/scheduling/rooms/",
    "/api/v1/scheduling/services/",
    "/api/v1/scheduling/shifts/",
]


@pytest.mark.xfail(strict=True, reason="F1: OPTIONS on a list view answers 500 (DRF metadata, no serializer_class)")
@pytest.mark.parametrize("path", LIST_VIEWS)
def test_f1_options_on_a_list_view_is_not_a_server_error(api: Any, chain_a: Chain, path: str) -> None:
    # given the chain's owner
    owner = api(chain_a, "owner")
    # when she asks which methods a list view allows
    response = owner.call("OPTIONS", path)
    # then the answer is not a server error
    assert response.status_code < 500, response.content[:300]


@pytest.mark.xfail(strict=True, reason="F2: an impossible minute (12:99) in a date-time answers 500")
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/holds/", {"doctor": 1, "branch": 1, "service": 1, "start": "2024-01-01T12:99:00Z"}),
        ("/api/v1/scheduling/leave/", {"doctor": 1, "start": "2024-01-01T12:99:00Z", "end": "2024-01-02T12:99:00Z"}),
    ],
)
def test_f2_an_impossible_minute_is_not_a_server_error(
    api: Any, chain_a: Chain, path: str, body: dict[str, Any]
) -> None:
    # given the chain's owner
    owner = api(chain_a, "owner")
    # when she sends a time with minute 99
    response = owner.call("POST", path, body)
    # then the answer is not a server error
    assert response.status_code < 500, response.content[:300]


@pytest.mark.xfail(strict=True, reason="F3: merging a patient who has a signed note answers 500 (the note's lock)")
def test_f3_merging_a_patient_with_a_signed_note_is_not_a_server_error(api: Any, in_a: Chain) -> None:
    # given two records of one person, the second with a note its doctor signed
    clinic = clinic_setup(in_a, doctors=1)
    keep, merge = clinic.patient(), clinic.patient()
    signed_note(owner=in_a.users["owner"], doctor=clinic.doctors[0], patient=merge)
    # when the owner merges the second into the first
    response = api(in_a, "owner").call("POST", "/api/v1/patients/merge/", {"keep": keep.pk, "merge": merge.pk})
    # then the answer is not a server error
    assert response.status_code < 500, response.content[:300]
