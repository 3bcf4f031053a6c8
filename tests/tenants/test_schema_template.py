"""A new chain's schema is a copy of the template schema (tenants.schema_template): the same objects,
grants and rows as a schema migrated from nothing, in a second instead of tens of seconds."""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections

from tenants.db import owner_connection, role_settings
from tenants.models import Clinic
from tenants.schema_template import _tool, template_schema
from tenants.services import clinic_spares_replenish

pytestmark = pytest.mark.django_db

# A constraint or index read back from its own text is written anew by PostgreSQL, with the same
# meaning: `(ARRAY['a'::character varying])::text[]` comes back as `ARRAY[('a'::character varying)::text]`,
# `(a AND b) AND c` as `a AND b AND c`. The comparison reads both without casts and brackets.
_SPELLING = re.compile(r"::[a-z ]+(\[\])?|[()]")


def _dump(schema: str) -> list[str]:
    db = {**connection.settings_dict, **role_settings("owner")}
    done = subprocess.run(  # noqa: S603 (the server's own pg_dump, fixed arguments)
        [_tool("pg_dump"), "--schema", schema, "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
        capture_output=True,
        env={"PGPASSWORD": db["PASSWORD"], "PATH": settings.CLINICFLOW_PG_PATH},
        check=True,
        text=True,
    )
    lines = []
    for line in done.stdout.replace(schema, "SCHEMA").splitlines():
        if not line.strip() or line.startswith(("--", "\\restrict", "\\unrestrict")):
            continue
        lines.append(_SPELLING.sub("", line) if ("CHECK" in line or " WHERE " in line) else line)
    return lines


def _runtime_may(schema: str, table: str, privilege: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, %s)",
            [settings.DATABASE_ROLES["runtime"]["USER"], f"{schema}.{table}", privilege],
        )
        return bool(cursor.fetchone()[0])


def _drop(schemas: list[str]) -> None:
    with owner_connection():
        for clinic in Clinic.objects.filter(schema_name__in=schemas):
            clinic.delete(force_drop=True)


def test_a_copy_has_every_object_grant_and_row_of_the_migrated_template():
    # given the template, migrated from nothing as every schema once was
    template = template_schema()
    # when a spare schema is made, in seconds
    started = time.monotonic()
    with owner_connection():
        before = set(Clinic.objects.filter(status=Clinic.Status.SPARE).values_list("schema_name", flat=True))
    clinic_spares_replenish(target=len(before) + 1)
    took = time.monotonic() - started
    with owner_connection():
        (copy,) = set(Clinic.objects.filter(status=Clinic.Status.SPARE).values_list("schema_name", flat=True)) - before
    try:
        # then its dump is the template's, line for line: tables, constraints (the calendar's exclusion
        # constraints among them), indexes, triggers, functions, grants, and the migrations' rows
        template_dump, copy_dump = _dump(template), _dump(copy)
        assert any("EXCLUDE USING gist" in line for line in copy_dump)
        assert any("CREATE TRIGGER" in line for line in copy_dump)
        assert copy_dump == template_dump
        # and the owner's default privileges did not widen the runtime role's: the access log can be
        # appended to and read, never changed, as in the template
        assert _runtime_may(copy, "audit_accesslog", "INSERT")
        assert not _runtime_may(copy, "audit_accesslog", "UPDATE")
        assert not _runtime_may(copy, "audit_accesslog", "DELETE")
        assert took < 15, took
    finally:
        _drop([copy])


def test_the_template_is_never_listed_as_a_chain(api):
    template_schema()
    operator = api(None, as_email="operator@platform.example")
    listed = operator.call("GET", "/api/v1/clinics/?page_size=100").json()["results"]
    assert listed
    assert not [c for c in listed if c["slug"].startswith(("template-", "spare-"))]


def test_two_chains_made_at_once_with_no_template_make_one_template_and_both_copy_it():
    # given no template yet (the run's own is set aside and put back after)
    with owner_connection():
        kept = list(Clinic.objects.filter(status=Clinic.Status.TEMPLATE).values_list("pk", flat=True))
        Clinic.objects.filter(pk__in=kept).update(status=Clinic.Status.SUSPENDED)
    made: list[str] = []
    errors: list[BaseException] = []

    def make(token: str) -> None:
        try:
            with owner_connection():
                spare = Clinic(schema_name=f"race_{token}", slug=f"race-{token}", name="(race)")
                spare.status = Clinic.Status.SPARE
                spare.save(verbosity=0)
                made.append(spare.schema_name)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    try:
        # when two chains' schemas are made at the same moment, on two connections
        threads = [threading.Thread(target=make, args=(token,)) for token in ("one", "two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then both are made, from one template, not two
        assert errors == []
        assert sorted(made) == ["race_one", "race_two"]
        with owner_connection():
            templates = list(Clinic.objects.filter(status=Clinic.Status.TEMPLATE).values_list("schema_name", flat=True))
        assert len(templates) == 1
        assert _dump("race_one") == _dump("race_two") == _dump(templates[0])
    finally:
        with owner_connection():
            fresh = list(Clinic.objects.filter(status=Clinic.Status.TEMPLATE).values_list("schema_name", flat=True))
        _drop([*made, *fresh])
        with owner_connection():
            Clinic.objects.filter(pk__in=kept).update(status=Clinic.Status.TEMPLATE)
