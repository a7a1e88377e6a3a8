-- ALTER TABLE audit_log DETACH PARTITION <month> CONCURRENTLY commits its first phase in a transaction of its
-- own before ddl_command_end, so the month guard of 0020 cannot roll it back. This guard runs at
-- ddl_command_start, before anything is done, and refuses an ALTER TABLE whose statement text detaches
-- CONCURRENTLY from an audit table (audit_log; the other audit tables of 0018 too, should one be partitioned),
-- or detaches CONCURRENTLY a partition named like an audit_log month. Detach without CONCURRENTLY: 0020
-- then lets only months past retention go, and the retention function does exactly that.
-- How the text is read: event triggers do not see the parsed statement, only current_query(), the text the
-- client sent. DETACH ... CONCURRENTLY runs only as a top-level statement alone in its query string
-- (PostgreSQL refuses it in a transaction block, a multi-statement string and a function), so that text
-- holds it. It is split into tokens as PostgreSQL's lexer does: comments (nested /* */, --), string
-- constants ('', E'' with backslashes, standard_conforming_strings off, U&'', dollar quotes), quoted
-- identifiers ("", U&""), bare words (case-folded; a keyword cannot be quoted, escaped or split by a comment).
-- Each statement (split at semicolons outside those) that is ALTER TABLE ... DETACH ... CONCURRENTLY is
-- checked: its table is the last name part after ALTER TABLE [IF EXISTS] [ONLY], its partition the last
-- name part after PARTITION. A name written with U& escapes cannot be read this way: refused too.
-- Another partitioned table may still be detached concurrently.
-- Installed, like 0018 / 0020, only where the migrating login is a superuser or rds_superuser.
DO $$
DECLARE
    may boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AND pg_has_role(current_user, 'rds_superuser', 'MEMBER'));
