from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django_tenants.utils import schema_context

from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_record
from tenants.db import owner_connection
from tenants.org import services
from tenants.org.models import Branch, StaffMember
from tests.helpers import committed


def test_access_log_records_who_what_and_from_where(in_a):
    request = RequestFactory().get("/patients/7/", HTTP_USER_AGENT="Firefox", REMOTE_ADDR="10.1.2.3")
    doctor = in_a.users["doctor"]

    rows = access_log_record(
        actor=doctor, action="view", object_type="patient", object_ids=[7], patient_ids=[7], request=request
    )

    row = AccessLog.objects.get(pk=rows[0])
    assert (row.actor_id, row.actor_label, row.action, row.object_type, row.object_id, row.patient_id) == (
        doctor.pk,
        doctor.email,
        "view",
        "patient",
        "7",
        7,
    )
    assert (row.ip_address, row.user_agent, row.path) == ("10.1.2.3", "Firefox", "/patients/7/")
    assert row.at is not None


def test_a_list_read_logs_every_record_shown(in_a):
    access_log_record(
        actor=in_a.users["receptionist"],
        action="list",
        object_type="patient",
        object_ids=[1, 2, 3],
        patient_ids=[1, 2, 3],
    )
    assert sorted(AccessLog.objects.filter(action="list").values_list("patient_id", flat=True)) == [1, 2, 3]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_accesslog SET actor_label = 'someone else'",
        "DELETE FROM audit_accesslog",
        "TRUNCATE audit_accesslog",
    ],
)
def test_access_log_cannot_be_altered_even_by_the_owner(in_a, statement):
    # The app's role may not even try (tests/tenants/test_audit_chain.py); the trigger stops the
    # owner too, on rows it can see: committed ones.
    with committed(), schema_context(in_a.schema):
        access_log_record(
            actor=in_a.users["doctor"], action="view", object_type="patient", object_ids=[1], patient_ids=[1]
        )
    with owner_connection(), schema_context(in_a.schema):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        assert AccessLog.objects.filter(actor_label=in_a.users["doctor"].email).exists()


def test_orm_delete_is_refused_too(in_a):
    access_log_record(actor=in_a.users["doctor"], action="view", object_type="patient", object_ids=[1])
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLog.objects.all().delete()


def test_history_records_who_changed_what(in_a):
    owner = in_a.users["owner"]
    branch = in_a.branches[0]
    services.branch_update(actor=owner, branch=branch, phone="+44 20 7946 0001")
    latest = Branch.history.filter(id=branch.pk).latest("history_date")
    assert latest.history_user_id == owner.pk
    assert latest.phone == "+442079460001"
    assert latest.prev_record.phone == ""


def test_history_through_the_api_records_the_signed_in_user(api, chain_a):
    from django_tenants.utils import schema_context

    manager = api(chain_a, "branch_manager")
    branch = chain_a.branches[0]
    assert manager.call("PATCH", f"/api/v1/branches/{branch.pk}/", {"address": "1 High St"}).status_code == 200
    with schema_context(chain_a.schema):
        latest = Branch.history.filter(id=branch.pk).latest("history_date")
        assert latest.history_user_id == chain_a.users["branch_manager"].pk
        staff_history = StaffMember.history.filter(user_id=chain_a.users["doctor"].pk)
        assert staff_history.exists()
