-- The login users the RDS Proxy admits with IAM tokens (components/database.ts, iamDatabaseUsers in
-- index.ts). End-to-end IAM auth: no password exists for them anywhere.
--   cognito_trigger  the Cognito PostConfirmation Lambda: a pii_write member, so row-level security applies
--   migrator         CodeBuild's migration runner: acts as the schema owner (SET ROLE appi_owner, 0015)
-- Created idempotently and safely when another database on the server migrates at the same time.
DO $$
DECLARE
    user_name text;
BEGIN
    FOREACH user_name IN ARRAY ARRAY['cognito_trigger', 'migrator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = user_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', user_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a concurrent migration
            END;
        END IF;
        -- rds_iam exists only on RDS / Aurora: there it makes the user log in with IAM tokens only.
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
            EXECUTE format('GRANT rds_iam TO %I', user_name);
        END IF;
    END LOOP;

    GRANT pii_write TO cognito_trigger;

    -- The migrator acts as the schema owner appi_owner (SET ROLE, granted by 0015). It used to be made a
    -- member of the master user here, which PostgreSQL 16 refuses to a non-superuser owner (no role
    -- administers itself) and which was more than migrations need (migrations/superseded-checksums.json).
END $$;

-- The migrator connects to this database and nothing else by default.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO cognito_trigger, migrator', current_database());
END $$;
