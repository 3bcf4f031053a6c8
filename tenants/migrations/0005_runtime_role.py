from django.conf import settings
from django.db import migrations

# The app serves as the runtime role (settings.DATABASE_ROLES["runtime"]), which owns nothing. It may
# use whatever the owner creates, now and later, in the public schema and in every chain's schema:
# default privileges cover the schemas and tables provisioning creates after this migration, the
# GRANTs below what exists already. TRUNCATE, REFERENCES and TRIGGER are never granted, and what may
# not change at all (the access log) takes its UPDATE and DELETE back in its own migration
# (audit 0004_runtime_privileges).
OBJECTS = [
    ("SELECT, INSERT, UPDATE, DELETE", "TABLES"),
    # UPDATE is setval(): no more than DELETE on the same tables already allows. The access log's
    # own sequence keeps USAGE and SELECT only (audit 0004_runtime_privileges).
    ("USAGE, SELECT, UPDATE", "SEQUENCES"),
    ("EXECUTE", "FUNCTIONS"),
]
EXISTING_SCHEMAS = """
SELECT nspname FROM pg_namespace
 WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
 ORDER BY nspname
"""


def _roles(schema_editor):
    quote = schema_editor.connection.ops.quote_name
    owner = settings.DATABASE_ROLES["owner"]["USER"]
    runtime = settings.DATABASE_ROLES["runtime"]["USER"]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, pg_has_role(r.oid, o.oid, 'MEMBER')"
            "  FROM pg_roles r, pg_roles o WHERE r.rolname = %s AND o.rolname = %s",
            [runtime, owner],
        )
        row = cursor.fetchone()
    if runtime == owner or row is None:
        raise RuntimeError(
            f"The runtime database role {runtime!r} must exist and differ from the owner {owner!r}: "
            "create it first (infra/services.sh up does; see README, 'Database roles')."
        )
    if any(row):
        raise RuntimeError(
            f"The runtime database role {runtime!r} is a superuser or a member of the owner {owner!r}: "
            "it could then rewrite the access log. Give the app a plain login role."
        )
    return quote(owner), quote(runtime)


def grant(apps, schema_editor):
    owner, runtime = _roles(schema_editor)
    statements = [f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT USAGE ON SCHEMAS TO {runtime}"]
    statements += [
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT {privileges} ON {kind} TO {runtime}"
        for privileges, kind in OBJECTS
    ]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(EXISTING_SCHEMAS)
        schemas = [schema_editor.connection.ops.quote_name(name) for (name,) in cursor.fetchall()]
    for schema in schemas:
        statements.append(f"GRANT USAGE ON SCHEMA {schema} TO {runtime}")
        statements += [
            f"GRANT {privileges} ON ALL {kind} IN SCHEMA {schema} TO {runtime}" for privileges, kind in OBJECTS
        ]
    for statement in statements:
        schema_editor.execute(statement)


def revoke(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    owner = quote(settings.DATABASE_ROLES["owner"]["USER"])
    runtime = quote(settings.DATABASE_ROLES["runtime"]["USER"])
    schema_editor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE USAGE ON SCHEMAS FROM {runtime}")
    for privileges, kind in OBJECTS:
        schema_editor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE {privileges} ON {kind} FROM {runtime}")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_spare_status")]

    operations = [migrations.RunPython(grant, revoke)]
