-- Erasure that reaches every store. A deletion request is `completed` only when every store that holds
-- the person's data has been erased: the database rows (done here, in the database), the Cognito user and
-- the Redis cache entries (done by the erasure worker, lambdas/erasure-worker, which reports each step back).
-- Each step is one row of erasure_steps: no PII (the user id is the pseudonymous Cognito sub), attempts and
-- error codes only, timestamps from the server clock. Failed steps are retried with exponential backoff;
-- a step that keeps failing is "stuck" and alarmed on (erasure_status()).

-- The stores a deletion must reach, as data: adding a store is one row here plus its eraser in the worker.
INSERT INTO system_config (key, value, description) VALUES
    ('erasure.stores', '["database", "cognito", "cache"]', 'stores a deletion request must erase before it is completed'),
    ('erasure.max_attempts_before_stuck', '5', 'a step failing this many times is reported stuck (alarm)'),
    ('erasure.retry_base', '"1 minute"', 'first retry delay of a failed step; doubles per attempt, capped at 1 hour');

CREATE TABLE erasure_steps (
    deletion_request_id  uuid NOT NULL REFERENCES deletion_requests (id) ON DELETE CASCADE,
    user_id              uuid NOT NULL,                       -- whose data; pseudonymous, no foreign key
    store                text NOT NULL CHECK (store ~ '^[a-z][a-z0-9_]*$'),
    status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed', 'done')),
    attempts             integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error_code      text CHECK (last_error_code ~ '^[A-Za-z0-9_.:-]{1,100}$'),  -- a code, never a message
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    next_attempt_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_attempt_at      timestamptz,
    done_at              timestamptz,
    PRIMARY KEY (deletion_request_id, store),
    CHECK ((status = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX idx_erasure_steps_due ON erasure_steps (next_attempt_at) WHERE status <> 'done';
CREATE TRIGGER erasure_steps_audit AFTER INSERT OR UPDATE OR DELETE ON erasure_steps
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user_id', 'deletion_request_id');
ALTER TABLE erasure_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE erasure_steps FORCE ROW LEVEL SECURITY;
-- Only the owner's SECURITY DEFINER functions below touch the steps; the auditor reads them.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON erasure_steps TO %I USING (true) WITH CHECK (true)', current_user);
END $$;
CREATE POLICY auditor_read ON erasure_steps FOR SELECT TO pii_audit USING (true);
GRANT SELECT ON erasure_steps TO pii_audit;

-- The erasure_log reason for a user erased again after a restore from backup (erasure_replay below).
ALTER TABLE erasure_log DROP CONSTRAINT erasure_log_reason_check;
ALTER TABLE erasure_log ADD CONSTRAINT erasure_log_reason_check
    CHECK (reason IN ('deletion_request', 'retention_expired', 'replayed_after_restore'));

-- Completes every pending request whose steps are all done; the server sets completed_at.
CREATE FUNCTION erasure_complete_finished() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    completed integer;
BEGIN
    UPDATE deletion_requests d SET status = 'completed', completed_at = clock_timestamp()
    WHERE d.status = 'pending'
      AND EXISTS (SELECT 1 FROM erasure_steps s WHERE s.deletion_request_id = d.id)
      AND NOT EXISTS (SELECT 1 FROM erasure_steps s WHERE s.deletion_request_id = d.id AND s.status <> 'done');
    GET DIAGNOSTICS completed = ROW_COUNT;
    RETURN completed;
END $$;

-- Starts every due request (one step per configured store) and performs the database step at once:
-- deletes the user's row (cascading to encryption metadata and consents) and writes erasure_log.
-- Replaces 0003's version, which marked the request completed after the database alone.
-- Returns the number of requests completed by this call (those whose other steps were already done).
CREATE OR REPLACE FUNCTION complete_due_deletion_requests(p_now timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    stores text[] := ARRAY(SELECT jsonb_array_elements_text(value) FROM system_config WHERE key = 'erasure.stores');
BEGIN
    IF coalesce(array_length(stores, 1), 0) = 0 OR NOT 'database' = ANY (stores) THEN
        RAISE EXCEPTION 'system_config erasure.stores must list the stores to erase, "database" included';
    END IF;
    WITH due AS (
        SELECT d.id, d.user_id FROM deletion_requests d
        WHERE d.status = 'pending' AND d.requested_at <= p_now
          AND NOT EXISTS (SELECT 1 FROM erasure_steps s WHERE s.deletion_request_id = d.id)
        FOR UPDATE SKIP LOCKED
    )
    INSERT INTO erasure_steps (deletion_request_id, user_id, store)
    SELECT due.id, due.user_id, store FROM due CROSS JOIN unnest(stores) AS store;

    WITH step AS (
        SELECT s.deletion_request_id, s.user_id FROM erasure_steps s
        WHERE s.store = 'database' AND s.status <> 'done'
        FOR UPDATE SKIP LOCKED
    ), erased AS (
        DELETE FROM users u USING step WHERE u.id = step.user_id RETURNING u.id
    ), logged AS (
        INSERT INTO erasure_log (user_id, reason, deletion_request_id)
        SELECT step.user_id, 'deletion_request', step.deletion_request_id FROM step
    )
    UPDATE erasure_steps s SET status = 'done', attempts = s.attempts + 1, last_attempt_at = clock_timestamp(),
                               done_at = clock_timestamp(), last_error_code = NULL
    FROM step WHERE s.deletion_request_id = step.deletion_request_id AND s.store = 'database';

    RETURN erasure_complete_finished();
END $$;

-- The worker's queue: steps outside the database that are due. Claiming leases a step for five minutes
-- (next_attempt_at moves on), so two workers never take the same step and no transaction stays open
-- during the calls to Cognito or Redis; a worker that dies mid-step only delays it. Runs the database
-- steps first.
CREATE FUNCTION erasure_claim_steps(p_limit integer DEFAULT 100)
RETURNS TABLE (deletion_request_id uuid, user_id uuid, store text, attempt integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'erasure_claim_steps: limit must be between 1 and 1000';
    END IF;
    PERFORM complete_due_deletion_requests(now());
    RETURN QUERY
    WITH due AS (
        SELECT s.deletion_request_id, s.store FROM erasure_steps s
        WHERE s.status <> 'done' AND s.store <> 'database' AND s.next_attempt_at <= clock_timestamp()
        ORDER BY s.next_attempt_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE erasure_steps s SET next_attempt_at = clock_timestamp() + interval '5 minutes'
    FROM due WHERE s.deletion_request_id = due.deletion_request_id AND s.store = due.store
    RETURNING s.deletion_request_id, s.user_id, s.store, s.attempts + 1;
END $$;

-- The worker reports one step: done, or failed with an error code (never a message: messages can carry
-- PII). A failure is retried after retry_base * 2^(attempts-1), at most one hour later.
CREATE FUNCTION erasure_record_step(p_request uuid, p_store text, p_succeeded boolean, p_error_code text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    step erasure_steps;
    base interval := coalesce(config_interval('erasure.retry_base'), interval '1 minute');
BEGIN
    -- Reports of one request are serialised on its row: two steps finishing at the same moment in two
    -- transactions would otherwise each see the other unfinished, and neither would complete the request.
    PERFORM 1 FROM deletion_requests WHERE id = p_request FOR UPDATE;
    SELECT * INTO step FROM erasure_steps WHERE deletion_request_id = p_request AND store = p_store FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'erasure_record_step: no % step for deletion request %', p_store, p_request USING ERRCODE = 'no_data_found';
    END IF;
    IF p_store = 'database' THEN
        RAISE EXCEPTION 'erasure_record_step: the database step is performed by the database itself' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF step.status = 'done' THEN
        RETURN 'done';  -- a repeated report (a retried Lambda) changes nothing
    END IF;
    IF p_succeeded THEN
        UPDATE erasure_steps SET status = 'done', attempts = attempts + 1, last_attempt_at = clock_timestamp(),
                                 done_at = clock_timestamp(), last_error_code = NULL
        WHERE deletion_request_id = p_request AND store = p_store;
        PERFORM erasure_complete_finished();
        RETURN 'done';
    END IF;
    UPDATE erasure_steps SET status = 'failed', attempts = attempts + 1, last_attempt_at = clock_timestamp(),
                             last_error_code = coalesce(substring(p_error_code FROM '^[A-Za-z0-9_.:-]{1,100}'), 'Unknown'),
                             next_attempt_at = clock_timestamp() + least(base * power(2, least(attempts, 12)), interval '1 hour')
    WHERE deletion_request_id = p_request AND store = p_store;
    RETURN 'failed';
END $$;

-- What the alarms read: counts and ages only.
CREATE FUNCTION erasure_status(
    OUT pending_requests integer, OUT overdue_requests integer, OUT oldest_overdue_minutes numeric,
    OUT stuck_steps integer, OUT failing_steps integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT
        (SELECT count(*)::int FROM deletion_requests WHERE status = 'pending'),
        (SELECT count(*)::int FROM deletion_requests WHERE status = 'pending' AND deadline_at < clock_timestamp()),
        (SELECT round(extract(epoch FROM clock_timestamp() - min(deadline_at))::numeric / 60, 1)
           FROM deletion_requests WHERE status = 'pending' AND deadline_at < clock_timestamp()),
        (SELECT count(*)::int FROM erasure_steps WHERE status <> 'done'
           AND attempts >= coalesce((SELECT (value #>> '{}')::int FROM system_config WHERE key = 'erasure.max_attempts_before_stuck'), 5)),
        (SELECT count(*)::int FROM erasure_steps WHERE status = 'failed')
$$;

-- The 1-hour SLA measured end to end (requested_at -> completed_at, both set by the server) over a window.
CREATE FUNCTION erasure_sla(p_from timestamptz, p_to timestamptz,
    OUT completed integer, OUT within_sla integer, OUT p95_seconds numeric, OUT max_seconds numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*)::int,
           count(*) FILTER (WHERE completed_at <= deadline_at)::int,
           round((percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - requested_at)))::numeric, 1),
           round(max(extract(epoch FROM completed_at - requested_at))::numeric, 1)
    FROM deletion_requests
    WHERE status = 'completed' AND completed_at >= p_from AND completed_at < p_to
$$;

-- After a restore from backup, users erased after the backup was taken are back. The erasure record
-- outside the restored copy (the live database's erasure_log, or its export) lists them: this erases
-- each one still present and records the replay. Returns how many were erased again.
CREATE FUNCTION erasure_replay(p_user_ids uuid[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    replayed integer;
BEGIN
    WITH erased AS (
        DELETE FROM users WHERE id = ANY (p_user_ids) RETURNING id
    )
    INSERT INTO erasure_log (user_id, reason) SELECT id, 'replayed_after_restore' FROM erased;
    GET DIAGNOSTICS replayed = ROW_COUNT;
    RETURN replayed;
END $$;

-- The worker's login (IAM auth on RDS, like 0004's users): it may claim and report steps and read the
-- status, nothing else; it reads no PII (the user id it gets is the pseudonymous Cognito sub).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'erasure_worker') THEN
        BEGIN
            CREATE ROLE erasure_worker LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO erasure_worker;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO erasure_worker', current_database());
END $$;
GRANT USAGE ON SCHEMA public TO erasure_worker;
REVOKE EXECUTE ON FUNCTION erasure_complete_finished(), erasure_claim_steps(integer), erasure_record_step(uuid, text, boolean, text),
    erasure_status(), erasure_sla(timestamptz, timestamptz), erasure_replay(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erasure_claim_steps(integer), erasure_record_step(uuid, text, boolean, text), erasure_status()
    TO erasure_worker;
GRANT EXECUTE ON FUNCTION erasure_status(), erasure_sla(timestamptz, timestamptz) TO pii_audit;
