-- A dedicated schema owner, `appi_owner` (NOLOGIN), instead of the master user.
-- Why: on PostgreSQL 16 a non-superuser CREATEROLE role (the RDS master user) may grant only roles it holds
-- ADMIN on, and no role administers itself, so `GRANT <master> TO migrator` is impossible there; and
-- membership of the master user (CREATEROLE, rds_superuser) was far more than migrations need. The master
-- user creates appi_owner itself (so it holds ADMIN on it on 16), hands it every object of the schema,
-- and grants it to migrator with SET but without INHERIT: migrator must `SET ROLE appi_owner`
-- (DB_OWNER_ROLE, db/cli.ts) and can no longer become the master user.
-- Run by the master user (or a local superuser). A superuser's membership is never handed out.
DO $$
DECLARE
    me text := current_user;
    me_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
    pg16 boolean := current_setting('server_version_num')::int >= 160000;
    owner_role pg_roles%ROWTYPE;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'appi_owner') THEN
        BEGIN
            CREATE ROLE appi_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by another database's migration
        END;
    END IF;
    -- A role of that name made by someone else with more powers would turn migrator into more than an owner.
    SELECT * INTO owner_role FROM pg_roles WHERE rolname = 'appi_owner';
    IF owner_role.rolsuper OR owner_role.rolcanlogin OR owner_role.rolcreaterole OR owner_role.rolcreatedb
        OR owner_role.rolbypassrls OR owner_role.rolreplication THEN
        RAISE EXCEPTION 'role appi_owner exists with LOGIN, SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS or REPLICATION: refusing to make it the schema owner'
            USING HINT = 'ALTER ROLE appi_owner NOLOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOREPLICATION, then migrate again';
    END IF;
    -- Owners are changed "to a role you can SET ROLE to": the master user becomes a member (it has ADMIN on
    -- 16 because it created the role; CREATEROLE suffices on 15). A superuser needs nothing.
    IF NOT me_super AND NOT pg_has_role(me, 'appi_owner', CASE WHEN pg16 THEN 'SET' ELSE 'MEMBER' END) THEN
        BEGIN
            IF pg16 THEN
                EXECUTE format('GRANT appi_owner TO %I WITH INHERIT TRUE, SET TRUE', me);
            ELSE
                EXECUTE format('GRANT appi_owner TO %I', me);
            END IF;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role appi_owner exists but % may not grant it (PostgreSQL 16: it was created by another role)', me
                    USING HINT = format('as a role with ADMIN on appi_owner: GRANT appi_owner TO %I WITH ADMIN OPTION', me);
            WHEN OTHERS THEN
                IF NOT pg_has_role(me, 'appi_owner', CASE WHEN pg16 THEN 'SET' ELSE 'MEMBER' END) THEN
                    RAISE;
                END IF;
        END;
    END IF;
END $$;

-- Every object of the schema moves from the running owner to appi_owner. Indexes, TOAST tables, row types
-- of tables and sequences owned by a column follow their table; members of extensions stay as they are.
DO $$
DECLARE
    me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
    ns oid := 'public'::regnamespace;
    obj record;
