"""Schema-driven fuzzing of both sites' OpenAPI documents with schemathesis, in-process (WSGI).

What is fuzzed: the schema each site serves at /api/v1/schema/ -- a chain's site (Host fuzz.localhost)
as its owner and as its receptionist, the public site (Host localhost) as a platform operator -- with
the suite's real PostgreSQL. Every request runs on an autocommit connection of its own (as under a
real server): a request that fails in the database cannot poison the next one, and what a request
writes stays, so later examples meet real rows. The chain is a chain of its own ("fuzz"), and these
tests run after every other test of the session: what the fuzzer writes, suspends or deletes touches
no other test.

Deterministic: a fixed seed, derandomized Hypothesis, no example database, a bounded number of examples
per operation, the operations in the schema's order, and a fresh test database every run.

Switches (environment):
  FUZZ_CHECKS    comma-separated schemathesis checks (default: see DEFAULT_CHECKS in test_openapi.py)
  FUZZ_EXAMPLES  examples per operation in the fuzzing phase (default 12)
  FUZZ_SURVEY=1  record every failure without failing the test (to list findings); the report is
                 written to test-artifacts/fuzz/report.json either way.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from patients.models import ClinicalNote, Patient
from tenants.accounts.models import User
from tenants.org.models import StaffMember
from tests.factories import Chain, chain_create
from tests.helpers import committed

FUZZ_SLUG = "fuzz"
ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "test-artifacts" / "fuzz" / "report.json"


@dataclass(frozen=True)
class Target:
    """One site as one kind of user."""

    name: str
    host: str
    role: str  # a staff role of the fuzz chain, or "operator" on the public site
    # schemathesis' coverage phase (boundary values, every kind of invalid input, unexpected
    # methods): thousands of requests on the chain's site, so run once per site, as its most
    # powerful user; the others get the generated (fuzzing) phase only.
    coverage: bool

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"


TARGETS = [
    Target("chain-owner", f"{FUZZ_SLUG}.localhost", "owner", coverage=True),
    Target("chain-receptionist", f"{FUZZ_SLUG}.localhost", "receptionist", coverage=False),
    # Last: the operator may suspend or delete chains.
    Target("public-operator", "localhost", "operator", coverage=True),
]
# Integer fields and parameters that name a row (path, query and body).
ID_FIELDS = frozenset(
    {"id", "doctor_pk", "appointment", "appointment_id", "branch", "doctor", "keep", "merge", "note", "patient"}
    | {"patient_id", "room", "service", "series", "branch_ids", "service_ids"}
)
OPERATOR_EMAIL = "operator@platform.example"  # made by tests/conftest.py's django_db_setup


@dataclass(frozen=True)
class Known:
    """A failure found, owned by someone else and tolerated until fixed (and pinned meanwhile by a
    strict xfail in test_findings.py): it matches a failure of `check` on `operation` as `target`
    ("*": any) whose status, title, message or exception contains `text`."""

    finding: str  # its id in /work/briefs/fuzz_findings.md
    check: str
    text: str
    operation: str = "*"
    target: str = "*"

    def matches(self, target: str, operation: str, check: str, text: str) -> bool:
        return (
            self.check == check
            and self.target in ("*", target)
            and self.operation in ("*", operation)
            and self.text in text
        )


# --- ordering ------------------------------------------------------------------------------------


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fuzz runs last in the session (writes committed data and may suspend chains)."""
    here = Path(__file__).parent
    fuzz = [item for item in items if Path(str(item.path)).is_relative_to(here)]
    if fuzz:
        items[:] = [item for item in items if item not in fuzz] + fuzz


# --- the record of a run -------------------------------------------------------------------------


@dataclass
class Finding:
    target: str
    operation: str
    check: str
    title: str
    message: str
    status: int | None
    request: str  # a curl command
    response: str  # body excerpt
    exception: str = ""
    known: str = ""  # the finding id it is tolerated under, if any
    count: int = 1


