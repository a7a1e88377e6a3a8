-- Least-privilege group roles, row-level security, audit triggers and append-only audit tables.
--
-- Applications log in as LOGIN roles that are members of:
--   pii_read   reads the rows of the user named by app.user_id
--   pii_write  reads and writes the rows of the user named by app.user_id (no DELETE: erasure goes
--              through deletion_requests and the retention job)
--   pii_audit  reads the audit tables and views; no PII column at all
-- The migration owner runs the retention job (SECURITY DEFINER functions below).

-- Roles are cluster-wide: another database on the same server may be migrating right now. Advisory locks
-- are per database, so a concurrent CREATE ROLE can still fail: duplicate_object if the other transaction
-- committed first, unique_violation if it committed while we waited on the catalog index.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['pii_read', 'pii_write', 'pii_audit'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a concurrent migration
            END;
        END IF;
    END LOOP;
END $$;

-- The user the application acts for in this transaction; NULL when unset (then every policy is false:
-- fail closed). withUserTransaction() in lib/db.ts sets it with set_config('app.user_id', id, true).
CREATE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;

-- Nothing for PUBLIC: every privilege is granted to a group role below.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
-- ...and for functions created from here on, in this and later migrations (a new SECURITY DEFINER function
-- must not be callable by everyone). Not "IN SCHEMA": per-schema defaults cannot take away global ones.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO pii_read, pii_write, pii_audit;
GRANT EXECUTE ON FUNCTION app_current_user_id(), has_consent(uuid, text) TO pii_read, pii_write;
GRANT EXECUTE ON FUNCTION config_interval(text) TO pii_read, pii_write, pii_audit;

-- Reference data.
GRANT SELECT ON system_config, consent_purposes, retention_policies TO pii_read, pii_write, pii_audit;

-- User data.
GRANT SELECT ON users, encryption_metadata, consent_records, current_consents,
                deletion_requests, data_subject_requests, third_party_provisions TO pii_read, pii_write;
GRANT INSERT, UPDATE ON users, encryption_metadata TO pii_write;
GRANT INSERT ON consent_records, deletion_requests, data_subject_requests, third_party_provisions TO pii_write;

-- Audit tables: append-only for every application role; db_role / occurred_at keep their defaults.
GRANT INSERT (user_id, field_name, operation, encryption_level, kms_key_id, key_version, performed_by, purpose,
              success, error_code, duration_ms, request_id) ON encryption_audit TO pii_read, pii_write;
GRANT INSERT (rotation_id, key_type, kms_key_id, old_key_version, new_key_version, status, records_affected,
              initiated_by, error_message) ON key_rotation_log TO pii_write;
GRANT SELECT ON audit_log, encryption_audit, key_rotation_log, erasure_log, retention_runs,
                encryption_stats, audit_summary, key_rotation_summary TO pii_audit;
GRANT SELECT ON key_rotation_log TO pii_read, pii_write;

-- Incidents and their deadlines: compliance staff (pii_audit) record and follow them; no PII inside.
GRANT SELECT, INSERT, UPDATE ON incidents TO pii_audit;
GRANT SELECT ON incident_report_status TO pii_audit;

-- Row-level security, ENABLEd and FORCEd (FORCE: the table owner is subject to it as well).
-- Application roles see the rows of app.user_id only; the owner's own policy lets the retention job
-- (SECURITY DEFINER functions owned by the owner) work on every row, even where the owner is not a superuser.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
            ('users', 'id'),
            ('encryption_metadata', 'user_id'),
            ('consent_records', 'user_id'),
            ('deletion_requests', 'user_id'),
            ('data_subject_requests', 'user_id'),
            ('third_party_provisions', 'user_id'),
            ('encryption_audit', 'user_id'),
            ('audit_log', 'user_id'),
            ('erasure_log', 'user_id')) AS v(table_name, user_column) LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('CREATE POLICY owner_maintenance ON %I TO %I USING (true) WITH CHECK (true)', t.table_name, current_user);
    END LOOP;
END $$;

