-- Compliance metrics (issue 12): aggregates only, computed by SECURITY DEFINER functions, so the audit role
-- and the scheduled compliance job read how compliant the data is without reading any personal data.
--   compliance_metrics(now)            the live figures (consent, deletion SLA, DSRs, incidents, audit gaps, provisions)
--   record_compliance_snapshot(now)    the same, kept in compliance_snapshots (the monthly report charts them)
--   compliance_audit_gaps()            row versions written without their audit record (found, not assumed)
--   compliance_access_review(from, to) who read personal data: by role, principal and purpose, volumes and hours
--   compliance_deletion_latencies(from, to)  completed deletion requests' latency (seconds), no user ids
--   record_drill_result(...)           restore and key-rotation drills leave their result in drill_results
-- compliance_job: the login of the scheduled job (Lambda, IAM auth through the proxy); may call these, nothing else.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'compliance_job') THEN
        BEGIN
            CREATE ROLE compliance_job LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO compliance_job;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO compliance_job', current_database());
END $$;
GRANT USAGE ON SCHEMA public TO compliance_job;

-- The privacy-notice version every user must have consented under; null: the latest consent of any version counts.
INSERT INTO system_config (key, value, description) VALUES
    ('consent.current_notice_version', 'null', 'privacy-notice version the required consents must be given under (null: any version)'),
    ('consent.target_rate', '0.99', 'share of users holding every required consent below which the consent alarm fires')
ON CONFLICT (key) DO NOTHING;

-- Every personal-data table with its audit trigger: the user column and the key column the trigger records.
CREATE TABLE audited_tables (
    table_name   text PRIMARY KEY,
    user_column  text NOT NULL,
    key_column   text NOT NULL
);
INSERT INTO audited_tables VALUES
    ('users', 'id', 'id'),
    ('encryption_metadata', 'user_id', 'id'),
    ('consent_records', 'user_id', 'id'),
    ('deletion_requests', 'user_id', 'id'),
    ('data_subject_requests', 'user_id', 'id'),
    ('third_party_provisions', 'user_id', 'id');