@dataclass
class FuzzRecord:
    operations: dict[str, set[str]] = field(default_factory=dict)  # target -> operation labels
    requests: Counter[str] = field(default_factory=Counter)  # target -> requests sent
    statuses: Counter[str] = field(default_factory=Counter)  # "2xx", "4xx", "5xx"
    phases: Counter[str] = field(default_factory=Counter)  # schemathesis phase -> requests
    answers: Counter[str] = field(default_factory=Counter)  # "target operation status error-code" -> requests
    failures: Counter[str] = field(default_factory=Counter)  # check name -> failing requests
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    app_seconds: float = 0.0  # time spent inside the app

    def add(self, finding: Finding) -> None:
        key = (finding.target, finding.operation, finding.check, finding.title)
        self.failures[finding.check] += 1
        seen = self.findings.get(key)
        if seen is None:
            self.findings[key] = finding
            return
        seen.count += 1
        # Keep the shortest reproduction.
        if len(finding.request) < len(seen.request):
            finding.count = seen.count
            self.findings[key] = finding

    def as_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "operations": {target: len(ops) for target, ops in self.operations.items()},
            "requests": dict(self.requests),
            "statuses": dict(self.statuses),
            "phases": dict(self.phases),
            "answers": dict(sorted(self.answers.items())),
            "failures_by_check": dict(self.failures),
            "findings": [vars(f) for f in self.findings.values()],
        }


RECORD = FuzzRecord()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not RECORD.requests:
        return
    write = terminalreporter.write_line
    terminalreporter.section("schemathesis fuzz")
    write(f"checks: {', '.join(RECORD.checks)}")
    for target, ops in RECORD.operations.items():
        write(f"{target}: {len(ops)} operations, {RECORD.requests[target]} requests")
    operations = sum(len(ops) for ops in RECORD.operations.values())
    write(f"total: {operations} operations, {sum(RECORD.requests.values())} requests")
    write(f"responses: {dict(sorted(RECORD.statuses.items()))}, by phase: {dict(RECORD.phases)}")
    write(f"time inside the app: {RECORD.app_seconds:.0f} s")
    write(f"failing requests by check: {dict(RECORD.failures) or 0}")
    distinct = Counter(f.check for f in RECORD.findings.values())
    known = Counter(f.check for f in RECORD.findings.values() if f.known)
    write(f"distinct failures by check: {dict(distinct) or 0} (of which known/xfail: {dict(known) or 0})")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(RECORD.as_dict(), indent=1, default=str))
    write(f"report: {REPORT}")


def _error_code(response: Any) -> str:
    try:
        body = json.loads(response.content)
    except ValueError:
        return "-"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) else "-"


# --- data ----------------------------------------------------------------------------------------


def _seed(chain: Chain) -> None:
    """Real rows for the fuzzer to meet: the chain's ids start at 1, the numbers Hypothesis tries
    first. Dates are derived from now."""
    from patients import services as patients
    from scheduling.services import appointment_book
    from tests.factories.scheduling import clinic_setup

    clinic = clinic_setup(chain, doctors=1, rooms=1)
    owner = chain.users["owner"]
    people = [patients.patient_create(actor=owner, first_name=f"Fuzz{i}", last_name="Patient") for i in range(3)]
    day = timezone.localdate() + timedelta(days=7)
    for i, patient in enumerate(people):
        appointment_book(
            actor=owner,
            patient=patient,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(day, 10 + i),
        )
    signed_note(owner=owner, doctor=clinic.doctors[0], patient=people[0])  # merges and note operations meet one


def signed_note(*, owner: User, doctor: StaffMember, patient: Patient) -> ClinicalNote:
    """A note the doctor wrote and signed, her being in the patient's care team."""
    from patients import services as patients

    patients.care_team_assign(actor=owner, patient=patient, doctor=doctor)
    note = patients.note_create(actor=doctor.user, patient=patient, title="Visit", body="Seen.")
    return patients.note_sign(actor=doctor.user, note=note)


@pytest.fixture(scope="session")
def fuzz_chain(django_db_setup: None, django_db_blocker: Any) -> Chain:
    with django_db_blocker.unblock(), committed():
        chain = chain_create(FUZZ_SLUG, branches=1)
        with schema_context(chain.schema):
            _seed(chain)
        return chain


@pytest.fixture
def fuzz_db(fuzz_chain: Chain, django_db_blocker: Any) -> Iterator[None]:
    """The test's requests run on a fresh autocommit connection, as under a real server."""
    with django_db_blocker.unblock(), committed():
        yield


# --- the schema ----------------------------------------------------------------------------------

SEED = 20260901


