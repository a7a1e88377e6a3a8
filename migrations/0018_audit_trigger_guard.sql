-- A guard on the audit trail's DDL: the schema owner (appi_owner, hence migrator) may ALTER its own tables,
-- so it could `ALTER TABLE ... DISABLE TRIGGER`, `DROP TRIGGER` an audit trigger, or drop an audit table.
-- An event trigger refuses that for every role. Creating one needs a superuser (or, on RDS, rds_superuser):
-- the runner applies this file with the login's own rights (db/migrate.ts), and it is skipped with a notice
-- where the login has neither. The guard's function lives in schema appi_guard, which is not handed to
-- appi_owner (db/migrate.ts hands over public only): the owner cannot replace it, and only a superuser can
-- disable or drop an event trigger. What it does not stop: a superuser (ALTER EVENT TRIGGER ... DISABLE,
-- session_replication_role = replica), nor DETACH PARTITION of an audit_log month (db/README.md).
-- Protected: triggers named *_audit, *_append_only, *_no_truncate; the audit tables; audit_log months are
-- dropped only once past the audit_log retention (what audit_log_drop_expired_partitions drops).
DO $$
DECLARE
    may boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AND pg_has_role(current_user, 'rds_superuser', 'MEMBER'));
BEGIN
    IF NOT may THEN
        RAISE NOTICE 'audit trigger guard not installed: % is neither a superuser nor rds_superuser (db/README.md)', current_user;
        RETURN;
    END IF;
    CREATE SCHEMA IF NOT EXISTS appi_guard;
    REVOKE ALL ON SCHEMA appi_guard FROM PUBLIC;

    CREATE OR REPLACE FUNCTION appi_guard.protect_audit_trail() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        protected_tables text[] := ARRAY['audit_log', 'encryption_audit', 'key_rotation_log', 'erasure_log', 'retention_runs',
                                         'audit_partition_drops', 'schema_migration_repairs'];
        d record;
        bad text;
        keep interval;
        month_end timestamptz;
    BEGIN
        IF TG_EVENT = 'ddl_command_end' THEN
            -- Whatever the ALTER did, no audit trigger may be left disabled (D) or firing only in replica mode (R).
            SELECT string_agg(format('%s on %s', t.tgname, t.tgrelid::regclass), ', ') INTO bad
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal AND t.tgenabled NOT IN ('O', 'A')
              AND t.tgname ~ '(_audit|_append_only|_no_truncate)$';
            IF bad IS NOT NULL THEN
                RAISE EXCEPTION 'audit triggers may not be disabled: %', bad USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN;
        END IF;
        -- sql_drop
        FOR d IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE schema_name = 'public' LOOP
            IF d.object_type = 'table' AND d.object_name = ANY (protected_tables) THEN
                RAISE EXCEPTION 'audit table % may not be dropped', d.object_name USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF d.object_type = 'table' AND d.object_name ~ '^audit_log_\d{4}m\d{2}$' THEN
                keep := (SELECT retention_period FROM public.retention_policies WHERE data_category = 'audit_log');
                month_end := (to_date(substr(d.object_name, 11), 'YYYY"m"MM') + interval '1 month')::timestamp AT TIME ZONE 'UTC';
                IF keep IS NULL OR month_end > now() - keep THEN
                    RAISE EXCEPTION 'audit_log month % is within its retention and may not be dropped', d.object_name
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
            END IF;
            -- A trigger dropped by itself (DROP TRIGGER, DROP FUNCTION ... CASCADE), not with its table.
            IF d.object_type = 'trigger' AND d.address_names[3] ~ '(_audit|_append_only|_no_truncate)$'
               AND NOT EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() t
                               WHERE t.object_type = 'table' AND t.schema_name = 'public' AND t.object_name = d.address_names[2]) THEN
                RAISE EXCEPTION 'audit trigger % on % may not be dropped', d.address_names[3], d.address_names[2]
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END LOOP;
    END $fn$;
    REVOKE ALL ON FUNCTION appi_guard.protect_audit_trail() FROM PUBLIC;

    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'appi_audit_ddl_guard') THEN
        CREATE EVENT TRIGGER appi_audit_ddl_guard ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
            EXECUTE FUNCTION appi_guard.protect_audit_trail();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'appi_audit_drop_guard') THEN
        CREATE EVENT TRIGGER appi_audit_drop_guard ON sql_drop
            EXECUTE FUNCTION appi_guard.protect_audit_trail();
    END IF;
END $$;
