-- The consent check as the application runs it, in one round trip: app_check_consent(token, purpose)
-- verifies the signed identity token in the database (app_begin_identity, 0005), reads consent_records
-- under row-level security as that user and answers from the newest record (server order, as has_consent).
-- A single statement is its own transaction; called inside a transaction, it leaves that transaction's
-- identity as it found it. SECURITY INVOKER: it has the caller's rights and no more (pii_read / pii_write),
-- so row-level security decides what it reads; it takes no user id, so no argument names another user.
--
-- Speed (bench/db.ts): 0021's app_begin_identity verifies through app_identity_token_verify() (another
-- PL/pgSQL call, a query per accepted key) and seals through app_identity_mac(), a SQL function with a SET
-- clause that PostgreSQL plans again at every call. Same contract (0005, 0021: accepted keys of
-- app_identity_token_key, same checks in the same order, same 28000 errors, same seal keyed with
-- app_identity_secret, same activity touch), computed in one cached query: does an accepted key sign the
-- token, and the seal. Keep it in step with app_identity_token_verify (0021), which app_identity_key_check
-- still uses. A token whose user id is not written as uuid::text writes it (lower case, hyphens; what
-- signIdentityToken mints) is refused as malformed.

CREATE OR REPLACE FUNCTION app_begin_identity(p_token text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    signed_part text;
    mac text;
    expires_at bigint;
    user_id uuid;
    now_epoch numeric := extract(epoch FROM clock_timestamp());
    verified boolean;
    seal text;
BEGIN
    IF p_token IS NULL OR length(p_token) > 200 OR split_part(p_token, '.', 1) <> 'v1' OR split_part(p_token, '.', 5) <> '' THEN
        RAISE EXCEPTION 'identity token rejected: malformed' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    mac := split_part(p_token, '.', 4);
    IF length(mac) <> 64 THEN
        RAISE EXCEPTION 'identity token rejected: bad signature' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    signed_part := left(p_token, length(p_token) - length(mac) - 1);
    -- One query: whether an accepted token key signed it, and the seal app_current_user_id() (0009) accepts
    -- (= app_identity_mac(app_identity_seal_message(user id)), keyed with the seal key app_identity_secret).
    SELECT EXISTS (SELECT 1 FROM public.app_identity_token_key t
                   WHERE (t.retire_at IS NULL OR t.retire_at > clock_timestamp())
                     AND encode(sha256(t.outer_pad || sha256(t.inner_pad || convert_to(signed_part, 'UTF8'))), 'hex') = mac),
           encode(sha256(s.outer_pad || sha256(s.inner_pad || convert_to(
               concat('seal.', split_part(signed_part, '.', 2), '.', pg_backend_pid(), '.', extract(epoch FROM now())), 'UTF8'))), 'hex')
    INTO verified, seal
    FROM public.app_identity_secret s;
    -- Verify the signature before parsing anything else: a valid MAC means the minter wrote these fields.
    IF verified IS NOT TRUE OR seal IS NULL THEN
        RAISE EXCEPTION 'identity token rejected: bad signature' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    expires_at := split_part(p_token, '.', 3)::bigint;
    IF expires_at <= now_epoch THEN
        RAISE EXCEPTION 'identity token rejected: expired' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF expires_at > now_epoch + 3600 THEN
        RAISE EXCEPTION 'identity token rejected: lifetime over one hour' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    user_id := split_part(p_token, '.', 2)::uuid;
    -- The seal was computed over the user id as written; app_current_user_id() reads back user_id::text.
    IF user_id::text <> split_part(p_token, '.', 2) THEN
        RAISE EXCEPTION 'identity token rejected: malformed' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    PERFORM set_config('app.identity', user_id::text || '.' || seal, true);
    IF current_setting('transaction_read_only') = 'off' THEN
        UPDATE public.users SET last_activity_at = now()
        WHERE id = user_id AND last_activity_at < now() - interval '1 minute';
    END IF;
    RETURN user_id;
END $$;
REVOKE EXECUTE ON FUNCTION app_begin_identity(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_begin_identity(text) TO pii_read, pii_write;

-- PL/pgSQL: its query plan is cached for the session (a SQL function would be planned at every call).
-- No SET clause (a configuration save and restore per call): every name is schema-qualified, and the
-- application roles cannot create objects in any schema (0008).
CREATE FUNCTION app_check_consent(p_token text, p_purpose text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    previous text := pg_catalog.current_setting('app.identity', true);
    acting_for uuid;
    answer boolean;
BEGIN
    -- Raises 28000 for a malformed, forged, altered or expired token; otherwise acts for its user.
    acting_for := public.app_begin_identity(p_token);
    -- Row-level security (consent_records: user_id = app_current_user_id()) applies: the caller's rights.
    SELECT c.granted INTO answer
    FROM public.consent_records c
    WHERE c.user_id OPERATOR(pg_catalog.=) acting_for AND c.purpose OPERATOR(pg_catalog.=) p_purpose
    ORDER BY c.id DESC
    LIMIT 1;
    -- Inside a longer transaction, its identity (if any) is what it was before the check.
    PERFORM pg_catalog.set_config('app.identity', COALESCE(previous, ''), true);
    RETURN COALESCE(answer, false);
END $$;
REVOKE EXECUTE ON FUNCTION app_check_consent(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_check_consent(text, text) TO pii_read, pii_write;
