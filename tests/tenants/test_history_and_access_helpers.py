"""One helper names who made a change (tenants.audit.history.changed_by), one access-logs what a
response shows (tenants.audit.services.access_log_response): no module keeps a copy of either."""

from __future__ import annotations

import ast
from pathlib import Path

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.request import Request

from patients import services as patients
from tenants.audit.history import changed_by
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_response
from tests.helpers import project_packages

ROOT = Path(__file__).resolve().parents[2]
MODULES = project_packages()
HELPER = ROOT / "tenants" / "audit" / "history.py"
ACCESS_LOG = ROOT / "tenants" / "audit" / "services.py"


def _sources(*roots: str) -> list[Path]:
    return [p for r in roots for p in (ROOT / r).rglob("*.py") if "migrations" not in p.parts]


def _copies_naming_who_changed() -> list[str]:
    """Assignments to simple-history's _history_user/_change_reason outside the helper."""
    found = []
    for path in _sources(*MODULES):
        if path == HELPER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"_history_user", "_change_reason"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _copies_logging_a_response() -> list[str]:
    """access_log_record(actor=request.user, ...) written out again where a view logs its answer."""
    found = []
    for path in _sources(*(m for m in MODULES if m != "frontend")):
        if path == ACCESS_LOG:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "access_log_record":
                actor = next((k.value for k in node.keywords if k.arg == "actor"), None)
                if isinstance(actor, ast.Attribute) and ast.unparse(actor) == "request.user":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_the_history_helper_names_who_made_a_change():
    assert _copies_naming_who_changed() == []


def test_views_log_what_they_show_through_the_one_helper():
    assert _copies_logging_a_response() == []


def test_a_change_names_its_author_and_reason_and_nobody_signed_in_is_the_system(in_a):
    # given an owner and two records of one person
    owner = in_a.users["owner"]
    keep = patients.patient_create(actor=owner, first_name="Ada", last_name="Byron", phone="+447911123461")
    merge = patients.patient_create(
        actor=owner, first_name="Ada", last_name="Byron", phone="+447911123462", ignore_duplicates=True
    )
    # when the owner merges them
    patients.patient_merge(actor=owner, keep=keep, merge=merge)
    # then both history rows name her, with the reason
    latest = merge.history.order_by("-history_id").first()
    assert (latest.history_user_id, latest.history_change_reason) == (owner.pk, f"merged into {keep.mrn}")
    kept = keep.history.order_by("-history_id").first()
    assert (kept.history_user_id, kept.history_change_reason) == (owner.pk, f"merged {merge.mrn} into this record")
    # and a change by nobody signed in names no user
    assert changed_by(keep, AnonymousUser())._history_user is None


def test_one_helper_logs_a_pages_and_an_apis_answer_and_nothing_when_nothing_is_shown(in_a):
    # given an owner, a patient, and the same request as a page and as the API sees it
    owner = in_a.users["owner"]
    patient = patients.patient_create(actor=owner, first_name="Bea", last_name="Lund", phone="+447911123463")
    page = RequestFactory().get(f"/patients/{patient.pk}/", HTTP_USER_AGENT="pytest")
    page.user = owner
    api = Request(RequestFactory().get(f"/api/v1/patients/{patient.pk}/"))
    api.user = owner
    before = AccessLog.objects.count()
    # when each answer is logged, and an empty list too
    for request in (page, api):
        access_log_response(
            request, action="view", object_type="patient", object_ids=[patient.pk], patient_ids=[patient.pk]
        )
    access_log_response(page, action="list", object_type="patient", object_ids=[], patient_ids=[])
    # then one row each, by the signed-in user, with the path asked
    rows = list(AccessLog.objects.order_by("id")[before:].values_list("actor_id", "patient_id", "path"))
    assert rows == [
        (owner.pk, patient.pk, f"/patients/{patient.pk}/"),
        (owner.pk, patient.pk, f"/api/v1/patients/{patient.pk}/"),
    ]
