"""The marks' functions name the schema they were made in (``SET search_path FROM CURRENT``). A chain
made from a spare schema before provisioning re-pointed them (tenants.services._take_spare) kept the
spare's name, and a write to a marked table failed. Each function is given its own schema's path
again: the migration runs with the chain's path, so FROM CURRENT is that schema."""

from django.db import migrations

NAMES = (
    "calendar",
    "shift",
    "extra_shift",
    "hours",
    "special_day",
    "invoice",
    "payment",
    "refund",
    "credit_note",
    "message",
)

SQL = "\n".join(f"ALTER FUNCTION reporting_mark_{name}() SET search_path FROM CURRENT;" for name in NAMES)


class Migration(migrations.Migration):
    dependencies = [("reporting", "0003_marks_plan_dates")]

    operations = [migrations.RunSQL(SQL, reverse_sql=migrations.RunSQL.noop)]
