-- The audit trail guard (0018) also stops taking a month out of audit_log while it is within retention:
--   DETACH PARTITION of such a month (its rows would leave the trail without a drop to stop),
--   and renaming or moving a month to another schema (which would let it leave the trail under another name).
-- Months past retention are still detached and dropped by audit_log_drop_expired_partitions (0007).
-- Installed, like 0018, only where the migrating login is a superuser or rds_superuser.
DO $$
DECLARE
    may boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AND pg_has_role(current_user, 'rds_superuser', 'MEMBER'));
BEGIN
    IF NOT may OR NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'appi_audit_ddl_guard') THEN
        RAISE NOTICE 'audit month guard not installed: the audit trigger guard (0018) is not installed here (db/README.md)';
        RETURN;
    END IF;

    CREATE OR REPLACE FUNCTION appi_guard.protect_audit_months() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        keep interval := (SELECT retention_period FROM public.retention_policies WHERE data_category = 'audit_log');
        bad text;
    BEGIN
        -- Every month attached to audit_log keeps its name in public (rename or SET SCHEMA first, detach later).
        SELECT string_agg(format('%s', c.oid::regclass), ', ') INTO bad
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.audit_log'::regclass
          AND (c.relnamespace <> 'public'::regnamespace OR c.relname !~ '^audit_log_\d{4}m\d{2}$');
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'audit_log months may not be renamed or moved: %', bad USING ERRCODE = 'insufficient_privilege';
        END IF;
        -- A month-named table anywhere that is no longer (or is being taken out of) audit_log, within retention.
        SELECT string_agg(format('%s', c.oid::regclass), ', ') INTO bad
        FROM pg_class c
        WHERE c.relkind IN ('r', 'p') AND c.relname ~ '^audit_log_\d{4}m\d{2}$'
          AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid AND i.inhparent = 'public.audit_log'::regclass AND NOT i.inhdetachpending)
          AND (keep IS NULL OR (to_date(substr(c.relname, 11), 'YYYY"m"MM') + interval '1 month')::timestamp AT TIME ZONE 'UTC' > now() - keep);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'audit_log month % is within its retention and may not be detached', bad USING ERRCODE = 'insufficient_privilege';
        END IF;
    END $fn$;
    REVOKE ALL ON FUNCTION appi_guard.protect_audit_months() FROM PUBLIC;

    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'appi_audit_month_guard') THEN
        CREATE EVENT TRIGGER appi_audit_month_guard ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
            EXECUTE FUNCTION appi_guard.protect_audit_months();
    END IF;
END $$;
