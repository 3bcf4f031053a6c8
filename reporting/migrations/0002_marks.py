"""The triggers that mark rollup cells dirty (reporting.models, reporting.rollups).

Each fires after a row a figure depends on is written, in the writer's transaction, and appends one
or two ``reporting_dirty`` rows: no lookups, no locks beyond the insert, so a booking pays a few
tens of microseconds (bench/reporting.py measures it). An update fires only when a column a figure
reads changes. The functions keep the search path of the schema they were made in, so a mark lands
in the chain's own table whatever the writer's path.
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE FUNCTION reporting_mark_calendar() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_calendarentry;
    same_cell boolean := TG_OP = 'UPDATE' AND OLD.branch_id IS NOT DISTINCT FROM NEW.branch_id
        AND OLD.doctor_id = NEW.doctor_id AND lower(OLD.span) = lower(NEW.span) AND OLD.kind = NEW.kind
        AND OLD.busy = NEW.busy AND OLD.patient_id IS NOT DISTINCT FROM NEW.patient_id;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        IF r.kind = 'appointment' THEN
            INSERT INTO reporting_dirty (scope, branch_id, doctor_id, at) VALUES ('visit', r.branch_id, r.doctor_id, lower(r.span));
            IF r.patient_id IS NOT NULL THEN
                INSERT INTO reporting_dirty (scope, patient_id, at) VALUES ('patient', r.patient_id, r.created_at - interval '31 days');
            END IF;
        ELSE
            INSERT INTO reporting_dirty (scope, doctor_id, day_from, day_to)
            VALUES ('leave', r.doctor_id, (lower(r.busy) AT TIME ZONE 'UTC')::date - 1, (upper(r.busy) AT TIME ZONE 'UTC')::date + 1);
        END IF;
        EXIT WHEN same_cell;
    END LOOP;
    IF TG_OP = 'UPDATE' AND NEW.kind = 'appointment'
       AND (OLD.doctor_id <> NEW.doctor_id OR OLD.service_id IS DISTINCT FROM NEW.service_id) THEN
        INSERT INTO reporting_dirty (scope, ref_id) VALUES ('invoice_of', NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_shift() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_shiftpattern;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, doctor_id, day_from, day_to)
        SELECT 'shift', r.branch_id, r.doctor_id, greatest(r.valid_from, current_date - 800),
               least(coalesce(r.valid_until, current_date + 92), current_date + 92)
         WHERE greatest(r.valid_from, current_date - 800) <= least(coalesce(r.valid_until, current_date + 92), current_date + 92);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_extra_shift() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_extrashift;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, doctor_id, day_from, day_to) VALUES ('shift', r.branch_id, r.doctor_id, r.date, r.date);
    END LOOP;
    RETURN NULL;
END $$;

-- The weekly hours have no dates: a change counts from REPAIR_DAYS back (what came before keeps the
-- hours it was computed with) to the plan's horizon.
CREATE FUNCTION reporting_mark_hours() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_branchhours;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, day_from, day_to) VALUES ('hours', r.branch_id, current_date - 35, current_date + 92);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_special_day() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r scheduling_specialday;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, day_from, day_to) VALUES ('hours', r.branch_id, r.date, r.date);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_invoice() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r invoicing_invoice;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL OR r.issued_at IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, at) VALUES ('money', r.branch_id, r.issued_at);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_payment() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r invoicing_payment;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, ref_id, at) VALUES ('payment', r.invoice_id, r.received_at);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_refund() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r invoicing_refund;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, ref_id, at) VALUES ('refund', r.payment_id, r.at);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_credit_note() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r invoicing_creditnote;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, ref_id, at) VALUES ('credit', r.invoice_id, r.issued_at);
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION reporting_mark_message() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r notifications_message;
BEGIN
    FOR r IN SELECT (x).* FROM (VALUES (OLD), (NEW)) AS v(x) LOOP
        CONTINUE WHEN r.id IS NULL;
        INSERT INTO reporting_dirty (scope, branch_id, at) VALUES ('message', r.branch_id, r.due_at);
        IF r.kind = 'reminder' AND r.appointment_id IS NOT NULL
           AND (TG_OP <> 'UPDATE' OR OLD.sent_at IS DISTINCT FROM NEW.sent_at) THEN
            INSERT INTO reporting_dirty (scope, ref_id) VALUES ('visit_of', r.appointment_id);
        END IF;
        EXIT WHEN TG_OP = 'UPDATE' AND OLD.branch_id IS NOT DISTINCT FROM NEW.branch_id AND OLD.due_at = NEW.due_at;
    END LOOP;
    RETURN NULL;
END $$;
"""

# table, function, the columns whose change matters on an update
TRIGGERS = [
    (
        "scheduling_calendarentry",
        "reporting_mark_calendar",
        "kind, status, span, busy, doctor_id, branch_id, service_id, patient_id, source, late_cancellation,"
        " cancelled_by_patient",
    ),
    ("scheduling_shiftpattern", "reporting_mark_shift", "*"),
    ("scheduling_extrashift", "reporting_mark_extra_shift", "*"),
    ("scheduling_branchhours", "reporting_mark_hours", "*"),
    ("scheduling_specialday", "reporting_mark_special_day", "*"),
    ("invoicing_invoice", "reporting_mark_invoice", "status, issued_at, total_minor, branch_id, appointment_id, currency"),
    ("invoicing_payment", "reporting_mark_payment", "status, amount_minor, received_at, invoice_id, currency"),
    ("invoicing_refund", "reporting_mark_refund", "status, amount_minor, at, payment_id"),
    ("invoicing_creditnote", "reporting_mark_credit_note", "amount_minor, issued_at, invoice_id"),
    ("notifications_message", "reporting_mark_message", "status, sent_at, due_at, branch_id, channel, kind"),
]


def _changed(columns: str) -> str:
    if columns == "*":
        return "OLD.* IS DISTINCT FROM NEW.*"
    return " OR ".join(f"OLD.{c.strip()} IS DISTINCT FROM NEW.{c.strip()}" for c in columns.split(","))


CREATE = FUNCTIONS + "".join(
    f"""
CREATE TRIGGER reporting_marks AFTER INSERT OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER reporting_marks_update AFTER UPDATE ON {table} FOR EACH ROW WHEN ({_changed(columns)})
    EXECUTE FUNCTION {function}();
"""
    for table, function, columns in TRIGGERS
)

DROP = "".join(
    f"DROP TRIGGER IF EXISTS reporting_marks ON {table}; DROP TRIGGER IF EXISTS reporting_marks_update ON {table};"
    f" DROP FUNCTION IF EXISTS {function}();"
    for table, function, _ in TRIGGERS
)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("scheduling", "0012_cancelled_by_patient"),
        ("invoicing", "0012_reporting_indexes"),
        ("notifications", "0008_reporting_index"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
