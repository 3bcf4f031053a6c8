"""Plan changes (shift patterns, weekly hours) are marked with the dates they concern as written,
and the refresh bounds them by its own clock (reporting.rollups): the database's clock is not the
application's, and the figures' horizon is one rule in one place."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION reporting_mark_shift() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_shiftpattern;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, doctor_id, day_from, day_to)
        VALUES ('shift', r.branch_id, r.doctor_id, r.valid_from, r.valid_until);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reporting_mark_hours() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_branchhours;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id) VALUES ('hours', r.branch_id);
    END LOOP;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("reporting", "0002_marks")]

    operations = [migrations.RunSQL(CREATE, migrations.RunSQL.noop)]
