"""FHIR fuzz: every search parameter the CapabilityStatement declares (read from /fhir/R4/metadata at
test time, so a new parameter is fuzzed without touching this file), the paging and format parameters,
every read with bad ids, and Appointment create, sent hostile values. No answer may be a 5xx; every
answer must be FHIR JSON valid R4 (see conftest.r4_valid). Hypothesis runs derandomized (a fixed
seed) with a bounded number of examples; the counts are printed for the issue note."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fhir.conftest import FHIR, World, r4_valid

EXAMPLES_PER_PARAMETER = 30
EXAMPLES_PER_RESULT_PARAMETER = 10
EXAMPLES_PER_READ = 25
EXAMPLES_OF_CREATE = 50
RESULT_PARAMETERS = ("_count", "_offset", "_format")

EDGES = [
    "0001", "9999", "0000", "0001-01", "9999-12", "0001-01-01", "9999-12-31", "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999999Z", "0001-01-01T00:00:00+14:00",
    "ap0001", "ap9999-12-31", "sa9999", "eb0001", "gt9999-12-31", "lt0001-01-01", "ne0001", "le9999",
    "1999-02-30", "1999-02-29", "1999-13-01", "1999-00-10", "1999-01-01T24:00", "1999-01-01T23:60:00Z",
    "1999-01-01T23:59:60Z", "1999-01-01T10:00+25:00", "1999-01-01T10:00-18:01", "1999-01-01T10:00Z+01:00",
    "\x00", "a\x00b", "|", "||", "a|b|c", "|" * 300, ",", ",,", "1,2,3", "Patient/1,Patient/2", "1.5", "1e0",
    "1e999", "-1", "0", "+1", "true", "null", "[]", "{}", "NaN", "Infinity", "-Infinity",
    "\u0661\u0662\u0663", "Patient/\u0663", "Practitioner/\uff11", "%00", "%", "Schedule/d1-b1",
    "Schedule/d99999999999999999999-b1", "Schedule/d1-b1-s1", "urn:clinicflow:service|", "|1",
    "urn:clinicflow:mrn|", "http://x/Patient/1", "https://evil.example/Practitioner/9223372036854775808",
    "Patient/9223372036854775807", "Patient/9223372036854775808", "Location/-1", "Patient/1/_history/2",
    "Patient/", "/1", "9" * 5000, "a" * 10000, " ", "\t", "\u200b", "\ufeff1", "booked,", ",booked",
]  # fmt: skip
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "xx", "EQ", "gte", "~", "e"]
ZONES = ["", "Z", "+00:00", "+14:00", "-14:00", "+14:01", "+18:00", "-18:00", "+25:00", "-99:99", "+05:30"]
TEXT = st.characters(exclude_categories=["Cs"])  # a lone surrogate cannot be sent as UTF-8 at all


def _date_text(parts: tuple[int, int, int, int, int, int, str, str, int]) -> str:
    year, month, day, hour, minute, second, fraction, zone, cut = parts
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}"
    return text[:cut] + (zone if cut > 13 else "")


DATES = st.tuples(
    st.sampled_from([0, 1, 2, 1970, 9998, 9999]) | st.integers(0, 9999),
    st.integers(0, 13) | st.integers(0, 99),
    st.integers(0, 32) | st.integers(0, 99),
    st.integers(0, 25) | st.integers(0, 99),
    st.integers(0, 61) | st.integers(0, 99),
    st.integers(0, 61) | st.integers(0, 99),
    st.sampled_from(["", ".5", ".999999999", ".", ".1234567890123"]),
    st.sampled_from(ZONES),
    st.sampled_from([4, 7, 10, 16, 19, 30]),
).map(_date_text)  # type: ignore[arg-type]
HOSTILE = st.one_of(
    st.tuples(st.sampled_from(PREFIXES), DATES).map("".join),
    st.sampled_from(EDGES),
    st.integers(-(10**40), 10**40).map(str),
    st.floats().map(str),
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=12),
    st.text(TEXT, max_size=40),
    st.tuples(st.text(TEXT, max_size=20), st.text(TEXT, max_size=20)).map("|".join),
    st.tuples(st.sampled_from(["Patient", "Practitioner", "Location", "Schedule", "Slot", "x"]), st.text(TEXT)).map(
        "/".join
    ),
    st.integers(1, 6000).map(lambda n: "9" * n),
)
RESULT_VALUES = st.one_of(HOSTILE, st.integers(-5, 10**12).map(str), st.sampled_from(["json", "xml", "ttl", ""]))


def _settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        derandomize=True,  # a fixed seed: the same values every run
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


class Tally:
    def __init__(self) -> None:
        self.by_status: Counter[int] = Counter()
        self.server_errors: list[str] = []

    def check(self, label: str, response: Any) -> None:
        self.by_status[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{response.status_code} {label[:300]!r}")
            return
        assert response["Content-Type"].startswith(FHIR), (label[:300], response["Content-Type"])
        body = json.loads(response.content)
        r4_valid(body)
        if response.status_code >= 400:
            assert body["resourceType"] == "OperationOutcome"
            assert all(issue.get("diagnostics") for issue in body["issue"])


def _companions(w: World, resource: str) -> dict[str, str]:
    """Valid values of the other parameters, so that a fuzzed one is read to the end, not refused
    first for want of a required neighbour."""
    c = w.clinic
    if resource == "Slot":
        return {
            "schedule": f"Schedule/d{c.doctors[0].pk}-b{c.branch.pk}",
            "service-type": str(c.service.pk),
            "start": f"ge{w.day}",
        }
    if resource == "Appointment":
        return {"patient": f"Patient/{w.patient.pk}"}
    if resource == "Patient":
        return {"name": w.patient.last_name}
    return {}


@pytest.mark.timeout(300)
def test_no_fhir_request_is_a_server_error(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    w = world
    client = w.fhir.client
    tally = Tally()
    metadata = json.loads(client.get("/fhir/R4/metadata", HTTP_ACCEPT=FHIR).content)
    resources = metadata["rest"][0]["resource"]
    declared = [(r["type"], p["name"]) for r in resources for p in r.get("searchParam", [])]
    assert len(declared) >= 15

    def fuzz_parameter(resource: str, name: str, values: Any, examples: int) -> None:
        companions = {k: v for k, v in _companions(w, resource).items() if k != name}

        @_settings(examples)
        @given(value=values)
        def probe(value: str) -> None:
            query = urlencode([(name, value), *companions.items()])
            tally.check(f"{resource}?{name}={value}", client.get(f"/fhir/R4/{resource}?{query}", HTTP_ACCEPT=FHIR))

        probe()

    for resource, name in declared:
        fuzz_parameter(resource, name, HOSTILE, EXAMPLES_PER_PARAMETER)
    for resource in sorted({r["type"] for r in resources}):
        for name in RESULT_PARAMETERS:
            fuzz_parameter(resource, name, RESULT_VALUES, EXAMPLES_PER_RESULT_PARAMETER)

    readable = [r["type"] for r in resources if any(i["code"] == "read" for i in r["interaction"])]

    @_settings(EXAMPLES_PER_READ * len(readable))
    @given(resource=st.sampled_from(readable), ident=HOSTILE)
    def read(resource: str, ident: str) -> None:
        path = f"/fhir/R4/{resource}/{quote(ident, safe='')}"
        tally.check(path, client.get(path, HTTP_ACCEPT=FHIR))

    read()

    # Real times around the clinic's day too, so that some bodies reach the booking rules.
    near = st.integers(-24 * 60, 3 * 24 * 60).map(lambda m: (w.clinic.at(w.day, 9) + timedelta(minutes=m)).isoformat())

    @_settings(EXAMPLES_OF_CREATE)
    @given(
        start=DATES | st.sampled_from(EDGES) | near,
        end=st.none() | DATES | near,
        minutes=st.none() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False),
        reference=st.sampled_from(["Patient", "Practitioner", "Location"]),
        ident=st.none() | HOSTILE,
        code=st.none() | HOSTILE,
    )
    def create(start: str, end: str | None, minutes: Any, reference: str, ident: str | None, code: str | None) -> None:
        c = w.clinic
        refs = {"Patient": w.patient.pk, "Practitioner": c.doctors[0].pk, "Location": c.branch.pk}
        body: dict[str, Any] = {
            "resourceType": "Appointment",
            "status": "booked",
            "start": start,
            "serviceType": [{"coding": [{"code": code if code is not None else str(c.service.pk)}]}],
            "participant": [
                {
                    "actor": {"reference": f"{kind}/{pk if ident is None or kind != reference else ident}"},
                    "status": "accepted",
                }
                for kind, pk in refs.items()
            ],
        }
        if end is not None:
            body["end"] = end
        if minutes is not None:
            body["minutesDuration"] = minutes
        response = client.post("/fhir/R4/Appointment", json.dumps(body), content_type=FHIR, HTTP_ACCEPT=FHIR)
        tally.check(f"POST Appointment {json.dumps(body)}", response)

    create()

    total = sum(tally.by_status.values())
    with capsys.disabled():
        print(
            f"\nFHIR fuzz: {len(declared)} declared search parameters (+{len(RESULT_PARAMETERS)} result parameters "
            f"on {len(resources)} resources), {len(readable)} reads, Appointment create; {total} requests; "
            f"by status {dict(sorted(tally.by_status.items()))}; server errors {len(tally.server_errors)}"
        )
    assert not tally.server_errors, "\n".join(tally.server_errors[:20])
