from django.conf import settings
from django.db import migrations

# Runs in each clinic chain's schema, after the owner's default privileges (tenants 0005_runtime_role)
# have given the runtime role SELECT, INSERT, UPDATE and DELETE on the new tables. The access log
# takes UPDATE and DELETE back (TRUNCATE, REFERENCES and TRIGGER were never given, and are revoked
# all the same): the app may only append to it and read it. The chain's head is moved by the
# SECURITY DEFINER trigger alone; the app may only read it, to verify. Nor may it setval() the log's id
# sequence. Not owning either table, the runtime role cannot alter them, drop or disable their triggers.


def _runtime(schema_editor):
    return schema_editor.connection.ops.quote_name(settings.DATABASE_ROLES["runtime"]["USER"])


def _on_id_sequence(statement):
    # The log's id sequence is named by the database (an identity column's).
    before, after = statement.split("{}")
    return (
        f"DO $$ BEGIN EXECUTE '{before}' || pg_get_serial_sequence('audit_accesslog', 'id') || '{after}'; END $$"
    )


def revoke(apps, schema_editor):
    runtime = _runtime(schema_editor)
    schema_editor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_accesslog FROM {runtime}")
    schema_editor.execute(_on_id_sequence(f"REVOKE UPDATE ON SEQUENCE {{}} FROM {runtime}"))
    schema_editor.execute(f"REVOKE ALL ON audit_chainhead FROM {runtime}")
    schema_editor.execute(f"GRANT SELECT ON audit_chainhead TO {runtime}")
    schema_editor.execute("REVOKE ALL ON FUNCTION audit_accesslog_chain() FROM PUBLIC")


def grant_back(apps, schema_editor):
    runtime = _runtime(schema_editor)
    schema_editor.execute(f"GRANT UPDATE, DELETE ON audit_accesslog TO {runtime}")
    schema_editor.execute(_on_id_sequence(f"GRANT UPDATE ON SEQUENCE {{}} TO {runtime}"))
    schema_editor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON audit_chainhead TO {runtime}")
    schema_editor.execute("GRANT EXECUTE ON FUNCTION audit_accesslog_chain() TO PUBLIC")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_hash_chain")]

    operations = [migrations.RunPython(revoke, grant_back)]
