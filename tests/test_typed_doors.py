"""The doors of every module are typed: who acts is an Actor, changes are named keyword arguments
(or a TypedDict of them), and "not given" is config.unset.UNSET, never an untyped object()."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from patients.models import DEMOGRAPHIC_FIELDS
from patients.services.identity import Demographics
from scheduling import services as sched
from scheduling.models import SchedulingPolicy, Service
from scheduling.selectors import policy_get
from tenants.org.models import Branch
from tenants.org.services import branch_update
from tests.helpers import project_packages

ROOT = Path(__file__).resolve().parents[1]
MODULES = [m for m in project_packages() if m not in ("config", "frontend")]
DOORS = {"services", "selectors", "rules", "engine"}


def _door_files() -> list[Path]:
    found = []
    for module in MODULES:
        for path in (ROOT / module).rglob("*.py"):
            parts = set(path.relative_to(ROOT).with_suffix("").parts)
            if parts & DOORS and "migrations" not in parts:
                found.append(path)
    return found


def _untyped(path: Path) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            args = node.args
            for arg in [*args.args, *args.kwonlyargs]:
                if arg.arg == "actor" and arg.annotation is not None and ast.unparse(arg.annotation) == "Any":
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: actor: Any")
            if args.kwarg and args.kwarg.annotation is not None and ast.unparse(args.kwarg.annotation) == "Any":
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: **{args.kwarg.arg}: Any")
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.value or ast.Constant(None)) == "object()":
            problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: an untyped object() sentinel")
    return problems


def test_no_door_takes_an_untyped_actor_a_bag_of_fields_or_an_object_sentinel():
    files = _door_files()
    assert len(files) > 20  # the scan sees the modules' services, selectors, rules and engine
    assert [p for path in files for p in _untyped(path)] == []


def test_the_demographics_type_names_every_demographic_field_once():
    assert sorted(Demographics.__annotations__) == sorted(DEMOGRAPHIC_FIELDS)
    assert len(set(DEMOGRAPHIC_FIELDS)) == len(DEMOGRAPHIC_FIELDS)


@pytest.mark.django_db
def test_what_an_update_leaves_out_keeps_its_value(in_a):
    # given an owner, a branch, a service and the chain's booking rules
    owner = in_a.users["owner"]
    branch = Branch.objects.order_by("pk").first()
    service = sched.service_create(actor=owner, name="Dressing change", duration_minutes=20, price_minor=1500)
    before = policy_get()
    timezone, address = branch.timezone, branch.address
    # when each is updated in one field only
    branch_update(actor=owner, branch=branch, name="Harbour Street")
    sched.service_update(actor=owner, service=service, price_minor=1800)
    sched.policy_update(actor=owner, hold_minutes=7)
    # then that field changed and every other kept its value
    branch.refresh_from_db()
    service.refresh_from_db()
    policy = SchedulingPolicy.objects.get(pk=before.pk)
    assert (branch.name, branch.timezone, branch.address) == ("Harbour Street", timezone, address)
    assert (service.name, service.duration_minutes, service.price_minor) == ("Dressing change", 20, 1800)
    assert policy.hold_minutes == 7
    assert policy.cancellation_window_hours == before.cancellation_window_hours
    assert Service.objects.filter(name="Dressing change").count() == 1
