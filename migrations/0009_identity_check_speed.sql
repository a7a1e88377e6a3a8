-- The identity check row-level security runs once per statement, made cheap (bench/db.ts: consent check
-- within 1.5x of the bare indexed lookup): 0005's version called app_identity_mac(), a SQL function with a
-- SET clause that PostgreSQL re-plans on every call. Same seal, computed inline with one cached query.
-- No SET search_path (a GUC save/restore per call): every name is schema-qualified; application roles
-- cannot create objects in public or temporary schemas (0008).
CREATE OR REPLACE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    sealed text := pg_catalog.current_setting('app.identity', true);
    user_text text;
    expected text;
BEGIN
    IF sealed IS NULL OR sealed = '' THEN
        RETURN NULL;
    END IF;
    user_text := pg_catalog.split_part(sealed, '.', 1);
    -- = app_identity_mac(app_identity_seal_message(user_text)), inline.
    SELECT pg_catalog.encode(pg_catalog.sha256(s.outer_pad OPERATOR(pg_catalog.||) pg_catalog.sha256(s.inner_pad OPERATOR(pg_catalog.||)
               pg_catalog.convert_to(pg_catalog.concat('seal.', user_text, '.', pg_catalog.pg_backend_pid(), '.', extract(epoch FROM pg_catalog.now())), 'UTF8'))), 'hex')
    INTO expected
    FROM public.app_identity_secret s;
    IF pg_catalog.split_part(sealed, '.', 2) OPERATOR(pg_catalog.=) expected THEN
        RETURN user_text::uuid;
    END IF;
    RETURN NULL;
END $$;

-- The consent check itself: a SQL function whose body holds a sub-select is never inlined, so PostgreSQL
-- planned 0006's has_consent() again on every call (about 2x a bare lookup). PL/pgSQL keeps the plan of
-- its query for the session (row-level security still applies: it runs with the caller's rights).
CREATE OR REPLACE FUNCTION has_consent(p_user_id uuid, p_purpose text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN coalesce((SELECT c.granted
                     FROM public.consent_records c
                     WHERE c.user_id OPERATOR(pg_catalog.=) p_user_id AND c.purpose OPERATOR(pg_catalog.=) p_purpose
                     ORDER BY c.id DESC
                     LIMIT 1), false);
END $$;
