-- The row-change audit trail, partitioned by month (UTC), so that its purge drops whole partitions (cost
-- independent of the trail's size) and a user's latest events come from one small index per month.
--  - audit_log becomes a RANGE-partitioned table on occurred_at; the rows of 0002's table are moved into it
--    (same ids), its grants, row-level security and append-only triggers are kept.
--  - audit_log_create_partitions(from, to) creates the months in between; the retention job calls
--    audit_log_create_partitions_ahead() on every run (three months ahead). There is no default partition:
--    a change whose audit record has no partition fails, so no change goes unaudited.
--  - Append-only for every role, the owner included: no UPDATE, DELETE or TRUNCATE, on the table or on any
--    partition. The only purge is purge_expired_audit(): it drops the months past the retention period
--    and records each drop in audit_partition_drops (which is append-only itself).
-- What triggers cannot stop: the owner (or a superuser) running DDL (DROP TABLE, ALTER TABLE ... DISABLE
-- TRIGGER). That needs an event trigger, which RDS reserves to rds_superuser: see db/README.md.

ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER INDEX idx_audit_log_user_time RENAME TO idx_audit_log_unpartitioned_user_time;
ALTER INDEX idx_audit_log_occurred_at RENAME TO idx_audit_log_unpartitioned_occurred_at;
ALTER TABLE audit_log_unpartitioned RENAME CONSTRAINT audit_log_pkey TO audit_log_unpartitioned_pkey;

CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_id          uuid,
    table_name       text NOT NULL,
    operation        text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    row_id           text,
    changed_columns  text[],
    db_role          text NOT NULL DEFAULT current_user,
    app_user_id      text,
    transaction_id   bigint NOT NULL DEFAULT txid_current(),
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX idx_audit_log_user_time ON audit_log (user_id, occurred_at DESC, id DESC);

-- Each drop of a month: what, which range, how many rows, when, by whom.
CREATE TABLE audit_partition_drops (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_name  text NOT NULL,
    range_from      timestamptz NOT NULL,
    range_to        timestamptz NOT NULL,
    rows_dropped    bigint NOT NULL,
    retention       interval NOT NULL,
    dropped_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    dropped_by      text NOT NULL DEFAULT session_user
);
REVOKE ALL ON audit_partition_drops FROM PUBLIC;
GRANT SELECT ON audit_partition_drops TO pii_audit;

-- Append-only, for everyone: 0003's function let DELETE through under a session flag any owner session
-- could set; the partitioned trail and its drop log have no such exception.
CREATE FUNCTION forbid_audit_log_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % is not allowed (only purge_expired_audit drops whole expired months)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_audit_log_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_audit_log_change();
CREATE TRIGGER audit_partition_drops_append_only BEFORE UPDATE OR DELETE ON audit_partition_drops
    FOR EACH ROW EXECUTE FUNCTION forbid_audit_log_change();
CREATE TRIGGER audit_partition_drops_no_truncate BEFORE TRUNCATE ON audit_partition_drops
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_audit_log_change();

-- Creates the monthly partitions covering [p_from, p_to] (UTC months) that do not exist yet; returns how many.
-- Statement triggers are not inherited by partitions: each gets its own TRUNCATE guard.
CREATE FUNCTION audit_log_create_partitions(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start timestamp := date_trunc('month', p_from AT TIME ZONE 'UTC');
    last_month timestamp := date_trunc('month', p_to AT TIME ZONE 'UTC');
    partition_name text;
    created integer := 0;
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
        RAISE EXCEPTION 'audit_log_create_partitions: need p_from <= p_to' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF last_month > month_start + interval '10 years' THEN
        RAISE EXCEPTION 'audit_log_create_partitions: at most 10 years at once' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WHILE month_start <= last_month LOOP
        partition_name := 'audit_log_' || to_char(month_start, 'YYYY"m"MM');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)', partition_name,
                           (month_start AT TIME ZONE 'UTC'), ((month_start + interval '1 month') AT TIME ZONE 'UTC'));
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION forbid_audit_log_change()',
                           partition_name || '_no_truncate', partition_name);
            created := created + 1;
        END IF;
        month_start := month_start + interval '1 month';
    END LOOP;
    RETURN created;
END $$;

CREATE FUNCTION audit_log_create_partitions_ahead(p_now timestamptz DEFAULT now(), p_months integer DEFAULT 3) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT audit_log_create_partitions(p_now, p_now + make_interval(months => p_months))
$$;
REVOKE EXECUTE ON FUNCTION audit_log_create_partitions(timestamptz, timestamptz), audit_log_create_partitions_ahead(timestamptz, integer) FROM PUBLIC;

