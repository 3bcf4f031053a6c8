"""The fuzzer's open findings (/work/briefs/fuzz_findings.md), each replayed as the one request that
showed it. Each is a strict xfail: when its owner fixes it, the test passes, the xfail fails the
suite, and the pin and its entry in test_openapi.KNOWN are removed together."""

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
@pytest.mark.xfail(strict=True, reason="O3: a chain without a plan is listed with plan null, documented as a string")
def test_o3_the_chain_list_matches_its_schema(fuzz_db: None, fuzz_chain: Chain) -> None:
    # given chains without a plan, when the platform operator lists them
    # then the answer matches the public site's schema
    _conforms(OPERATOR, fuzz_chain, "GET", "/api/v1/clinics/", response_schema_conformance)
