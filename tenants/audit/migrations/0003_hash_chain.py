from django.db import migrations, models

# Runs in each clinic chain's schema. Every access-log row carries its place in the chain (seq), the
# hash of the row before it (prev_hash) and its own hash = sha256(prev_hash | the row's columns), so
# that an edited or removed row shows (tenants.audit.selectors.access_log_chain_verify).
#
# The chain is made by the database, in a BEFORE INSERT trigger: every insert, however it is written
# (the ORM, the bulk INSERT ... SELECT unnest of tenants.audit.services), is chained the same way.
# Concurrent inserts are serialised by the chain's head row (audit_chainhead: last seq and hash),
# locked FOR UPDATE until the inserting transaction ends; a transaction that rolls back gives its
# place back, so the chain has no gaps.
#
# The trigger function is SECURITY DEFINER: it runs as the owner, so the app's runtime role needs no
# privilege on the head table (it may only read it, to verify). Its search_path is pinned and it names
# its tables through TG_TABLE_SCHEMA, so it works in whichever schema it fires (a spare schema renamed
# into a chain included).
#
# The row's text is each column as "<length>:<value>" ("-" for NULL) followed by "|", in the order
# below, with the timestamp in UTC to the microsecond and the address as host(). The verifier
# rebuilds the same text in Python (tenants.audit.selectors.canonical_text).
FORWARD = """
CREATE TABLE audit_chainhead (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash varchar(64) NOT NULL
);

CREATE FUNCTION audit_accesslog_link(prev_hash text, r audit_accesslog) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    body text := '';
    part text;
BEGIN
    FOREACH part IN ARRAY ARRAY[
        r.seq::text, r.id::text, to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        r.actor_id::text, r.actor_label, r.action, r.object_type, r.object_id, r.patient_id::text,
        r.reason, host(r.ip_address), r.user_agent, r.path
    ] LOOP
        body := body || CASE WHEN part IS NULL THEN '-' ELSE length(part)::text || ':' || part END || '|';
    END LOOP;
    RETURN encode(sha256(convert_to(prev_hash || '|' || body, 'UTF8')), 'hex');
END;
$$;

CREATE FUNCTION audit_accesslog_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head record;
    link text;
BEGIN
    EXECUTE format('SELECT seq, hash FROM %I.audit_chainhead WHERE id = 1 FOR UPDATE', TG_TABLE_SCHEMA)
        INTO STRICT head;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    EXECUTE format('SELECT %I.audit_accesslog_link($1, $2)', TG_TABLE_SCHEMA) INTO link USING head.hash, NEW;
    NEW.hash := link;
    EXECUTE format('UPDATE %I.audit_chainhead SET seq = $1, hash = $2 WHERE id = 1', TG_TABLE_SCHEMA)
        USING NEW.seq, NEW.hash;
    RETURN NEW;
END;
$$;

-- Rows written before the chain existed are chained in the order they were written.
ALTER TABLE audit_accesslog DISABLE TRIGGER audit_accesslog_no_update_delete;
DO $$
DECLARE
    r audit_accesslog;
    prev text := repeat('0', 64);
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM audit_accesslog ORDER BY at, id LOOP
        n := n + 1;
        r.seq := n;
        UPDATE audit_accesslog SET seq = n, prev_hash = prev, hash = audit_accesslog_link(prev, r) WHERE id = r.id;
        prev := audit_accesslog_link(prev, r);
    END LOOP;
    INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, n, prev);
END;
$$;
ALTER TABLE audit_accesslog ENABLE TRIGGER audit_accesslog_no_update_delete;

CREATE TRIGGER audit_accesslog_chain
    BEFORE INSERT ON audit_accesslog
    FOR EACH ROW EXECUTE FUNCTION audit_accesslog_chain();
"""
REVERSE = """
DROP TRIGGER IF EXISTS audit_accesslog_chain ON audit_accesslog;
DROP FUNCTION IF EXISTS audit_accesslog_chain();
DROP FUNCTION IF EXISTS audit_accesslog_link(text, audit_accesslog);
DROP TABLE IF EXISTS audit_chainhead;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.AddField(
            model_name="accesslog",
            name="seq",
            field=models.BigIntegerField(db_default=0, editable=False),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="prev_hash",
            field=models.CharField(db_default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="hash",
            field=models.CharField(db_default="", editable=False, max_length=64),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.AddConstraint(
            model_name="accesslog",
            constraint=models.UniqueConstraint(fields=["seq"], name="audit_accesslog_seq_unique"),
        ),
    ]