-- Move the existing trail (same ids), then continue the id sequence after it.
SELECT audit_log_create_partitions(coalesce((SELECT min(occurred_at) FROM audit_log_unpartitioned), now()), now() + interval '3 months');
INSERT INTO audit_log (id, occurred_at, user_id, table_name, operation, row_id, changed_columns, db_role, app_user_id, transaction_id)
OVERRIDING SYSTEM VALUE
SELECT id, occurred_at, user_id, table_name, operation, row_id, changed_columns, db_role, app_user_id, transaction_id
FROM audit_log_unpartitioned ORDER BY id;
SELECT setval(pg_get_serial_sequence('audit_log', 'id'), coalesce((SELECT max(id) FROM audit_log), 0) + 1, false);

-- Same readers, same row-level security as before.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT a.grantee::regrole::text AS grantee, a.privilege_type
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'audit_log_unpartitioned'::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
    LOOP
        EXECUTE format('GRANT %s ON audit_log TO %I', g.privilege_type, g.grantee);
    END LOOP;
    FOR g IN
        SELECT pol.polname, pol.polcmd, pg_get_expr(pol.polqual, pol.polrelid) AS using_expr,
               pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expr,
               (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE oid = ANY(pol.polroles)) AS roles
        FROM pg_policy pol WHERE pol.polrelid = 'audit_log_unpartitioned'::regclass
    LOOP
        EXECUTE format('CREATE POLICY %I ON audit_log FOR %s TO %s%s%s', g.polname,
            CASE g.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
            g.roles,
            CASE WHEN g.using_expr IS NULL THEN '' ELSE ' USING (' || g.using_expr || ')' END,
            CASE WHEN g.check_expr IS NULL THEN '' ELSE ' WITH CHECK (' || g.check_expr || ')' END);
    END LOOP;
END $$;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

DROP TABLE audit_log_unpartitioned;

-- Drops the audit_log months that ended before p_now - retention (retention_policies 'audit_log'), recording
-- each; returns the rows dropped. Takes its locks with a timeout: a busy trail is retried by the next run.
CREATE FUNCTION audit_log_drop_expired_partitions(p_now timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
    keep interval := (SELECT retention_period FROM retention_policies WHERE data_category = 'audit_log');
    p record;
    n bigint;
    total bigint := 0;
BEGIN
    IF keep IS NULL THEN
        RAISE EXCEPTION 'retention_policies has no audit_log period: nothing is dropped' USING ERRCODE = 'no_data_found';
    END IF;
    FOR p IN
        SELECT child.oid::regclass AS partition, child.relname,
               (regexp_match(pg_get_expr(child.relpartbound, child.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)')) AS bounds
        FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
        WHERE i.inhparent = 'audit_log'::regclass
        ORDER BY child.relname
    LOOP
        CONTINUE WHEN p.bounds IS NULL OR p.bounds[2]::timestamptz > p_now - keep;
        EXECUTE format('SELECT count(*) FROM %s', p.partition) INTO n;
        EXECUTE format('ALTER TABLE audit_log DETACH PARTITION %s', p.partition);
        EXECUTE format('DROP TABLE %s', p.partition);
        INSERT INTO audit_partition_drops (partition_name, range_from, range_to, rows_dropped, retention)
        VALUES (p.relname, p.bounds[1]::timestamptz, p.bounds[2]::timestamptz, n, keep);
        total := total + n;
    END LOOP;
    RETURN total;
END $$;
REVOKE EXECUTE ON FUNCTION audit_log_drop_expired_partitions(timestamptz) FROM PUBLIC;

-- The retention job's purge: whole months of audit_log (and months created ahead); the smaller trails
-- (encryption_audit, erasure_log) and provision records as before.
CREATE OR REPLACE FUNCTION purge_expired_audit(p_now timestamptz DEFAULT now(), OUT audit_rows bigint, OUT provision_records bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM audit_log_create_partitions_ahead(greatest(p_now, now()));
    audit_rows := audit_log_drop_expired_partitions(p_now);
    PERFORM set_config('appi.audit_purge', 'on', true);
    DELETE FROM encryption_audit WHERE accessed_at < p_now - (SELECT retention_period FROM retention_policies WHERE data_category = 'encryption_audit');
    GET DIAGNOSTICS n = ROW_COUNT; audit_rows := audit_rows + n;
    DELETE FROM erasure_log WHERE erased_at < p_now - (SELECT retention_period FROM retention_policies WHERE data_category = 'erasure_log');
    GET DIAGNOSTICS n = ROW_COUNT; audit_rows := audit_rows + n;
    DELETE FROM third_party_provisions WHERE retain_until < p_now;
    GET DIAGNOSTICS provision_records = ROW_COUNT;
    DELETE FROM deletion_requests WHERE status <> 'pending'
        AND requested_at < p_now - (SELECT retention_period FROM retention_policies WHERE data_category = 'deletion_requests');
    PERFORM set_config('appi.audit_purge', 'off', true);
END $$;
