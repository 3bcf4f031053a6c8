"""A signed note stays locked, except for one change: a merge moves it to the surviving record.

The trigger allows an UPDATE of a signed note only when nothing but ``patient_id`` changes and the
note's current patient has already been marked as merged into the new one (patients.services.
patient_merge marks the merged record first, then moves its rows). Content, status, author,
signature and deletion stay refused."""

from django.db import migrations

LOCK = """
CREATE OR REPLACE FUNCTION patients_note_locked() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        IF TG_OP = 'UPDATE'
           AND NEW.patient_id IS DISTINCT FROM OLD.patient_id
           AND (to_jsonb(NEW) - 'patient_id') = (to_jsonb(OLD) - 'patient_id')
           AND EXISTS (
               SELECT 1 FROM patients_patient p WHERE p.id = OLD.patient_id AND p.merged_into_id = NEW.patient_id
           ) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'clinical note % is signed and locked; add an addendum', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
"""

LOCK_BEFORE = """
CREATE OR REPLACE FUNCTION patients_note_locked() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'clinical note % is signed and locked; add an addendum', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_care_reasons_attachment_paths")]

    operations = [migrations.RunSQL(sql=LOCK, reverse_sql=LOCK_BEFORE)]
