-- The consent check made cheaper (bench/db.ts: goal 1.5x of the bare indexed lookup), and the current token key first.
--
-- app_check_consent(token, purpose), redefined: SECURITY DEFINER, and its gate is the token's signature.
-- 0022 verified the token (app_begin_identity: a query and two HMACs), stored a sealed identity, then read
-- consent_records under row-level security, whose app_current_user_id() ran a second query and HMAC to check
-- that seal, then put the previous identity back: ~50 µs inside the server for a ~5 µs lookup (db/README.md,
-- "Speed"). Here one cached query checks the signature under the current token key and, only on the row that
-- passes, reads the newest consent record of the user the signature vouches for, and whether that user's
-- activity is more than a minute old. No session identity is set or changed, so there is nothing to forge
-- or to leak into the caller's transaction. What it returns is one boolean about the signed user and that
-- purpose: it takes no user id, so no argument names another user (the same model as signup_create_user:
-- a narrow SECURITY DEFINER function, EXECUTE for pii_read and pii_write only). Every other read of
-- consent_records by an application role still goes through row-level security.
--
-- Same contract as 0022: same 28000 errors in the same cases (malformed, bad signature, expired, lifetime
-- over one hour), never echoing the token; newest record by server order; activity recorded at most once a
-- minute, outside read-only transactions, through app_begin_identity (so its audit row names the user).
--
-- No SET clause (a configuration save and restore per call): every function, operator, table and type whose
-- name is not SQL syntax is schema-qualified, so a caller's search_path cannot redirect it (a test puts look-alike
-- objects first on the path); the application roles cannot create objects in any schema anyway (0008).
--
-- app_begin_identity, redefined: the same checks as 0022, but the current token key is tried first and the
-- other accepted keys (a rotation's grace window, 0021) only when it does not sign the token; 0022 computed
-- an HMAC for every accepted key on every token.

CREATE OR REPLACE FUNCTION app_check_consent(p_token text, p_purpose text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    token_length integer := pg_catalog.length(p_token);
    mac pg_catalog.bytea;
    message pg_catalog.bytea;
    subject pg_catalog.uuid;
    expires_at bigint;
    expires pg_catalog.timestamptz;
    signed boolean;
    answer boolean;
    inactive boolean;
    previous pg_catalog.text;
BEGIN
    -- v1.<uuid>.<1-12 digits>.<64 hex>, as signIdentityToken mints it. The three conversions are caught, so a failed
    -- one says 'malformed' instead of echoing its input (a regular expression costs more than this whole function).
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
    -- The sub-selects run only for a key row whose HMAC matches: nothing is read for an unsigned subject.
    SELECT true,
           (SELECT c.granted FROM public.consent_records c
            WHERE c.user_id OPERATOR(pg_catalog.=) subject AND c.purpose OPERATOR(pg_catalog.=) p_purpose
            ORDER BY c.id DESC LIMIT 1),
           (SELECT u.last_activity_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 minute')
            FROM public.users u WHERE u.id OPERATOR(pg_catalog.=) subject)
    INTO signed, answer, inactive
    FROM public.app_identity_token_key t
    WHERE t.is_current
      AND pg_catalog.sha256(t.outer_pad OPERATOR(pg_catalog.||) pg_catalog.sha256(t.inner_pad OPERATOR(pg_catalog.||) message)) OPERATOR(pg_catalog.=) mac;
    IF signed IS NULL THEN
        -- Not the current key: another accepted key (a rotation's grace window), newest first.
        SELECT true,
               (SELECT c.granted FROM public.consent_records c
                WHERE c.user_id OPERATOR(pg_catalog.=) subject AND c.purpose OPERATOR(pg_catalog.=) p_purpose
                ORDER BY c.id DESC LIMIT 1),
               (SELECT u.last_activity_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 minute')
                FROM public.users u WHERE u.id OPERATOR(pg_catalog.=) subject)
        INTO signed, answer, inactive
        FROM public.app_identity_token_key t
        WHERE NOT t.is_current AND (t.retire_at IS NULL OR t.retire_at OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp())
          AND pg_catalog.sha256(t.outer_pad OPERATOR(pg_catalog.||) pg_catalog.sha256(t.inner_pad OPERATOR(pg_catalog.||) message)) OPERATOR(pg_catalog.=) mac
        ORDER BY t.id DESC
        LIMIT 1;
    END IF;
    IF signed IS NULL THEN
        RAISE EXCEPTION 'identity token rejected: bad signature' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    -- A valid signature means the minter wrote these fields (and it writes the user id as uuid::text does).
    -- Timestamps, not numeric epochs (numeric arithmetic costs ~2 µs here); the clock, not the transaction start.
    expires := pg_catalog.to_timestamp(expires_at);
    IF expires OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() OR expires OPERATOR(pg_catalog.>) (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) interval '1 hour')
       OR subject::pg_catalog.text OPERATOR(pg_catalog.<>) pg_catalog.substr(p_token, 4, 36) THEN
        RAISE EXCEPTION 'identity token rejected: %', CASE WHEN expires OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() THEN 'expired'
            WHEN expires OPERATOR(pg_catalog.>) (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) interval '1 hour') THEN 'lifetime over one hour' ELSE 'malformed' END
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    -- Token use is activity (at most once a minute): 0005's way, so the audit row of the touch names the user.
    IF inactive AND pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'off' THEN
        previous := pg_catalog.current_setting('app.identity', true);
        PERFORM public.app_begin_identity(p_token);
        PERFORM pg_catalog.set_config('app.identity', COALESCE(previous, ''), true);
    END IF;
    RETURN COALESCE(answer, false);
END $$;
REVOKE EXECUTE ON FUNCTION app_check_consent(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_check_consent(text, text) TO pii_read, pii_write;

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
    -- One query: whether the current token key signed it, and the seal app_current_user_id() (0009) accepts.
    SELECT EXISTS (SELECT 1 FROM public.app_identity_token_key t
                   WHERE t.is_current
                     AND encode(sha256(t.outer_pad || sha256(t.inner_pad || convert_to(signed_part, 'UTF8'))), 'hex') = mac),
           encode(sha256(s.outer_pad || sha256(s.inner_pad || convert_to(
               concat('seal.', split_part(signed_part, '.', 2), '.', pg_backend_pid(), '.', extract(epoch FROM now())), 'UTF8'))), 'hex')
    INTO verified, seal
    FROM public.app_identity_secret s;
    IF verified IS FALSE THEN
        -- Another accepted key: a rotation's grace window (0021).
        SELECT EXISTS (SELECT 1 FROM public.app_identity_token_key t
                       WHERE NOT t.is_current AND (t.retire_at IS NULL OR t.retire_at > clock_timestamp())
                         AND encode(sha256(t.outer_pad || sha256(t.inner_pad || convert_to(signed_part, 'UTF8'))), 'hex') = mac)
        INTO verified;
    END IF;
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
