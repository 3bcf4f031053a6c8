"""Both sites' OpenAPI documents, fuzzed by schemathesis as an owner, a receptionist and a platform
operator: no request may get a 5xx, and (as switched on in DEFAULT_CHECKS) every response must match
what the schema documents. How the run is set up: conftest.py."""

from __future__ import annotations

import os
from typing import Any

import pytest
from schemathesis.checks import not_a_server_error
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import Chain
from tests.fuzz.conftest import RECORD, TARGETS, FuzzClient, Known, Target, site_schema

# The test's own transaction is never used: requests run on committed connections (fuzz_db).
pytestmark = pytest.mark.django_db

CHECKS = {
    check.__name__: check
    for check in (
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    )
}
DEFAULT_CHECKS = ",".join(CHECKS)

# Failures found and owned by someone else, tolerated here until fixed (conftest.Known).
KNOWN: list[Known] = []


def _checks() -> list[Any]:
    names = [n.strip() for n in os.environ.get("FUZZ_CHECKS", DEFAULT_CHECKS).split(",") if n.strip()]
    unknown = set(names) - set(CHECKS)
    assert not unknown, f"unknown checks {unknown}; known: {sorted(CHECKS)}"
    RECORD.checks = names
    return [CHECKS[n] for n in names]


@pytest.fixture(params=TARGETS, ids=[t.name for t in TARGETS])
def fuzz_target(request: pytest.FixtureRequest) -> Target:
    return request.param


@pytest.fixture
def fuzz_schema(fuzz_target: Target, fuzz_db: None) -> Any:
    return site_schema(fuzz_target)


@pytest.fixture
def fuzz_client(fuzz_target: Target, fuzz_chain: Chain) -> FuzzClient:
    return FuzzClient(fuzz_target, fuzz_chain)


def test_api(fuzz_schema: Any, fuzz_client: FuzzClient) -> None:
    """Every operation of the site, one Hypothesis run each (explicit examples, coverage cases, then
    generated valid and invalid requests). schemathesis' lazy pytest integration is not used: it
    renames pytest nodes through an attribute pytest 9.2 no longer has."""
    checks = _checks()
    survey = os.environ.get("FUZZ_SURVEY") == "1"
    failed: dict[str, str] = {}

    def send(case: Any) -> None:
        fuzz_client.send(case, checks, KNOWN, survey=survey)

    # given every operation the site documents
    for result in get_all_tests(schema=fuzz_schema, test_func=send, settings=None, given_kwargs=None):
        operation, run = result.ok()  # a schema the loader cannot read fails the test here
        # when the fuzzer sends its requests as the target's user
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # each operation's failure is reported; the run goes on
            failed[operation.label] = str(exc)[:3000]
    # then no check failed outside the known, pinned findings
    assert not failed, "\n\n".join(f"{label}:\n{text}" for label, text in failed.items())
