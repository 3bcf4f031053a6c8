"""A new chain's schema is a copy of the template schema, not a migration run from nothing.

Migrating an empty schema takes Django tens of seconds, almost all of it in Python (rendering each
migration's model state), not in the database. The template is a schema migrated once, exactly as
every chain's was, and never written to after: a Clinic row of status TEMPLATE, without a domain (so
nothing routes to it) and kept current by `migrate_schemas` with the others. A new schema is the
template's `pg_dump` (tables, constraints, indexes, triggers, functions, grants, and the rows its
migrations wrote: the migration records, content types, counters) restored under the new name in one
transaction: a second or two. `tests/tenants/test_schema_template.py` compares the dump of a copy with
the template's, object by object.

Before each copy the template is checked against the migrations on disk; a template behind them is
migrated first. Making or migrating it holds an advisory lock, so two chains created at once wait for
one template.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from tenants.db import owner_connection, role_settings

# pg_advisory_lock key of the template's making ("cf_tmpl" read as bytes)
_LOCK = 0x63665F746D706C
_NAME = re.compile(r"[a-z0-9_]{1,63}")


class SchemaCopyFailed(RuntimeError):
    pass


def template_schema() -> str:
    """The name of a template schema that is fully migrated, made first if there is none."""
    from tenants.models import Clinic

    with owner_connection(), _template_lock():
        template = Clinic.objects.filter(status=Clinic.Status.TEMPLATE).first()
        if template is None:
            token = secrets.token_hex(6)
            template = Clinic(
                schema_name=f"template_{token}",
                slug=f"template-{token}",
                name="(template)",
                status=Clinic.Status.TEMPLATE,
            )
            template.save(verbosity=0)  # migrated from nothing: the one slow schema
        elif _behind(template.schema_name):
            call_command("migrate_schemas", schema_name=template.schema_name, interactive=False, verbosity=0)
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        return template.schema_name


@contextmanager
def _template_lock() -> Iterator[None]:
    """An advisory lock on a session of its own: migrating closes the owner's connection (django-tenants
    does after each schema), which would let go of a lock taken there."""
    db = _owner_db()
    with psycopg.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
    ) as session:
        session.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        yield  # the session's end lets go of the lock


def _owner_db() -> dict[str, Any]:
    return {**connection.settings_dict, **role_settings("owner")}


def _behind(schema: str) -> bool:
    with schema_context(schema):
        executor = MigrationExecutor(connection)
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


# The owner's default privileges (tenants 0005_runtime_role) give the runtime role every privilege on
# each object the restore creates, while the dump only grants what the template's objects have: the
# access log, for one, may be appended to and read, never changed (audit 0004_runtime_privileges). At
# the end of the restore every object's grants to other roles are made the template's, exactly.
_SAME_PRIVILEGES = """
DO $privileges$
DECLARE
  statement text;
BEGIN
  FOR statement IN
    WITH objects AS (
      SELECT c.relnamespace AS ns, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
             quote_ident(c.relname) AS name, c.relowner AS owner,
             coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
        FROM pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      UNION ALL
      SELECT p.pronamespace, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
             -- a row type of the template's names the template: the same type of the copy's
             quote_ident(p.proname)
               || '(' || replace(pg_get_function_identity_arguments(p.oid), '{template}.', '{schema}.') || ')',
             p.proowner,
             coalesce(p.proacl, acldefault('f', p.proowner))
        FROM pg_proc p WHERE p.prokind IN ('f', 'p')
    ),
    grants AS (
      SELECT o.ns, o.kind, o.name, a.privilege_type, a.is_grantable,
             CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
        FROM objects o, aclexplode(o.acl) a WHERE a.grantee <> o.owner
    )
    SELECT DISTINCT format('REVOKE ALL ON %s %I.%s FROM %s', kind, '{schema}', name, grantee)
      FROM grants WHERE ns = '{schema}'::regnamespace
    UNION ALL
    SELECT format('GRANT %s ON %s %I.%s TO %s%s', privilege_type, kind, '{schema}', name, grantee,
                  CASE WHEN is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
      FROM grants WHERE ns = '{template}'::regnamespace
     ORDER BY 1 DESC  -- every REVOKE before any GRANT
  LOOP
    EXECUTE statement;
  END LOOP;
END
$privileges$;
"""


def _same_privileges(template: str, schema: str) -> str:
    if not (_NAME.fullmatch(template) and _NAME.fullmatch(schema)):  # checked slugs: safe inside the script
        raise SchemaCopyFailed(f"not a schema name: {template!r} or {schema!r}")
    return _SAME_PRIVILEGES.format(template=template, schema=schema)


def _tool(name: str) -> str:
    found = shutil.which(name, path=settings.CLINICFLOW_PG_PATH)
    if found is None:
        raise SchemaCopyFailed(f"{name} was not found on {settings.CLINICFLOW_PG_PATH}: install PostgreSQL's client")
    return found


def schema_copy(*, template: str, schema: str) -> None:
    """Create `schema` as a copy of `template`, in one transaction: all of it or nothing."""
    db = _owner_db()
    args = ["-h", str(db["HOST"] or "localhost"), "-p", str(db["PORT"] or 5432), "-U", db["USER"], "-d", db["NAME"]]
    env = {"PGPASSWORD": db["PASSWORD"], "PATH": settings.CLINICFLOW_PG_PATH, "LC_ALL": "C.UTF-8"}
    dump = subprocess.run(  # noqa: S603 (the server's own pg_dump, arguments from settings and checked names)
        [_tool("pg_dump"), "--schema", template, "--no-tablespaces", *args], capture_output=True, env=env, check=False
    )
    if dump.returncode != 0:
        raise SchemaCopyFailed(dump.stderr.decode(errors="replace"))
    # The template's name is a random token: it names the schema and nothing else in its dump.
    script = dump.stdout.replace(template.encode(), schema.encode()) + _same_privileges(template, schema).encode()
    restore = subprocess.run(  # noqa: S603 (as above)
        [_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", *args],
        input=script,
        capture_output=True,
        env=env,
        check=False,
    )
    if restore.returncode != 0:
        raise SchemaCopyFailed(restore.stderr.decode(errors="replace"))