-- users: pii_read reads its row; pii_write reads, inserts and updates its row (and cannot move it to another id).
CREATE POLICY user_self_select ON users FOR SELECT TO pii_read, pii_write USING (id = app_current_user_id());
CREATE POLICY user_self_insert ON users FOR INSERT TO pii_write WITH CHECK (id = app_current_user_id());
CREATE POLICY user_self_update ON users FOR UPDATE TO pii_write USING (id = app_current_user_id()) WITH CHECK (id = app_current_user_id());

CREATE POLICY user_self_select ON encryption_metadata FOR SELECT TO pii_read, pii_write USING (user_id = app_current_user_id());
CREATE POLICY user_self_insert ON encryption_metadata FOR INSERT TO pii_write WITH CHECK (user_id = app_current_user_id());
CREATE POLICY user_self_update ON encryption_metadata FOR UPDATE TO pii_write USING (user_id = app_current_user_id()) WITH CHECK (user_id = app_current_user_id());

CREATE POLICY user_self_select ON consent_records FOR SELECT TO pii_read, pii_write USING (user_id = app_current_user_id());
CREATE POLICY user_self_insert ON consent_records FOR INSERT TO pii_write WITH CHECK (user_id = app_current_user_id());

CREATE POLICY user_self_select ON deletion_requests FOR SELECT TO pii_read, pii_write USING (user_id = app_current_user_id());
CREATE POLICY user_self_insert ON deletion_requests FOR INSERT TO pii_write WITH CHECK (user_id = app_current_user_id() AND status = 'pending');

CREATE POLICY user_self_select ON data_subject_requests FOR SELECT TO pii_read, pii_write USING (user_id = app_current_user_id());
CREATE POLICY user_self_insert ON data_subject_requests FOR INSERT TO pii_write WITH CHECK (user_id = app_current_user_id() AND status = 'received');

CREATE POLICY user_self_select ON third_party_provisions FOR SELECT TO pii_read, pii_write USING (user_id = app_current_user_id());
CREATE POLICY user_self_insert ON third_party_provisions FOR INSERT TO pii_write WITH CHECK (user_id = app_current_user_id());

-- Audit tables: the application appends entries about its own user; auditors read everything.
CREATE POLICY user_self_insert ON encryption_audit FOR INSERT TO pii_read, pii_write WITH CHECK (user_id = app_current_user_id());
CREATE POLICY auditor_read ON encryption_audit FOR SELECT TO pii_audit USING (true);
CREATE POLICY auditor_read ON audit_log FOR SELECT TO pii_audit USING (true);
CREATE POLICY auditor_read ON erasure_log FOR SELECT TO pii_audit USING (true);

-- Views run with their owner's rights unless security_invoker: auditors get aggregates, not rows.
ALTER VIEW encryption_stats SET (security_invoker = false);

-- updated_at maintenance.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER encryption_metadata_touch_updated_at BEFORE UPDATE ON encryption_metadata FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Audit trigger for user tables: who changed which row of which user, and the NAMES of changed columns,
-- never values (so no plaintext PII reaches the trail). SECURITY DEFINER: application roles cannot
-- write audit_log themselves. TG_ARGV[0] = column holding the user id, TG_ARGV[1] = key column.
CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    the_row jsonb := coalesce(new_row, old_row);
    changed text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.key ORDER BY n.key) INTO changed
        FROM jsonb_each(new_row) n JOIN jsonb_each(old_row) o USING (key)
        WHERE n.value IS DISTINCT FROM o.value;
        IF changed IS NULL THEN
            RETURN NULL;  -- nothing changed
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(key ORDER BY key) INTO changed FROM jsonb_each(new_row) WHERE value <> 'null'::jsonb;
    END IF;
    -- session_user: inside SECURITY DEFINER current_user is the owner; we want the role that logged in.
    INSERT INTO audit_log (user_id, table_name, operation, row_id, changed_columns, app_user_id, db_role)
    VALUES ((the_row ->> TG_ARGV[0])::uuid, TG_TABLE_NAME, TG_OP, the_row ->> TG_ARGV[1], changed,
            nullif(current_setting('app.user_id', true), ''), session_user);
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION audit_row_change() FROM PUBLIC;

CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('id', 'id');
CREATE TRIGGER encryption_metadata_audit AFTER INSERT OR UPDATE OR DELETE ON encryption_metadata
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user_id', 'id');
CREATE TRIGGER consent_records_audit AFTER INSERT OR UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user_id', 'id');
CREATE TRIGGER deletion_requests_audit AFTER INSERT OR UPDATE OR DELETE ON deletion_requests
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user_id', 'id');
CREATE TRIGGER data_subject_requests_audit AFTER INSERT OR UPDATE OR DELETE ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user_id', 'id');
CREATE TRIGGER third_party_provisions_audit AFTER INSERT OR UPDATE OR DELETE ON third_party_provisions
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user_id', 'id');

-- Append-only audit tables: no UPDATE ever, no DELETE/TRUNCATE except the retention job's purge
-- (purge_expired_audit sets appi.audit_purge for its own transaction). Application roles have no
-- UPDATE/DELETE/TRUNCATE privilege in the first place; these triggers also stop the owner's ad-hoc edits.
CREATE FUNCTION forbid_audit_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('appi.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['audit_log', 'encryption_audit', 'key_rotation_log', 'erasure_log', 'retention_runs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION forbid_audit_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION forbid_audit_change()', t || '_no_truncate', t);
    END LOOP;
END $$;

-- Retention job (npm run db:retention): owner-only functions.

-- Erases every user whose pending deletion request is due, in one statement (cascades to the user's
-- encryption metadata and consents); the request rows and erasure_log keep the proof, without PII.
CREATE FUNCTION complete_due_deletion_requests(p_now timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    completed integer;
BEGIN
    WITH due AS (
        SELECT id, user_id FROM deletion_requests
        WHERE status = 'pending' AND requested_at <= p_now
        FOR UPDATE SKIP LOCKED
    ), erased AS (
        DELETE FROM users u USING due WHERE u.id = due.user_id RETURNING u.id
    ), logged AS (
        INSERT INTO erasure_log (user_id, reason, deletion_request_id)
        SELECT due.user_id, 'deletion_request', due.id FROM due
    )
    UPDATE deletion_requests d SET status = 'completed', completed_at = clock_timestamp()
    FROM due WHERE d.id = due.id;
    GET DIAGNOSTICS completed = ROW_COUNT;
    RETURN completed;
END $$;

-- Erases users inactive for longer than retention_policies('user_pii').
CREATE FUNCTION erase_expired_users(p_now timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    erased_count integer;
BEGIN
    WITH expired AS (
        DELETE FROM users
        WHERE last_activity_at < p_now - (SELECT retention_period FROM retention_policies WHERE data_category = 'user_pii')
        RETURNING id
    )
    INSERT INTO erasure_log (user_id, reason) SELECT id, 'retention_expired' FROM expired;
    GET DIAGNOSTICS erased_count = ROW_COUNT;
    RETURN erased_count;
END $$;

-- Purges audit rows and provision records past their retention period.
CREATE FUNCTION purge_expired_audit(p_now timestamptz DEFAULT now(), OUT audit_rows bigint, OUT provision_records bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM set_config('appi.audit_purge', 'on', true);
    audit_rows := 0;
    DELETE FROM audit_log WHERE occurred_at < p_now - (SELECT retention_period FROM retention_policies WHERE data_category = 'audit_log');
    GET DIAGNOSTICS n = ROW_COUNT; audit_rows := audit_rows + n;
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

-- The whole job, recorded in retention_runs (counts only).
CREATE FUNCTION run_retention(p_now timestamptz DEFAULT now()) RETURNS retention_runs
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
    requests integer;
    expired integer;
    purged record;
    result retention_runs;
BEGIN
    requests := complete_due_deletion_requests(p_now);
    expired := erase_expired_users(p_now);
    SELECT * INTO purged FROM purge_expired_audit(p_now);
    INSERT INTO retention_runs (started_at, deletion_requests_completed, users_erased_for_retention, audit_rows_purged, provision_records_purged)
    VALUES (started, requests, expired, purged.audit_rows, purged.provision_records)
    RETURNING * INTO result;
    RETURN result;
END $$;

REVOKE EXECUTE ON FUNCTION complete_due_deletion_requests(timestamptz), erase_expired_users(timestamptz),
    purge_expired_audit(timestamptz), run_retention(timestamptz) FROM PUBLIC;