-- Audit completeness, measured: every current row version of an audited table was written by a transaction
-- (its xmin) that left an audit_log entry for that row; a change made with the triggers bypassed (a superuser
-- with session_replication_role = replica, ALTER TABLE ... DISABLE TRIGGER) has none. audit_log keeps the
-- 64-bit txid_current(); xmin is its low 32 bits. Once the retention job has purged old entries, a row last
-- written before the oldest remaining entry's transaction has lost its entry legitimately and is not counted.
-- Deletions are found the other way round: the latest entry of a row says it exists, yet it is gone.
CREATE FUNCTION compliance_audit_gaps()
RETURNS TABLE (table_name text, unaudited_writes bigint, unaudited_deletes bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t audited_tables;
    purged boolean := EXISTS (SELECT 1 FROM retention_runs WHERE audit_rows_purged > 0);
    oldest_xid xid := (SELECT ((a.transaction_id & 4294967295)::text)::xid FROM audit_log a ORDER BY a.id LIMIT 1);
BEGIN
    FOR t IN SELECT * FROM audited_tables ORDER BY audited_tables.table_name LOOP
        table_name := t.table_name;
        -- Writes: the row's last writer left no entry for this row.
        EXECUTE format($q$
            SELECT count(*) FROM %1$I r
            WHERE NOT EXISTS (
                SELECT 1 FROM audit_log a
                WHERE a.user_id = r.%2$I AND a.table_name = %1$L AND a.row_id = r.%3$I::text
                  AND (a.transaction_id & 4294967295) = r.xmin::text::bigint)
              AND (NOT $1 OR ($2 IS NOT NULL AND age(r.xmin) <= age($2)))
            $q$, t.table_name, t.user_column, t.key_column)
        INTO unaudited_writes USING purged, oldest_xid;
        -- Deletes: the latest entry of a row is not a DELETE, but the row no longer exists.
        EXECUTE format($q$
            SELECT count(*) FROM (
                SELECT DISTINCT ON (a.row_id) a.row_id, a.operation
                FROM audit_log a WHERE a.table_name = %1$L
                ORDER BY a.row_id, a.id DESC) latest
            WHERE latest.operation <> 'DELETE'
              AND NOT EXISTS (SELECT 1 FROM %1$I r WHERE r.%2$I::text = latest.row_id)
            $q$, t.table_name, t.key_column)
        INTO unaudited_deletes;
        RETURN NEXT;
    END LOOP;
END $$;

-- The live figures, one JSON document with the keys of `npm run compliance:metrics -- --format json`.
CREATE FUNCTION compliance_metrics(p_now timestamptz DEFAULT now()) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    current_notice text := (SELECT value #>> '{}' FROM system_config WHERE key = 'consent.current_notice_version');
    target_rate numeric := coalesce((SELECT (value #>> '{}')::numeric FROM system_config WHERE key = 'consent.target_rate'), 0.99);
    total_users bigint;
    compliant_users bigint;
    per_purpose jsonb;
    consent jsonb;
    deletion jsonb;
    dsr jsonb;
    incident jsonb;
    audit jsonb;
    provisions jsonb;
BEGIN
    -- Latest record per (user, purpose), read through the (user_id, purpose, recorded_at DESC, id DESC) index.
    WITH required AS (
        SELECT purpose FROM consent_purposes WHERE required
    ), per_user AS (
        SELECT u.id,
               bool_and(coalesce(latest.granted AND (current_notice IS NULL OR latest.notice_version = current_notice), false)) AS holds_all
        FROM users u CROSS JOIN required p
        LEFT JOIN LATERAL (
            SELECT c.granted, c.notice_version FROM consent_records c
            WHERE c.user_id = u.id AND c.purpose = p.purpose
            ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) latest ON true
        GROUP BY u.id
    )
    SELECT count(*), count(*) FILTER (WHERE holds_all) INTO total_users, compliant_users FROM per_user;
    IF NOT EXISTS (SELECT 1 FROM consent_purposes WHERE required) THEN
        SELECT count(*), count(*) INTO total_users, compliant_users FROM users;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'purpose', p.purpose, 'required', p.required, 'usersGranted', p.granted,
               'usersMissing', total_users - p.granted,
               'rate', CASE WHEN total_users = 0 THEN 1 ELSE round(p.granted::numeric / total_users, 6) END)
           ORDER BY p.purpose), '[]'::jsonb)
    INTO per_purpose
    FROM (
        SELECT cp.purpose, cp.required,
               (SELECT count(*) FROM users u
                WHERE (SELECT c.granted AND (current_notice IS NULL OR NOT cp.required OR c.notice_version = current_notice)
                       FROM consent_records c
                       WHERE c.user_id = u.id AND c.purpose = cp.purpose
                       ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1)) AS granted
        FROM consent_purposes cp) p;

    consent := jsonb_build_object(
        'noticeVersion', current_notice,
        'targetRate', target_rate,
        'users', total_users,
        'usersCompliant', compliant_users,
        'usersMissingRequired', total_users - compliant_users,
        'complianceRate', CASE WHEN total_users = 0 THEN 1 ELSE round(compliant_users::numeric / total_users, 6) END,
        'purposes', per_purpose);

    SELECT jsonb_build_object(
        'pending', count(*) FILTER (WHERE status = 'pending'),
        'withinSla', count(*) FILTER (WHERE status = 'pending' AND deadline_at >= p_now),
        'overdue', count(*) FILTER (WHERE status = 'pending' AND deadline_at < p_now),
        'oldestOverdueMinutes', coalesce(floor(extract(epoch FROM p_now - min(deadline_at) FILTER (WHERE status = 'pending' AND deadline_at < p_now)) / 60), 0)::bigint,
        'completedLast30Days', count(*) FILTER (WHERE status = 'completed' AND completed_at >= p_now - interval '30 days'),
        'completedLateLast30Days', count(*) FILTER (WHERE status = 'completed' AND completed_at >= p_now - interval '30 days' AND completed_at > deadline_at))
    INTO deletion
    FROM deletion_requests WHERE status = 'pending' OR completed_at >= p_now - interval '30 days';

    SELECT jsonb_build_object(
        'open', count(*),
        'overdue', count(*) FILTER (WHERE due_at < p_now),
        'oldestOverdueDays', coalesce(floor(extract(epoch FROM p_now - min(due_at) FILTER (WHERE due_at < p_now)) / 86400), 0)::bigint)
    INTO dsr
    FROM data_subject_requests WHERE status IN ('received', 'in_progress');

    SELECT jsonb_build_object(
        'open', count(*) FILTER (WHERE status <> 'closed'),
        'reportRequired', count(*) FILTER (WHERE report_required),
        'overduePreliminary', count(*) FILTER (WHERE report_required AND preliminary_reported_at IS NULL AND preliminary_report_due_at < p_now),
        'overdueFinal', count(*) FILTER (WHERE report_required AND final_reported_at IS NULL AND final_report_due_at < p_now),
        'dueWithin24h', count(*) FILTER (WHERE report_required AND (
            (preliminary_reported_at IS NULL AND preliminary_report_due_at >= p_now AND preliminary_report_due_at < p_now + interval '24 hours')
            OR (final_reported_at IS NULL AND final_report_due_at >= p_now AND final_report_due_at < p_now + interval '24 hours'))))
    INTO incident
    FROM incidents;

    SELECT jsonb_build_object(
        'gaps', coalesce(sum(unaudited_writes + unaudited_deletes), 0)::bigint,
        'tables', coalesce(jsonb_object_agg(g.table_name, jsonb_build_object('unauditedWrites', unaudited_writes, 'unauditedDeletes', unaudited_deletes)), '{}'::jsonb))
    INTO audit
    FROM compliance_audit_gaps() g;

    SELECT jsonb_build_object('pastRetention', count(*) FILTER (WHERE retain_until < p_now), 'total', count(*))
    INTO provisions FROM third_party_provisions;

    RETURN jsonb_build_object(
        'generatedAt', to_jsonb(p_now),
        'consent', consent,
        'deletion', deletion,
        'dataSubjectRequests', dsr,
        'incidents', incident,
        'audit', audit,
        'thirdPartyProvisions', provisions);
END $$;

-- What the scheduled job keeps, so the monthly report can chart a month of it. Append-only.
CREATE TABLE compliance_snapshots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    metrics    jsonb NOT NULL,
    db_role    text NOT NULL DEFAULT session_user
);
CREATE INDEX idx_compliance_snapshots_taken_at ON compliance_snapshots (taken_at);

CREATE FUNCTION record_compliance_snapshot(p_now timestamptz DEFAULT now()) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m jsonb := compliance_metrics(p_now);
BEGIN
    INSERT INTO compliance_snapshots (taken_at, metrics, db_role) VALUES (p_now, m, session_user);
    RETURN m;
END $$;

-- Restore and key-rotation drills: one row per run (no PII: counts, durations, key ids, check names).
CREATE TABLE drill_results (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    drill           text NOT NULL CHECK (drill IN ('restore', 'key_rotation')),
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    succeeded       boolean NOT NULL,
    -- restore: measured recovery time against the target (the spec's RTO, 8 hours)
    recovery_seconds  numeric CHECK (recovery_seconds >= 0),
    rto_seconds       numeric CHECK (rto_seconds > 0),
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_by     text NOT NULL DEFAULT session_user,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (finished_at >= started_at),
    CHECK (drill <> 'restore' OR (recovery_seconds IS NOT NULL AND rto_seconds IS NOT NULL))
);
CREATE INDEX idx_drill_results_drill_time ON drill_results (drill, started_at DESC);

CREATE FUNCTION record_drill_result(p_drill text, p_started_at timestamptz, p_finished_at timestamptz, p_succeeded boolean,
                                    p_recovery_seconds numeric, p_rto_seconds numeric, p_details jsonb) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO drill_results (drill, started_at, finished_at, succeeded, recovery_seconds, rto_seconds, details, recorded_by)
    VALUES (p_drill, p_started_at, p_finished_at, p_succeeded, p_recovery_seconds, p_rto_seconds, coalesce(p_details, '{}'::jsonb), session_user)
    RETURNING id
$$;

-- The access-log review of the monthly report: reads of personal data (encryption_audit decrypt / access)
-- grouped by database role, application principal and purpose; no user ids leave the function.
CREATE FUNCTION compliance_access_review(p_from timestamptz, p_to timestamptz, p_time_zone text DEFAULT 'Asia/Tokyo')
RETURNS TABLE (db_role text, performed_by text, purpose text, reads bigint, users_read bigint, failed bigint,
               off_hours_reads bigint, busiest_day date, busiest_day_reads bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH reads AS (
        SELECT e.db_role, e.performed_by, coalesce(e.purpose, '(none)') AS purpose, e.user_id, e.success,
               (e.accessed_at AT TIME ZONE p_time_zone) AS local_time
        FROM encryption_audit e
        WHERE e.operation IN ('decrypt', 'access') AND e.accessed_at >= p_from AND e.accessed_at < p_to
    ), per_day AS (
        SELECT r.db_role, r.performed_by, r.purpose, r.local_time::date AS day, count(*) AS n,
               row_number() OVER (PARTITION BY r.db_role, r.performed_by, r.purpose ORDER BY count(*) DESC, r.local_time::date) AS rank
        FROM reads r GROUP BY 1, 2, 3, 4
    )
    SELECT r.db_role, r.performed_by, r.purpose, count(*), count(DISTINCT r.user_id), count(*) FILTER (WHERE NOT r.success),
           count(*) FILTER (WHERE extract(hour FROM r.local_time) < 8 OR extract(hour FROM r.local_time) >= 20),
           d.day, d.n
    FROM reads r JOIN per_day d ON d.db_role = r.db_role AND d.performed_by = r.performed_by AND d.purpose = r.purpose AND d.rank = 1
    GROUP BY r.db_role, r.performed_by, r.purpose, d.day, d.n
    ORDER BY count(*) DESC
$$;

-- Deletion latency of the requests completed in a period (the report's distribution chart).
CREATE FUNCTION compliance_deletion_latencies(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (requested_at timestamptz, latency_seconds numeric, within_sla boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.requested_at, round(extract(epoch FROM d.completed_at - d.requested_at)::numeric, 3), d.completed_at <= d.deadline_at
    FROM deletion_requests d
    WHERE d.status = 'completed' AND d.completed_at >= p_from AND d.completed_at < p_to
    ORDER BY d.completed_at
$$;

-- Append-only like the other audit tables (the trigger function is 0003's).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['compliance_snapshots', 'drill_results'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION forbid_audit_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION forbid_audit_change()', t || '_no_truncate', t);
    END LOOP;
END $$;

REVOKE ALL ON audited_tables, compliance_snapshots, drill_results FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION compliance_audit_gaps(), compliance_metrics(timestamptz), record_compliance_snapshot(timestamptz),
    record_drill_result(text, timestamptz, timestamptz, boolean, numeric, numeric, jsonb),
    compliance_access_review(timestamptz, timestamptz, text), compliance_deletion_latencies(timestamptz, timestamptz) FROM PUBLIC;

-- Auditors and the compliance job: aggregates and the results tables; no personal-data table at all.
GRANT EXECUTE ON FUNCTION compliance_audit_gaps(), compliance_metrics(timestamptz),
    compliance_access_review(timestamptz, timestamptz, text), compliance_deletion_latencies(timestamptz, timestamptz) TO pii_audit, compliance_job;
GRANT EXECUTE ON FUNCTION record_compliance_snapshot(timestamptz),
    record_drill_result(text, timestamptz, timestamptz, boolean, numeric, numeric, jsonb) TO compliance_job;
GRANT SELECT ON compliance_snapshots, drill_results TO pii_audit, compliance_job;
GRANT SELECT ON key_rotation_log, encryption_stats, incident_report_status, retention_runs TO compliance_job;