def site_schema(target: Target) -> Any:
    """The schema the site serves to anyone, loaded through the app itself, with the run's settings."""
    import schemathesis
    from django.core.wsgi import get_wsgi_application

    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "deterministic": True,
                "database": "none",
                "max-examples": int(os.environ.get("FUZZ_EXAMPLES", "12")),
                "mode": "all",
                # Authentication is the client's (a real token), not a generated header or cookie.
                "with-security-parameters": False,
            },
            # The stateful phase is the engine's (CLI), not the pytest integration's.
            "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": target.coverage}},
        }
    )
    return schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json", get_wsgi_application(), config=config, headers={"Host": target.host}
    )


# --- the client ----------------------------------------------------------------------------------


class FuzzClient:
    """Sends schemathesis cases to the app as one user with a live API token. An operation that
    revokes tokens (logout, logout-all, DELETE /auth/tokens/{id}) does not end the run: a token found
    gone is replaced before the next request."""

    def __init__(self, target: Target, chain: Chain) -> None:
        self.target = target
        self.chain = chain
        self.token_key = ""
        self.token = ""

    def _schema(self) -> str:
        return self.chain.schema if self.target.role != "operator" else get_public_schema_name()

    def headers(self) -> dict[str, str]:
        from tenants.accounts.models import ApiToken, User
        from tenants.accounts.services import api_token_issue

        with schema_context(self._schema()):
            if not self.token or not ApiToken.objects.filter(token_key=self.token_key).exists():
                email = self.chain.email(self.target.role) if self.target.role != "operator" else OPERATOR_EMAIL
                user = User.objects.get(email=email)
                instance, self.token = api_token_issue(user=user, client_name="fuzz")
                self.token_key = instance.token_key
        return {"Authorization": f"Token {self.token}"}

    @staticmethod
    def aim(case: Any) -> None:
        """Point a valid request's ids at rows that exist: ids 1 to 6 of every table of the fuzz
        chain do (or are near ones that do), while Hypothesis' ids mostly miss and meet only the 404
        path. Invalid requests keep what they were made of."""
        from schemathesis import GenerationMode

        if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
            return

        def near(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                return value
            return abs(value) % 6 + 1

        for container in (case.path_parameters, case.query, case.body):
            if not isinstance(container, dict):
                continue
            for name, value in container.items():
                if name in ID_FIELDS:
                    container[name] = [near(v) for v in value] if isinstance(value, list) else near(value)

    def send(self, case: Any, checks: list[Any], known: list[Known], survey: bool) -> None:
        from schemathesis.core.failures import FailureGroup

        label = case.operation.label
        RECORD.operations.setdefault(self.target.name, set()).add(label)
        RECORD.requests[self.target.name] += 1
        RECORD.phases[case.meta.phase.name.value if case.meta else "explicit"] += 1
        self.aim(case)
        headers = self.headers()
        caught: list[BaseException] = []

        def on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
            import sys

            exc = sys.exc_info()[1]
            if exc is not None:
                caught.append(exc)

        got_request_exception.connect(on_exception, weak=False)
        started = time.perf_counter()
        try:
            response = case.call(base_url=self.target.base_url, headers=headers)
        finally:
            got_request_exception.disconnect(on_exception)
            RECORD.app_seconds += time.perf_counter() - started
        RECORD.statuses[f"{response.status_code // 100}xx"] += 1
        RECORD.answers[f"{self.target.name} {label} {response.status_code} {_error_code(response)}"] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            new = []
            for failure in group.exceptions:
                check = failure.checks[0] if failure.checks else type(failure).__name__
                known_id = ""  # set below, once the exception is known
                exception = "".join(traceback.format_exception_only(caught[-1])).strip()[:500] if caught else ""
                if caught:
                    frames = traceback.extract_tb(caught[-1].__traceback__)
                    ours = [f for f in frames if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename]
                    if ours:
                        exception += f" @ {Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}"
                text = f"{response.status_code} {failure.title} {failure.message} {exception}"
                known_id = next((k.finding for k in known if k.matches(self.target.name, label, check, text)), "")
                RECORD.add(
                    Finding(
                        target=self.target.name,
                        operation=label,
                        check=check,
                        title=failure.title[:200],
                        message=failure.message[:600],
                        status=response.status_code,
                        request=case.as_curl_command(headers={"Authorization": "Token ***"}),
                        response=response.content[:400].decode("utf-8", "replace"),
                        exception=exception,
                        known=known_id,
                    )
                )
                if not known_id:
                    new.append(failure)
            if new and not survey:
                raise FailureGroup(new, str(group)) from None
