-- Activity is recorded where the user authenticates: each time Cognito issues tokens (sign-in, and every refresh
-- of the 60-minute access token), its PreTokenGeneration trigger (lambdas/pre-token-generation) calls
-- app_record_activity with the user's sub. So an active user's last_activity_at is never more than an hour
-- behind, and inactivity-based erasure (erase_expired_users, 3 years) never erases one. Until now only a
-- use of an identity token recorded activity (0005, 0024): a batch job holding tokens kept users "active"
-- without their doing anything, and a signed-in user whose requests never reached the database looked idle.
--   activity_recorder          LOGIN (IAM auth on RDS): may call app_record_activity and nothing else; no table
--   app_record_activity(uuid)  moves that user's last_activity_at to now(), at most once a minute; writes
--                              nothing else (the audit trigger records the change, naming this login)
-- Holding this login lets a thief keep users from inactivity erasure, nothing more: no read of any row.
-- Creates a role: run once with the master user's login (db/README.md, "Migrations that create roles").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'activity_recorder') THEN
        BEGIN
            CREATE ROLE activity_recorder LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO activity_recorder;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO activity_recorder', current_database());
    -- Inside Cognito's 5-second trigger limit.
    EXECUTE format('ALTER ROLE activity_recorder IN DATABASE %I SET statement_timeout = %L', current_database(), '2s');
    EXECUTE format('ALTER ROLE activity_recorder IN DATABASE %I SET lock_timeout = %L', current_database(), '1s');
    EXECUTE format('ALTER ROLE activity_recorder IN DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '5s');
END $$;
GRANT USAGE ON SCHEMA public TO activity_recorder;

CREATE FUNCTION app_record_activity(p_user_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'app_record_activity: a user id is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE public.users SET last_activity_at = now()
    WHERE id = p_user_id AND last_activity_at < now() - interval '1 minute';
END $$;
REVOKE EXECUTE ON FUNCTION app_record_activity(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_record_activity(uuid) TO activity_recorder;
