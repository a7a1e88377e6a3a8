-- Safe defaults for everything created from now on, and for the logins:
--  - nobody connects to this database or creates temporary objects in it unless granted (PUBLIC had both);
--    the application group roles get CONNECT, TEMPORARY stays with the owner;
--  - functions and tables created later by the owner carry no privilege for PUBLIC (0003 did this for
--    functions of the role that ran it; stated again FOR ROLE current_user, tables included);
--  - the migration login does not inherit the owner's powers: it must SET ROLE to the owner (npm run
--    db:migrate does with DB_OWNER_ROLE), so a stolen migration token alone reads nothing;
--  - the sign-up login gives up a statement or a lock well inside the Cognito trigger's 5 s.

DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO pii_read, pii_write, pii_audit, pii_signup', current_database());
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC', current_user);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE ALL ON TABLES FROM PUBLIC', current_user);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE ALL ON SEQUENCES FROM PUBLIC', current_user);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE USAGE ON TYPES FROM PUBLIC', current_user);
END $$;

-- Per database (ALTER ROLE ... IN DATABASE): no cluster-wide row that another database's migration updates too.
DO $$
BEGIN
    EXECUTE format('ALTER ROLE signup_trigger IN DATABASE %I SET statement_timeout = %L', current_database(), '3s');
    EXECUTE format('ALTER ROLE signup_trigger IN DATABASE %I SET lock_timeout = %L', current_database(), '1s');
    EXECUTE format('ALTER ROLE signup_trigger IN DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '4s');
END $$;

-- The migration login: NOINHERIT member of the owner (RDS model: the owner is the non-superuser master user).
-- On PostgreSQL 16 inheritance is recorded per grant, and only a role with ADMIN on the owner may change
-- that grant: the owner itself may not (no role administers itself). There the grant must be made
-- WITH INHERIT FALSE by whoever made it (db/README.md); this block does what the owner is allowed to.
DO $$
DECLARE
    owner_is_superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    IF owner_is_superuser OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'migrator') THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'migrator' AND rolinherit) THEN
        BEGIN
            ALTER ROLE migrator NOINHERIT;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE WARNING 'migrator left INHERIT: % has no ADMIN on it (PostgreSQL 16: created by another role)', current_user;
            WHEN OTHERS THEN
                -- "tuple concurrently updated": another database's migration did the same at the same moment.
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'migrator' AND rolinherit) THEN
                    RAISE;
                END IF;
        END;
    END IF;
    IF current_setting('server_version_num')::int >= 160000 AND pg_has_role('migrator', current_user, 'USAGE') THEN
        BEGIN
            EXECUTE format('GRANT %I TO migrator WITH INHERIT FALSE', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'migrator inherits the rights of %: re-grant it WITH INHERIT FALSE as a role with ADMIN on it', current_user;
        END;
    END IF;
END $$;
