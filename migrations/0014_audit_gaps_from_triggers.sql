-- Audit completeness covers every table that has the audit trigger, found in the catalog rather than listed
-- by hand (0012's audited_tables): a personal-data table added by a later migration (e.g. 0010's erasure_steps)
-- is checked as soon as it gets its audit_row_change trigger. The trigger's arguments name the user and key columns;
-- reference tables audited with a user column that does not exist (0006) have entries with no user_id.
-- Rows written by a migration's own transaction (seed data, reviewed in the repository; schema_migrations is
-- written in the same transaction) are not gaps.
CREATE OR REPLACE FUNCTION compliance_audit_gaps()
RETURNS TABLE (table_name text, unaudited_writes bigint, unaudited_deletes bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t record;
    purged boolean := EXISTS (SELECT 1 FROM retention_runs WHERE audit_rows_purged > 0);
    oldest_xid xid := (SELECT ((a.transaction_id & 4294967295)::text)::xid FROM audit_log a ORDER BY a.id LIMIT 1);
BEGIN
    FOR t IN
        SELECT c.relname::text AS rel, args[2] AS key_column,
               CASE WHEN EXISTS (SELECT 1 FROM pg_attribute att WHERE att.attrelid = c.oid AND att.attname = args[1] AND NOT att.attisdropped)
                    THEN format('a.user_id = r.%I', args[1]) ELSE 'a.user_id IS NULL' END AS user_match
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        CROSS JOIN LATERAL (SELECT string_to_array(encode(tg.tgargs, 'escape'), '\000') AS args) a
        WHERE tg.tgfoid = 'public.audit_row_change()'::regprocedure AND NOT tg.tgisinternal
        ORDER BY c.relname
    LOOP
        table_name := t.rel;
        -- Writes: the row's last writer (xmin) left no entry for this row.
        EXECUTE format($q$
            SELECT count(*) FROM %1$I r
            WHERE NOT EXISTS (
                SELECT 1 FROM audit_log a
                WHERE %2$s AND a.table_name = %1$L AND a.row_id = r.%3$I::text
                  AND (a.transaction_id & 4294967295) = r.xmin::text::bigint)
              AND (NOT $1 OR ($2 IS NOT NULL AND age(r.xmin) <= age($2)))
              AND r.xmin::text NOT IN (SELECT m.xmin::text FROM schema_migrations m)
            $q$, t.rel, t.user_match, t.key_column)
        INTO unaudited_writes USING purged, oldest_xid;
        -- Deletes: the latest entry of a row is not a DELETE, but the row no longer exists.
        EXECUTE format($q$
            SELECT count(*) FROM (
                SELECT DISTINCT ON (a.row_id) a.row_id, a.operation
                FROM audit_log a WHERE a.table_name = %1$L
                ORDER BY a.row_id, a.id DESC) latest
            WHERE latest.operation <> 'DELETE'
              AND NOT EXISTS (SELECT 1 FROM %1$I r WHERE r.%2$I::text = latest.row_id)
            $q$, t.rel, t.key_column)
        INTO unaudited_deletes;
        RETURN NEXT;
    END LOOP;
END $$;
DROP TABLE audited_tables;
