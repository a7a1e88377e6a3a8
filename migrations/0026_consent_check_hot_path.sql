-- The consent check without per-call work beyond its answer (bench/db.ts: goal 1.5x of the bare indexed lookup;
-- 0024 measured 1.51-1.58x at 10M consent rows).
--
-- Activity is no longer recorded by the check: 0025 records it where the user authenticates (every token Cognito
-- issues). The once-a-minute probe of users.last_activity_at cost the check ~0.1x of the lookup on every call,
-- and it counted a batch job holding tokens as the users' own activity. The check now writes nothing: STABLE,
-- so its query reads with the calling statement's snapshot instead of taking one of its own.
--
-- app_check_consent(token, purpose), redefined. A well-formed token of the current key within its lifetime (the
-- common case) costs one cached query:
--   * The HMAC is compared in hex with the token's last 64 characters, so nothing is cast before the signature
--     matches. The user id and expiry are cast in the select list, which runs only on the key row whose HMAC
--     matched (a valid signature means the minter wrote them), and so does the sub-select of the newest consent.
--   * The token enters the query through a subquery with OFFSET 0. A custom plan (a session's first five calls,
--     or plan_cache_mode = force_custom_plan) turns parameters into constants, and the planner would fold those
--     casts while planning, before any signature is checked; a subquery's column is never a constant.
--   * A signed token whose fields do not cast, or whose expiry is past the last timestamp (only a minter's bug
--     could sign one), fails inside the exception block and goes to the fallback, which names it malformed.
--   * Expiry is judged against statement_timestamp(): the check answers as of the start of the caller's
--     statement, as its snapshot does. One cast and one width_bucket() instead of two to_timestamp() calls and
--     two comparisons (0.03-0.04x of the lookup less, measured).
-- Every other token goes to app_check_consent_fallback(): 0024's checks in 0024's order (shape, signature under
-- every accepted key, current first, then expiry and the canonical user id), so a refusal gives the same 28000
-- reason as before (malformed, bad signature, expired, lifetime over one hour), never echoing the token, and a
-- previous key's token in a rotation's grace window is answered. The hot path accepts only what it would.
-- The model is 0024's: the signature is the gate, EXECUTE is for pii_read and pii_write only, no argument
-- names a user, no session identity is set; every name that is not SQL syntax is schema-qualified.

CREATE FUNCTION app_check_consent_fallback(p_token text, p_purpose text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    token_length integer := pg_catalog.length(p_token);
    mac pg_catalog.bytea;
    message pg_catalog.bytea;
    subject pg_catalog.uuid;
    expires_at bigint;
    expires pg_catalog.timestamptz;
    signed boolean;
    answer boolean;
BEGIN
    IF token_length IS NULL OR token_length OPERATOR(pg_catalog.<) 106 OR token_length OPERATOR(pg_catalog.>) 117
       OR pg_catalog.left(p_token, 3) OPERATOR(pg_catalog.<>) 'v1.' THEN
        RAISE EXCEPTION 'identity token rejected: malformed' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    BEGIN
        subject := pg_catalog.substr(p_token, 4, 36)::pg_catalog.uuid;
        expires_at := pg_catalog.substr(p_token, 41, token_length OPERATOR(pg_catalog.-) 105)::bigint;
        mac := pg_catalog.decode(pg_catalog.right(p_token, 64), 'hex');
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_parameter_value THEN
        RAISE EXCEPTION 'identity token rejected: malformed' USING ERRCODE = 'invalid_authorization_specification';
    END;
    message := pg_catalog.convert_to(pg_catalog.left(p_token, -65), 'UTF8');
    -- Every accepted key (0021: the current one, and others until they retire), current first; the sub-select
    -- runs only for the key row whose HMAC matches, so nothing is read for an unsigned subject.
    SELECT true,
           (SELECT c.granted FROM public.consent_records c
            WHERE c.user_id OPERATOR(pg_catalog.=) subject AND c.purpose OPERATOR(pg_catalog.=) p_purpose
            ORDER BY c.id DESC LIMIT 1)
    INTO signed, answer
    FROM public.app_identity_token_key t
    WHERE (t.retire_at IS NULL OR t.retire_at OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp())
      AND pg_catalog.sha256(t.outer_pad OPERATOR(pg_catalog.||) pg_catalog.sha256(t.inner_pad OPERATOR(pg_catalog.||) message)) OPERATOR(pg_catalog.=) mac
    ORDER BY t.is_current DESC, t.id DESC
    LIMIT 1;
    IF signed IS NULL THEN
        RAISE EXCEPTION 'identity token rejected: bad signature' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    expires := pg_catalog.to_timestamp(expires_at);
    IF expires OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp() THEN
        RAISE EXCEPTION 'identity token rejected: expired' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF expires OPERATOR(pg_catalog.>) (pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) interval '1 hour') THEN
        RAISE EXCEPTION 'identity token rejected: lifetime over one hour' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    -- The minter writes the user id as uuid::text does; anything else was not minted by it.
    IF subject::pg_catalog.text OPERATOR(pg_catalog.<>) pg_catalog.substr(p_token, 4, 36) THEN
        RAISE EXCEPTION 'identity token rejected: malformed' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    RETURN COALESCE(answer, false);
END $$;
-- Called by app_check_consent only (as the owner): no application role calls it directly.
REVOKE EXECUTE ON FUNCTION app_check_consent_fallback(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app_check_consent(p_token text, p_purpose text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    accepted boolean;
    answer boolean;
BEGIN
    BEGIN
        -- Lifetime left in (0, 3600] seconds, as now - expiry in [-3600, 0): bucket 1 of width_bucket(.., -3600, 0, 1).
        SELECT pg_catalog.width_bucket(pg_catalog.date_part('epoch', pg_catalog.statement_timestamp())
                   OPERATOR(pg_catalog.-) pg_catalog.substr(x.token, 41, pg_catalog.length(x.token) OPERATOR(pg_catalog.-) 105)::bigint, -3600, 0, 1)
                   OPERATOR(pg_catalog.=) 1
               AND pg_catalog.substr(x.token, 4, 36)::pg_catalog.uuid::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.substr(x.token, 4, 36),
               (SELECT c.granted FROM public.consent_records c
                WHERE c.user_id OPERATOR(pg_catalog.=) pg_catalog.substr(x.token, 4, 36)::pg_catalog.uuid AND c.purpose OPERATOR(pg_catalog.=) p_purpose
                ORDER BY c.id DESC LIMIT 1)
        INTO accepted, answer
        FROM (SELECT p_token AS token OFFSET 0) x, public.app_identity_token_key t
        -- Nothing longer than a minted token (117 bytes) is hashed.
        WHERE t.is_current AND pg_catalog.octet_length(x.token) OPERATOR(pg_catalog.<=) 117
          AND pg_catalog.encode(pg_catalog.sha256(t.outer_pad OPERATOR(pg_catalog.||) pg_catalog.sha256(t.inner_pad OPERATOR(pg_catalog.||)
                  pg_catalog.convert_to(pg_catalog.left(x.token, -65), 'UTF8'))), 'hex') OPERATOR(pg_catalog.=) pg_catalog.right(x.token, 64);
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR datetime_field_overflow THEN
        accepted := false;
    END;
    IF accepted THEN
        RETURN COALESCE(answer, false);
    END IF;
    RETURN public.app_check_consent_fallback(p_token, p_purpose);
END $$;
REVOKE EXECUTE ON FUNCTION app_check_consent(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_check_consent(text, text) TO pii_read, pii_write;
