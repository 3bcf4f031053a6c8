"""The fuzzer's findings, each replayed as the one request that showed it. An open one is a strict
xfail paired with an entry in test_openapi.KNOWN (when it is fixed, the xfail fails the suite and
both go); a fixed one stays here as a regression test."""

from __future__ import annotations

from typing import Any

import pytest
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import Chain
from tests.fuzz.conftest import TARGETS, FuzzClient, Target, site_schema

OPERATOR = TARGETS[-1]  # the platform operator on the public site

# --- schema conformance ---------------------------------------------------------------------------


def _conforms(target: Target, chain: Chain, method: str, path: str, check: Any, **parts: Any) -> None:
    """Replay one request through the site's own schema and run one conformance check on the answer."""
    case = site_schema(target)[path][method].Case(**parts)
    response = case.call(base_url=target.base_url, headers=FuzzClient(target, chain).headers())
    case.validate_response(response, checks=[check])


@pytest.mark.django_db
def test_o3_the_chain_list_matches_its_schema(fuzz_db: None, fuzz_chain: Chain) -> None:
    # given chains without a plan, when the platform operator lists them
    # then the answer matches the public site's schema
    _conforms(OPERATOR, fuzz_chain, "GET", "/api/v1/clinics/", response_schema_conformance)