BEGIN
    -- The schema first (owned by the master user, or by pg_database_owner since PostgreSQL 15): a new owner
    -- needs CREATE on it, and appi_owner creates the objects of later migrations in it.
    IF (SELECT nspowner FROM pg_namespace WHERE oid = ns) IN (me, 'pg_database_owner'::regrole) THEN
        ALTER SCHEMA public OWNER TO appi_owner;
    END IF;
    -- Policies written for the owner by name (owner_maintenance TO <owner>: 0003, 0010, 0011): tables have
    -- FORCE ROW LEVEL SECURITY, so the new owner needs them too (a superuser skipped them before).
    FOR obj IN
        SELECT p.polname, p.polrelid::regclass AS rel,
               (SELECT string_agg(CASE WHEN r = me THEN 'appi_owner' WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ')
                  FROM unnest(p.polroles) AS r) AS roles
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relnamespace = ns AND me = ANY (p.polroles)
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s TO %s', obj.polname, obj.rel, obj.roles);
    END LOOP;
    FOR obj IN
        SELECT c.oid, c.relkind FROM pg_class c
        WHERE c.relnamespace = ns AND c.relowner = me AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid <> c.oid)))
        ORDER BY c.oid
    LOOP
        -- Re-checked: changing a table's owner already moved the sequences it owns.
        CONTINUE WHEN (SELECT relowner FROM pg_class WHERE oid = obj.oid) <> me;
        EXECUTE format('ALTER %s %s OWNER TO appi_owner',
                       CASE obj.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                                        WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                       obj.oid::regclass);
    END LOOP;
    FOR obj IN
        SELECT p.oid, p.prokind FROM pg_proc p
        WHERE p.pronamespace = ns AND p.proowner = me
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO appi_owner',
                       CASE obj.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                       obj.oid::regprocedure);
    END LOOP;
    -- Stand-alone types: enums, domains, ranges, composite types made by CREATE TYPE (not a table's row type).
    FOR obj IN
        SELECT t.oid FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
        WHERE t.typnamespace = ns AND t.typowner = me
          AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO appi_owner', obj.oid::regtype);
    END LOOP;
END $$;

-- Default privileges of what appi_owner creates later: the same safe defaults 0003/0008 set for the old owner.
ALTER DEFAULT PRIVILEGES FOR ROLE appi_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE appi_owner REVOKE ALL ON TABLES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE appi_owner REVOKE ALL ON SEQUENCES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE appi_owner REVOKE USAGE ON TYPES FROM PUBLIC;

-- The auditor sees which migrations ran, when, as whom, and every accepted superseded checksum (db/migrate.ts).
GRANT SELECT ON schema_migrations, schema_migration_repairs TO pii_audit;
CREATE TRIGGER schema_migration_repairs_append_only BEFORE UPDATE OR DELETE ON schema_migration_repairs
    FOR EACH ROW EXECUTE FUNCTION forbid_audit_change();
CREATE TRIGGER schema_migration_repairs_no_truncate BEFORE TRUNCATE ON schema_migration_repairs
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_audit_change();

-- migrator: SET ROLE appi_owner, inheriting nothing; no longer a member of the master user.
DO $$
DECLARE
    me text := current_user;
    pg16 boolean := current_setting('server_version_num')::int >= 160000;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'migrator') THEN
        RETURN;
    END IF;
    -- Role-wide NOINHERIT is what 15 has; on 16 it is also the default of future grants. Only a role with
    -- ADMIN on migrator may change it (on RDS the master user created it); the per-grant option below suffices on 16.
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'migrator' AND rolinherit) THEN
        BEGIN
            ALTER ROLE migrator NOINHERIT;
        EXCEPTION
            WHEN insufficient_privilege THEN
                IF NOT pg16 THEN
                    RAISE;
                END IF;
            WHEN OTHERS THEN
                -- "tuple concurrently updated": another database's migration did the same at the same moment.
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'migrator' AND rolinherit) THEN
                    RAISE;
                END IF;
        END;
    END IF;
    IF NOT pg_has_role('migrator', 'appi_owner', CASE WHEN pg16 THEN 'SET' ELSE 'MEMBER' END) THEN
        BEGIN
            IF pg16 THEN
                EXECUTE 'GRANT appi_owner TO migrator WITH INHERIT FALSE, SET TRUE';  -- 16-only syntax: not parsed on 15
            ELSE
                GRANT appi_owner TO migrator;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- A concurrent migration of another database may have granted it meanwhile.
            IF NOT pg_has_role('migrator', 'appi_owner', CASE WHEN pg16 THEN 'SET' ELSE 'MEMBER' END) THEN
                RAISE;
            END IF;
        END;
    END IF;
    -- The old model (0004): migrator was a member of the master user, and through it of CREATEROLE / rds_superuser.
    IF pg_has_role('migrator', me, 'MEMBER') THEN
        BEGIN
            EXECUTE format('REVOKE %I FROM migrator', me);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'migrator is a member of % and % may not revoke that (PostgreSQL 16: granted by another role)', me, me
                USING HINT = format('as the role that granted it (or a superuser): REVOKE %I FROM migrator, then migrate again', me);
        END;
    END IF;
    -- What must hold afterwards, whoever granted what before.
    IF pg_has_role('migrator', me, 'MEMBER') THEN
        RAISE EXCEPTION 'migrator is still a member of % (through another role): revoke that membership, then migrate again', me;
    END IF;
    IF pg_has_role('migrator', 'appi_owner', 'USAGE') THEN
        RAISE EXCEPTION 'migrator inherits the rights of appi_owner (another grant WITH INHERIT TRUE): revoke it, then migrate again';
    END IF;
    IF NOT pg_has_role('migrator', 'appi_owner', CASE WHEN pg16 THEN 'SET' ELSE 'MEMBER' END) THEN
        RAISE EXCEPTION 'migrator cannot SET ROLE appi_owner after the grant';
    END IF;
END $$;