BEGIN
    IF NOT may OR NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'appi_audit_ddl_guard') THEN
        RAISE NOTICE 'concurrent detach guard not installed: the audit trigger guard (0018) is not installed here (db/README.md)';
        RETURN;
    END IF;

    -- One function, no helper: an event trigger function runs with the rights of the role whose command fired
    -- it, which has no USAGE on appi_guard. Its own constants with backslashes are E'' strings, read the same
    -- whatever the session's standard_conforming_strings (a SET clause would hide the session's value, which
    -- decides how the client's text reads).
    CREATE OR REPLACE FUNCTION appi_guard.refuse_concurrent_detach() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        protected_tables text[] := ARRAY['audit_log', 'encryption_audit', 'key_rotation_log', 'erasure_log', 'retention_runs',
                                         'audit_partition_drops', 'schema_migration_repairs'];
        q text := current_query();
        standard_strings boolean := current_setting('standard_conforming_strings') = 'on';
        n integer;
        i integer := 1;
        j integer;
        c text;
        nxt text;
        depth integer;
        tag text;
        closing integer;
        backslashes boolean;
        word text;
        -- Tokens: kind 'w' (bare word, lower-cased), 'i' (quoted identifier as written between the quotes),
        -- 'u' (identifier with U& escapes), ';' (statement end), 'o' (anything else, one character).
        -- Comments and string constants give no token.
        toks text[] := '{}';
        kinds text[] := '{}';
        first integer := 1;
        last integer;
        stmt text[];
        skinds text[];
        pos integer;
        target_kind text;
        target text;
        part_kind text;
        part text;
        k integer;
    BEGIN
        -- The common case costs one search: no CONCURRENTLY anywhere in the text, nothing to read.
        IF q IS NULL OR strpos(lower(q), 'concurrently') = 0 THEN
            RETURN;
        END IF;
        q := q || ';';
        n := length(q);
        WHILE i <= n LOOP
            c := substr(q, i, 1);
            nxt := substr(q, i + 1, 1);
            IF c ~ E'\\s' THEN
                i := i + 1;
            ELSIF c = '-' AND nxt = '-' THEN
                j := strpos(substr(q, i), E'\n');
                i := CASE WHEN j = 0 THEN n + 1 ELSE i + j END;
            ELSIF c = '/' AND nxt = '*' THEN
                depth := 1;
                i := i + 2;
                WHILE i <= n AND depth > 0 LOOP
                    IF substr(q, i, 2) = '/*' THEN
                        depth := depth + 1;
                        i := i + 2;
                    ELSIF substr(q, i, 2) = '*/' THEN
                        depth := depth - 1;
                        i := i + 2;
                    ELSE
                        i := i + 1;
                    END IF;
                END LOOP;
            ELSIF c = '''' OR (c IN ('e', 'E', 'b', 'B', 'x', 'X', 'n', 'N') AND nxt = '''')
                  OR (c IN ('u', 'U') AND nxt = '&' AND substr(q, i + 2, 1) = '''') THEN
                -- A string constant. A prefix letter here starts a token: words are read whole below.
                backslashes := c IN ('e', 'E') OR (c IN ('''', 'n', 'N') AND NOT standard_strings);
                i := i + CASE WHEN c = '''' THEN 1 WHEN c IN ('u', 'U') THEN 3 ELSE 2 END;
                LOOP
                    EXIT WHEN i > n;
                    c := substr(q, i, 1);
                    IF backslashes AND c = E'\\' THEN
                        i := i + 2;
                    ELSIF c = '''' AND substr(q, i + 1, 1) = '''' THEN
                        i := i + 2;
                    ELSIF c = '''' THEN
                        i := i + 1;
                        EXIT;
                    ELSE
                        i := i + 1;
                    END IF;
                END LOOP;
            ELSIF c = '"' OR (c IN ('u', 'U') AND nxt = '&' AND substr(q, i + 2, 1) = '"') THEN
                kinds := kinds || CASE WHEN c = '"' THEN 'i' ELSE 'u' END;
                i := i + CASE WHEN c = '"' THEN 1 ELSE 3 END;
                word := '';
                LOOP
                    EXIT WHEN i > n;
                    c := substr(q, i, 1);
                    IF c = '"' AND substr(q, i + 1, 1) = '"' THEN
                        word := word || '"';
                        i := i + 2;
                    ELSIF c = '"' THEN
                        i := i + 1;
                        EXIT;
                    ELSE
                        word := word || c;
                        i := i + 1;
                    END IF;
                END LOOP;
                toks := toks || word;
            ELSIF c = '$' AND substr(q, i) ~ E'^\\$([A-Za-z_\\u0080-\\uffff][A-Za-z_0-9\\u0080-\\uffff]*)?\\$' THEN
                -- A dollar-quoted string constant ($1, a parameter, is not one).
                tag := substring(substr(q, i) FROM E'^(\\$(?:[A-Za-z_\\u0080-\\uffff][A-Za-z_0-9\\u0080-\\uffff]*)?\\$)');
                closing := strpos(substr(q, i + length(tag)), tag);
                i := CASE WHEN closing = 0 THEN n + 1 ELSE i + length(tag) + closing - 1 + length(tag) END;
            ELSIF c ~ E'[A-Za-z_\\u0080-\\uffff]' THEN
                -- A word: identifier or keyword, with the digits and $ inside it.
                word := substring(substr(q, i) FROM E'^[A-Za-z_0-9$\\u0080-\\uffff]+');
                i := i + length(word);
                toks := toks || lower(word);
                kinds := kinds || 'w'::text;
            ELSE
                -- Numbers, operators, punctuation, parameters, semicolons: one token per character is enough here.
                toks := toks || c;
                kinds := kinds || CASE WHEN c = ';' THEN ';' ELSE 'o' END;
                i := i + 1;
            END IF;
        END LOOP;

        -- Each statement: ALTER TABLE ... DETACH ... CONCURRENTLY against the audit trail is refused.
        FOR last IN 1 .. cardinality(toks) LOOP
            CONTINUE WHEN kinds[last] <> ';';
            stmt := toks[first:last - 1];
            skinds := kinds[first:last - 1];
            first := last + 1;
            CONTINUE WHEN cardinality(stmt) < 2 OR skinds[1] <> 'w' OR stmt[1] <> 'alter' OR skinds[2] <> 'w' OR stmt[2] <> 'table';
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM unnest(stmt, skinds) AS x(tok, kd) WHERE kd = 'w' AND tok = 'detach')
                       OR NOT EXISTS (SELECT 1 FROM unnest(stmt, skinds) AS x(tok, kd) WHERE kd = 'w' AND tok = 'concurrently');
            -- The table: the name after ALTER TABLE [IF EXISTS] [ONLY], its last part (schema.table or table).
            pos := 3;
            IF stmt[pos] = 'if' AND skinds[pos] = 'w' AND stmt[pos + 1] = 'exists' THEN
                pos := pos + 2;
            END IF;
            IF stmt[pos] = 'only' AND skinds[pos] = 'w' THEN
                pos := pos + 1;
            END IF;
            WHILE stmt[pos + 1] = '.' AND skinds[pos + 1] = 'o' LOOP
                pos := pos + 2;
            END LOOP;
            target_kind := skinds[pos];
            target := stmt[pos];
            -- The partition: the name after PARTITION, its last part.
            part_kind := NULL;
            part := NULL;
            k := array_position(stmt, 'partition', pos);
            IF k IS NOT NULL THEN
                k := k + 1;
                WHILE stmt[k + 1] = '.' AND skinds[k + 1] = 'o' LOOP
                    k := k + 2;
                END LOOP;
                part_kind := skinds[k];
                part := stmt[k];
            END IF;
            IF target_kind IS DISTINCT FROM 'w' AND target_kind IS DISTINCT FROM 'i'
               OR target = ANY (protected_tables)
               OR part_kind IS DISTINCT FROM 'w' AND part_kind IS DISTINCT FROM 'i'
               OR part LIKE E'audit\\_log%' THEN
                RAISE EXCEPTION 'DETACH PARTITION ... CONCURRENTLY is not allowed on the audit trail (%): its first step commits before the audit guard can check it. Detach without CONCURRENTLY: a month past its retention is then detached (audit_log_drop_expired_partitions does it)',
                    coalesce(target, '?') USING ERRCODE = 'insufficient_privilege';
            END IF;
        END LOOP;
    END $fn$;
    REVOKE ALL ON FUNCTION appi_guard.refuse_concurrent_detach() FROM PUBLIC;

    -- The guards of 0018 / 0020 match month names with '\d' in ordinary string constants, which PL/pgSQL reads
    -- with the session's standard_conforming_strings: a session that turned it off before its first ALTER TABLE
    -- or DROP made them match nothing. Their constants are now always read with it on.
    ALTER FUNCTION appi_guard.protect_audit_trail() SET standard_conforming_strings = on;
    IF to_regprocedure('appi_guard.protect_audit_months()') IS NOT NULL THEN
        ALTER FUNCTION appi_guard.protect_audit_months() SET standard_conforming_strings = on;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'appi_audit_concurrent_detach_guard') THEN
        CREATE EVENT TRIGGER appi_audit_concurrent_detach_guard ON ddl_command_start WHEN TAG IN ('ALTER TABLE')
            EXECUTE FUNCTION appi_guard.refuse_concurrent_detach();
    END IF;
END $$;
