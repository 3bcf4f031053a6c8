"""The database protects the access log from the app, and its hash chain shows any change made by
someone who could bypass that protection (the owner role).

These tests commit: the owner's connection cannot see a test's rolled-back transaction. They work in a
chain of their own, "ledger", made for this module and dropped after it. Whatever the tests read of
that chain they read on autocommit connections (tests.helpers.committed), so that no lock of the
test's transaction stands in the way of the owner's ALTER TABLE."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.transaction import TransactionManagementError
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.audit.models import AccessLog
from tenants.audit.selectors import GENESIS, access_log_chain_verify
from tenants.audit.services import access_log_record
from tenants.audit.tasks import access_log_chain_check
from tenants.db import owner_connection
from tenants.models import Clinic
from tenants.services import clinic_create, clinic_spares_replenish
from tests.helpers import committed

pytestmark = pytest.mark.django_db
SCHEMA = "ledger"
RUNTIME = settings.DATABASE_ROLES["runtime"]["USER"]
OWNER = settings.DATABASE_ROLES["owner"]["USER"]


@pytest.fixture(scope="module")
def ledger(django_db_setup: None, django_db_blocker: Any) -> Iterator[User]:
    """A chain of its own, made from a spare schema (a renamed schema must chain like a new one);
    yields its owner, who signs the rows the tests write."""
    with django_db_blocker.unblock():
        clinic_spares_replenish(target=1)
        clinic, _ = clinic_create(
            name="Ledger", slug="ledger", owner_email="owner@ledger.example", timezone="UTC", currency="EUR"
        )
        with schema_context(clinic.schema_name):
            owner = User.objects.get(email="owner@ledger.example")
        yield owner
        with owner_connection():
            Clinic.objects.get(pk=clinic.pk).delete(force_drop=True)


def _log(actor: User, count: int, *, label: str = "read") -> list[int]:
    """Append `count` rows in one statement, committed, as the app does (tenants.audit.services)."""
    with committed(), schema_context(SCHEMA):
        return access_log_record(
            actor=actor,
            action="view",
            object_type=label,
            object_ids=[f"{label}-{i}" for i in range(count)],
            patient_ids=list(range(1, count + 1)),
            reason="a reason with | and 3:colons",
        )


def _verify() -> Any:
    with committed(), schema_context(SCHEMA):
        return access_log_chain_verify(batch=7)  # small pages: the walk crosses page boundaries


def _rows(ids: list[int]) -> list[AccessLog]:
    with committed(), schema_context(SCHEMA):
        return list(AccessLog.objects.filter(pk__in=ids).order_by("seq"))


@contextmanager
def _owner_cursor() -> Iterator[CursorWrapper]:
    with owner_connection(), schema_context(SCHEMA), connection.cursor() as cursor:
        yield cursor


@contextmanager
def _trigger_off(cursor: CursorWrapper, trigger: str) -> Iterator[None]:
    """What only the owner can do: switch a trigger of the access log off for a moment."""
    cursor.execute(f"ALTER TABLE audit_accesslog DISABLE TRIGGER {trigger}")
    try:
        yield
    finally:
        cursor.execute(f"ALTER TABLE audit_accesslog ENABLE TRIGGER {trigger}")


def test_each_row_is_chained_to_the_one_before_it(ledger):
    # given a chain whose log already holds rows
    _log(ledger, 2, label="before")
    head = _verify()

    # when the app appends rows in one statement, and one more through the ORM
    ids = _log(ledger, 3)
    with committed(), schema_context(SCHEMA):
        single = AccessLog.objects.create(actor_label="x", action="view", object_type="patient", object_id="9")

    # then each row takes the next place and links to the row before it
    rows = _rows([*ids, single.pk])
    assert [r.seq for r in rows] == list(range(head.head_seq + 1, head.head_seq + 5))
    assert rows[0].prev_hash == head.head_hash
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    assert len({r.hash for r in rows}) == 4
    # the ORM's row learns its place from the database (RETURNING)
    assert (single.seq, single.hash) == (rows[-1].seq, rows[-1].hash)
    report = _verify()
    assert report.ok, report
    assert (report.rows, report.head_seq, report.head_hash) == (rows[-1].seq, rows[-1].seq, rows[-1].hash)


def test_statements_of_many_rows_in_one_transaction_keep_one_chain_and_move_the_head_to_their_last(ledger):
    # given a chain whose log already holds rows
    _log(ledger, 2, label="before")
    head = _verify()

    # when one transaction logs an export of 2,000 rows, then 3 more rows, in two statements
    with committed(), schema_context(SCHEMA), transaction.atomic():
        ids = access_log_record(
            actor=ledger, action="export", object_type="big", object_ids=[f"b-{i}" for i in range(2000)]
        )
        ids += access_log_record(actor=ledger, action="view", object_type="after", object_ids=["a-1", "a-2", "a-3"])

    # then the rows follow the head one after the other, and the head is the last of them
    rows = _rows(ids)
    assert [r.seq for r in rows] == list(range(head.head_seq + 1, head.head_seq + 2004))
    assert rows[0].prev_hash == head.head_hash
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    report = _verify()
    assert report.ok, report
    assert (report.head_seq, report.head_hash) == (rows[-1].seq, rows[-1].hash)


def test_the_first_row_of_a_chain_links_to_the_genesis_hash(ledger):
    _log(ledger, 1)
    with committed(), schema_context(SCHEMA):
        first = AccessLog.objects.get(seq=1)
    assert first.prev_hash == GENESIS


def test_concurrent_inserts_keep_one_unbroken_chain(ledger):
    # given eight app connections that append at the same moment
    threads, per_thread, rows_per_insert = 8, 5, 3
    before = _verify()
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with schema_context(SCHEMA):
                barrier.wait(timeout=30)
                for i in range(per_thread):
                    access_log_record(
                        actor=ledger,
                        action="view",
                        object_type=f"race-{n}",
                        object_ids=[f"{n}-{i}-{j}" for j in range(rows_per_insert)],
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # when they all insert
    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    # then every row has its own place, one after the other, and every link holds
    assert not errors, errors
    added = threads * per_thread * rows_per_insert
    with committed(), schema_context(SCHEMA):
        seqs = list(AccessLog.objects.filter(object_type__startswith="race-").values_list("seq", flat=True))
    assert sorted(seqs) == list(range(before.head_seq + 1, before.head_seq + added + 1))
    report = _verify()
    assert report.ok, report
    assert report.head_seq == before.head_seq + added


def test_a_row_edited_by_the_owner_is_reported_as_the_first_broken_link(ledger, capsys, caplog):
    # given a sound chain
    ids = _log(ledger, 5)
    target = _rows(ids)[2]
    assert _verify().ok
    try:
        # when the owner, who alone can switch the append-only trigger off, rewrites one row
        with _owner_cursor() as cursor, _trigger_off(cursor, "audit_accesslog_no_update_delete"):
            cursor.execute("UPDATE audit_accesslog SET reason = 'nothing to see' WHERE id = %s", [target.pk])

        # then the verifier names exactly that row
        report = _verify()
        assert (report.ok, report.broken_seq, report.broken_id) == (False, target.seq, target.pk)
        assert report.problem == "it was changed after it was written"
        assert report.rows == target.seq - 1

        # and so do the command, which fails, and the periodic task, which logs an error
        with pytest.raises(CommandError, match="broken in ledger"):
            call_command("audit_verify", "--schema", SCHEMA)
        assert f"ledger: BROKEN at seq {target.seq} (id {target.pk})" in capsys.readouterr().err
        with committed(), schema_context(SCHEMA), caplog.at_level(logging.ERROR, logger="tenants.audit.tasks"):
            result = access_log_chain_check()
        assert result == {"schema": SCHEMA, "ok": False, "rows": target.seq - 1, "broken_seq": target.seq}
        assert f"chain broken at seq {target.seq} (id {target.pk})" in caplog.text
    finally:
        with _owner_cursor() as cursor, _trigger_off(cursor, "audit_accesslog_no_update_delete"):
            cursor.execute("UPDATE audit_accesslog SET reason = %s WHERE id = %s", [target.reason, target.pk])

    # and once the row is as it was, the chain holds again
    assert _verify().ok
    call_command("audit_verify", "--schema", SCHEMA)
    assert "ledger: OK" in capsys.readouterr().out


@pytest.mark.parametrize("which", ["middle", "last"])
def test_a_row_deleted_by_the_owner_is_detected(ledger, which):
    # given a sound chain
    rows = _rows(_log(ledger, 4))
    victim = rows[1] if which == "middle" else rows[-1]
    with committed(), schema_context(SCHEMA), connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(r)::text FROM audit_accesslog r WHERE id = %s", [victim.pk])
        (saved,) = cursor.fetchone()
    try:
        # when the owner removes a row
        with _owner_cursor() as cursor, _trigger_off(cursor, "audit_accesslog_no_update_delete"):
            cursor.execute("DELETE FROM audit_accesslog WHERE id = %s", [victim.pk])

        # then the chain is broken where the row was
        report = _verify()
        assert not report.ok
        if which == "middle":
            after = rows[2]
            assert (report.broken_seq, report.broken_id) == (after.seq, after.pk)
            assert report.problem == f"row {victim.seq} is missing before it"
        else:
            assert (report.broken_seq, report.broken_id) == (victim.seq, None)
            assert report.problem == f"the chain's last rows are missing (its head is at {victim.seq})"
    finally:
        # the row goes back exactly as it was, around the chain's trigger
        with _owner_cursor() as cursor, _trigger_off(cursor, "audit_accesslog_chain"):
            cursor.execute(
                "INSERT INTO audit_accesslog SELECT * FROM json_populate_record(NULL::audit_accesslog, %s)", [saved]
            )
    assert _verify().ok


def test_a_row_slipped_in_around_the_chain_is_detected(ledger):
    # given a sound chain
    _log(ledger, 1)
    # when the owner inserts a row with the chain's trigger off
    with _owner_cursor() as cursor, _trigger_off(cursor, "audit_accesslog_chain"):
        cursor.execute(
            "INSERT INTO audit_accesslog (at, actor_label, action, object_type, object_id, reason, user_agent, path)"
            " VALUES (now(), 'ghost', 'view', 'patient', '1', '', '', '') RETURNING id"
        )
        (stray,) = cursor.fetchone()
    try:
        # then the verifier finds it
        report = _verify()
        assert (report.ok, report.broken_id, report.problem) == (False, stray, "a row was added outside the chain")
    finally:
        with _owner_cursor() as cursor, _trigger_off(cursor, "audit_accesslog_no_update_delete"):
            cursor.execute("DELETE FROM audit_accesslog WHERE id = %s", [stray])
    assert _verify().ok


def _trigger_states(cursor: CursorWrapper) -> dict[str, str]:
    cursor.execute(
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit_accesslog'::regclass AND NOT tgisinternal"
    )
    return dict(cursor.fetchall())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_accesslog SET reason = 'rewritten'",
        "DELETE FROM audit_accesslog",
        "TRUNCATE audit_accesslog",
        "ALTER TABLE audit_accesslog DISABLE TRIGGER audit_accesslog_no_update_delete",
        "ALTER TABLE audit_accesslog DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_accesslog_no_update_delete ON audit_accesslog",
        "DROP TRIGGER audit_accesslog_chain ON audit_accesslog",
        "DROP TRIGGER audit_accesslog_chain_head ON audit_accesslog",
        "ALTER TABLE audit_accesslog DISABLE TRIGGER audit_accesslog_chain_head",
        "DROP FUNCTION audit_accesslog_append_only() CASCADE",
        "CREATE OR REPLACE FUNCTION audit_accesslog_append_only() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "CREATE TRIGGER sneak BEFORE UPDATE ON audit_accesslog FOR EACH ROW"
        " EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        "DROP TABLE audit_accesslog",
        "ALTER TABLE audit_accesslog RENAME TO audit_old",
        "SELECT setval(pg_get_serial_sequence('audit_accesslog', 'id'), 1)",
        "UPDATE audit_chainhead SET seq = 0",
        "SET session_replication_role = replica",
        f"SET ROLE {OWNER}",
        "CREATE SCHEMA elsewhere",
    ],
)
def test_the_app_role_can_neither_change_the_log_nor_its_protection(ledger, statement):
    # given a chain whose log holds rows
    _log(ledger, 2)
    before = _verify()
    with committed(), schema_context(SCHEMA), connection.cursor() as cursor:
        triggers = _trigger_states(cursor)
        assert set(triggers) == {
            "audit_accesslog_chain",
            "audit_accesslog_chain_head",
            "audit_accesslog_no_update_delete",
            "audit_accesslog_no_truncate",
        }

        # when the app's own connection tries: it is refused by privilege, before any trigger
        with pytest.raises(DatabaseError) as refused, transaction.atomic():
            cursor.execute(statement)
        assert refused.value.__cause__.sqlstate == "42501"  # insufficient_privilege
        assert "append-only" not in str(refused.value)

        # then nothing changed: the same rows, the same chain, every trigger still on
        assert _trigger_states(cursor) == triggers
        assert set(triggers.values()) == {"O"}
    assert _verify() == before


def test_the_app_connects_as_a_plain_role_that_may_insert_and_read_the_log(ledger):
    with schema_context(SCHEMA), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, r.rolcreatedb, r.rolcreaterole, pg_has_role(current_user, %s, 'MEMBER')"
            " FROM pg_roles r WHERE r.rolname = current_user",
            [OWNER],
        )
        assert cursor.fetchone() == (RUNTIME, False, False, False, False)
        privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
        cursor.execute(
            "SELECT p FROM unnest(%s::text[]) p WHERE has_table_privilege('audit_accesslog', p)", [privileges]
        )
        assert [p for (p,) in cursor.fetchall()] == ["SELECT", "INSERT"]
        cursor.execute(
            "SELECT p FROM unnest(%s::text[]) p WHERE has_table_privilege('audit_chainhead', p)", [privileges]
        )
        assert [p for (p,) in cursor.fetchall()] == ["SELECT"]
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (OWNER,)


def test_provisioning_refuses_to_run_inside_the_callers_transaction(db):
    # given a transaction of the app's connection
    before = set(Clinic.objects.values_list("slug", flat=True))
    with transaction.atomic():
        # when provisioning is asked for inside it, then it refuses: the owner's work would commit
        # on its own, whatever became of the caller's transaction
        with pytest.raises(TransactionManagementError), owner_connection():
            pass
        with pytest.raises(TransactionManagementError):
            clinic_create(name="Inner", slug="inner", owner_email="o@inner.example", timezone="UTC", currency="EUR")
    assert set(Clinic.objects.values_list("slug", flat=True)) == before


def test_the_check_runs_in_every_chain_periodically():
    entry = settings.CELERY_BEAT_SCHEDULE["access-log-chain-check"]
    assert entry["task"] == "tenants.tasks.for_each_clinic"
    assert entry["args"] == ("tenants.audit.tasks.access_log_chain_check",)
