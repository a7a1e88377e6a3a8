-- The API host's own database login, instead of the RDS master user's secret it used to read.
--   api_app  logs in through the RDS Proxy with an IAM token (rds_iam where it exists: no password);
--            a pii_read / pii_write member, so row-level security applies and it acts for a user only
--            inside app_begin_identity(token) (migrations/0005). It owns nothing and creates nothing.
-- Creates a role: run once with the master user's login (db/README.md, "Migrations that create roles").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'api_app') THEN
        BEGIN
            CREATE ROLE api_app LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO api_app;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO api_app', current_database());
    -- A request never holds a statement or a lock for long (the GraphQL resolvers answer in seconds).
    EXECUTE format('ALTER ROLE api_app IN DATABASE %I SET statement_timeout = %L', current_database(), '5s');
    EXECUTE format('ALTER ROLE api_app IN DATABASE %I SET lock_timeout = %L', current_database(), '2s');
    EXECUTE format('ALTER ROLE api_app IN DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '10s');
END $$;
GRANT pii_read, pii_write TO api_app;
