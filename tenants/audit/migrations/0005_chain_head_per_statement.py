"""The access log's chain, moved once per statement instead of once per row.

Migration 0003's trigger updated the chain's head row for every row it chained. A statement writing
many rows (an export of 16,000 appointments logs 16,000) updated that one row 16,000 times in one
transaction, and each update had to walk past every earlier version of the row: 9 s for 16,000 rows,
growing with the square of their number.

Now each row is chained after the head as the last statement left it, or after the last row the same
statement chained (the log's unique ``seq`` index finds it; rows this statement wrote before are
visible to its later rows' trigger), and an AFTER ... FOR EACH STATEMENT trigger moves the head to
the statement's last row. The head row is still locked FOR UPDATE by the first row of a transaction
until it ends, so concurrent writers queue as before; the chain's text and hash are those of 0003
(the same ``audit_accesslog_link``), so tenants.audit.selectors.access_log_chain_verify reads old and
new rows alike. The state lives only in the two tables, which the runtime role cannot change
(0004): nothing a session sets can steer the chain. 16,000 rows: 3.6 s.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_accesslog_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    last_seq bigint;
    last_hash text;
    later_seq bigint;
    later_hash text;
    link text;
BEGIN
    -- the head as the last statement left it, locked until this transaction ends...
    EXECUTE format('SELECT seq, hash FROM %I.audit_chainhead WHERE id = 1 FOR UPDATE', TG_TABLE_SCHEMA)
        INTO STRICT last_seq, last_hash;
    -- ...and the last row this statement chained after it, if any
    EXECUTE format('SELECT seq, hash FROM %I.audit_accesslog WHERE seq > $1 ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA)
        INTO later_seq, later_hash USING last_seq;
    IF later_seq IS NOT NULL THEN
        last_seq := later_seq;
        last_hash := later_hash;
    END IF;
    NEW.seq := last_seq + 1;
    NEW.prev_hash := last_hash;
    EXECUTE format('SELECT %I.audit_accesslog_link($1, $2)', TG_TABLE_SCHEMA) INTO link USING last_hash, NEW;
    NEW.hash := link;
    RETURN NEW;
END;
$$;

CREATE FUNCTION audit_accesslog_chain_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head_seq bigint;
    last_seq bigint;
    last_hash text;
BEGIN
    EXECUTE format('SELECT seq FROM %I.audit_chainhead WHERE id = 1 FOR UPDATE', TG_TABLE_SCHEMA) INTO STRICT head_seq;
    EXECUTE format('SELECT seq, hash FROM %I.audit_accesslog WHERE seq > $1 ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA)
        INTO last_seq, last_hash USING head_seq;
    IF last_seq IS NOT NULL THEN
        EXECUTE format('UPDATE %I.audit_chainhead SET seq = $1, hash = $2 WHERE id = 1', TG_TABLE_SCHEMA)
            USING last_seq, last_hash;
    END IF;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION audit_accesslog_chain_head() FROM PUBLIC;

CREATE TRIGGER audit_accesslog_chain_head
    AFTER INSERT ON audit_accesslog
    FOR EACH STATEMENT EXECUTE FUNCTION audit_accesslog_chain_head();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_accesslog_chain_head ON audit_accesslog;
DROP FUNCTION IF EXISTS audit_accesslog_chain_head();
CREATE OR REPLACE FUNCTION audit_accesslog_chain() RETURNS trigger
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
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_runtime_privileges")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
