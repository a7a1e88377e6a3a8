-- Automatic rotation of the identity-token secret (APP_IDENTITY_SECRET): several accepted token keys, each
-- with a validity window, instead of 0005's single secret. Tokens keep the v1 format; a token verifies if
-- one accepted key signed it (the current key is tried first: the common path is one HMAC).
--
--   app_identity_token_key        the accepted token keys (pads, as 0005), owner only; accepted while
--                                 retire_at is NULL or in the future; at most one is_current
--   app_identity_key_log          every add / make-current / retire / install: version, times, session_user,
--                                 never key material; append-only for every role, the owner included
--   app_identity_key_add(version, secret)        Secrets Manager setSecret: the pending key becomes accepted
--                                                (the current one stays accepted and current)
--   app_identity_key_check(version, token)       testSecret: true if the token verifies under that accepted
--                                                key; sets no identity
--   app_identity_key_finish(version, grace)      finishSecret (after AWSCURRENT moved): version becomes current,
--                                                every other key is retired at now() + grace (>= 80 minutes:
--                                                token lifetime 1 h + the host's 15-minute re-read + 5 min skew)
--   app_set_identity_secret(secret)              the deploy path (owner only), redefined: an accepted key with
--                                                the same value changes nothing; a new value becomes current and
--                                                every other key is retired at once (0005's replacement)
--   identity_rotator              LOGIN (IAM through the proxy): EXECUTE on add / check / finish only.
-- The seal app_begin_identity stores in app.identity is keyed with app_identity_secret, which from now on
-- holds a seal key that never leaves the database and that no rotation changes (a fresh random key here:
-- until now it was the token secret itself, known to every minter). So a rotation committing while a
-- transaction runs does not blank its row-level security, and app_current_user_id() (0009) is unchanged.
-- Model and limits: db/README.md ("Rotating the identity secret").
-- Creates a role: run once with the master user's login (db/README.md, "Migrations that create roles").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'identity_rotator') THEN
        BEGIN
            CREATE ROLE identity_rotator LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO identity_rotator;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO identity_rotator', current_database());
    EXECUTE format('ALTER ROLE identity_rotator IN DATABASE %I SET statement_timeout = %L', current_database(), '10s');
    EXECUTE format('ALTER ROLE identity_rotator IN DATABASE %I SET lock_timeout = %L', current_database(), '5s');
    EXECUTE format('ALTER ROLE identity_rotator IN DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '30s');
END $$;
GRANT USAGE ON SCHEMA public TO identity_rotator;

CREATE TABLE app_identity_token_key (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version     text NOT NULL UNIQUE CHECK (length(version) BETWEEN 1 AND 128),
    inner_pad   bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad   bytea NOT NULL CHECK (length(outer_pad) = 64),
    is_current  boolean NOT NULL DEFAULT false,
    added_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    added_by    text NOT NULL DEFAULT session_user,
    retire_at   timestamptz,
    CHECK (NOT is_current OR retire_at IS NULL)
);
CREATE UNIQUE INDEX app_identity_token_key_one_current ON app_identity_token_key (is_current) WHERE is_current;
REVOKE ALL ON app_identity_token_key FROM PUBLIC;

CREATE TABLE app_identity_key_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    action      text NOT NULL CHECK (action IN ('add', 'make_current', 'retire', 'install')),
    version     text NOT NULL,
    retire_at   timestamptz,
    db_role     text NOT NULL DEFAULT session_user
);
REVOKE ALL ON app_identity_key_log FROM PUBLIC;
GRANT SELECT ON app_identity_key_log TO pii_audit;

CREATE FUNCTION app_identity_key_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'app_identity_key_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER app_identity_key_log_append_only BEFORE UPDATE OR DELETE ON app_identity_key_log
    FOR EACH ROW EXECUTE FUNCTION app_identity_key_log_append_only();
CREATE TRIGGER app_identity_key_log_no_truncate BEFORE TRUNCATE ON app_identity_key_log
    FOR EACH STATEMENT EXECUTE FUNCTION app_identity_key_log_append_only();

-- RFC 2104 pads of a 32-64 byte key (as 0005's app_set_identity_secret computed them). Owner only.
CREATE FUNCTION app_identity_key_pads(p_secret bytea, OUT inner_pad bytea, OUT outer_pad bytea)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    padded bytea;
BEGIN
    IF p_secret IS NULL OR length(p_secret) < 32 OR length(p_secret) > 64 THEN
        RAISE EXCEPTION 'identity secret must be 32 to 64 bytes' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    padded := p_secret || decode(repeat('00', 64 - length(p_secret)), 'hex');
    inner_pad := padded;
    outer_pad := padded;
    FOR i IN 0 .. 63 LOOP
        inner_pad := set_byte(inner_pad, i, get_byte(padded, i) # 54);   -- 0x36
        outer_pad := set_byte(outer_pad, i, get_byte(padded, i) # 92);   -- 0x5c
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION app_identity_key_pads(bytea) FROM PUBLIC;

-- The installed token secret becomes the first accepted (and current) key; the seal gets its own fresh key.
INSERT INTO app_identity_token_key (version, inner_pad, outer_pad, is_current, added_at, added_by)
SELECT 'installed-before-0021', s.inner_pad, s.outer_pad, true, s.set_at, s.set_by FROM app_identity_secret s;
INSERT INTO app_identity_key_log (action, version) VALUES ('install', 'installed-before-0021');
UPDATE app_identity_secret s
SET inner_pad = p.inner_pad, outer_pad = p.outer_pad, set_at = clock_timestamp(), set_by = session_user
FROM app_identity_key_pads(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')) p;
COMMENT ON TABLE app_identity_secret IS
    'Seal key of app.identity (migrations/0021): generated in the database, never a token key, not changed by rotations';

-- Verifies a v1 token against the accepted keys (only p_version's when given): the user, or why not.
-- Owner only; app_begin_identity and app_identity_key_check call it. Current key first, then newest.
CREATE FUNCTION app_identity_token_verify(p_token text, p_version text, OUT user_id uuid, OUT reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    signed_part text;
    mac text;
    message bytea;
    expires_at bigint;
    now_epoch numeric := extract(epoch FROM clock_timestamp());
    k record;
    verified boolean := false;
BEGIN
    IF p_token IS NULL OR length(p_token) > 200 OR split_part(p_token, '.', 1) <> 'v1' OR split_part(p_token, '.', 5) <> '' THEN
        reason := 'malformed';
        RETURN;
    END IF;
    mac := split_part(p_token, '.', 4);
    IF length(mac) <> 64 THEN
        reason := 'bad signature';
        RETURN;
    END IF;
    signed_part := left(p_token, length(p_token) - length(mac) - 1);
    message := convert_to(signed_part, 'UTF8');
    -- Verify the signature before parsing anything else: a valid MAC means the minter wrote these fields.
    FOR k IN
        SELECT t.inner_pad, t.outer_pad FROM public.app_identity_token_key t
        WHERE (t.retire_at IS NULL OR t.retire_at > clock_timestamp()) AND (p_version IS NULL OR t.version = p_version)
        ORDER BY t.is_current DESC, t.id DESC
    LOOP
        IF encode(sha256(k.outer_pad || sha256(k.inner_pad || message)), 'hex') = mac THEN
            verified := true;
            EXIT;
        END IF;
    END LOOP;
    IF NOT verified THEN
        reason := 'bad signature';
        RETURN;
    END IF;
    expires_at := split_part(p_token, '.', 3)::bigint;
    IF expires_at <= now_epoch THEN
        reason := 'expired';
        RETURN;
    END IF;
    IF expires_at > now_epoch + 3600 THEN
        reason := 'lifetime over one hour';
        RETURN;
    END IF;
    user_id := split_part(p_token, '.', 2)::uuid;
END $$;
REVOKE EXECUTE ON FUNCTION app_identity_token_verify(text, text) FROM PUBLIC;

-- 0005's contract (same errors, same seal), verified against every accepted key.
CREATE OR REPLACE FUNCTION app_begin_identity(p_token text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM app_identity_token_verify(p_token, NULL);
    IF v.user_id IS NULL THEN
        RAISE EXCEPTION 'identity token rejected: %', v.reason USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    PERFORM set_config('app.identity', v.user_id::text || '.' || app_identity_mac(app_identity_seal_message(v.user_id::text)), true);
    IF current_setting('transaction_read_only') = 'off' THEN
        UPDATE users SET last_activity_at = now()
        WHERE id = v.user_id AND last_activity_at < now() - interval '1 minute';
    END IF;
    RETURN v.user_id;
END $$;

-- Secrets Manager setSecret: accept the pending key. True when added, false when this version already holds
-- this key (a retried step). The same version with another key, a key already accepted under another version,
-- or a fifth accepted key is refused, naming the reason (never the key).
CREATE FUNCTION app_identity_key_add(p_version text, p_secret bytea) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    pads record;
    existing record;
    accepted integer;
BEGIN
    IF p_version IS NULL OR length(p_version) NOT BETWEEN 1 AND 128 THEN
        RAISE EXCEPTION 'identity key version must be 1 to 128 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO pads FROM app_identity_key_pads(p_secret);
    LOCK TABLE public.app_identity_token_key IN SHARE ROW EXCLUSIVE MODE;  -- one rotation step at a time
    SELECT t.inner_pad, t.outer_pad, t.retire_at INTO existing FROM public.app_identity_token_key t WHERE t.version = p_version;
    IF FOUND THEN
        IF existing.inner_pad <> pads.inner_pad THEN
            RAISE EXCEPTION 'identity key version % already holds another key', p_version USING ERRCODE = 'unique_violation';
        END IF;
        IF existing.retire_at IS NOT NULL AND existing.retire_at <= clock_timestamp() THEN
            RAISE EXCEPTION 'identity key version % is retired', p_version USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM public.app_identity_token_key t WHERE t.inner_pad = pads.inner_pad
               AND (t.retire_at IS NULL OR t.retire_at > clock_timestamp())) THEN
        RAISE EXCEPTION 'identity key for version % is already accepted under another version', p_version USING ERRCODE = 'unique_violation';
    END IF;
    -- Key material of keys past their window goes; the log keeps their history.
    DELETE FROM public.app_identity_token_key t WHERE t.retire_at <= clock_timestamp();
    SELECT count(*) INTO accepted FROM public.app_identity_token_key;
    IF accepted >= 4 THEN
        RAISE EXCEPTION 'identity key version % refused: already 4 accepted identity keys; finish the pending rotation (app_identity_key_finish) or wait until retired keys expire', p_version
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    INSERT INTO public.app_identity_token_key (version, inner_pad, outer_pad) VALUES (p_version, pads.inner_pad, pads.outer_pad);
    INSERT INTO public.app_identity_key_log (action, version) VALUES ('add', p_version);
    RETURN true;
END $$;

-- Secrets Manager testSecret: does this token verify under the accepted key p_version? Sets no identity.
CREATE FUNCTION app_identity_key_check(p_version text, p_token text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT p_version IS NOT NULL AND (SELECT v.user_id IS NOT NULL FROM app_identity_token_verify(p_token, p_version) v)
$$;

-- Secrets Manager finishSecret, after AWSCURRENT moved to p_version: it becomes the current key and every other
-- accepted key is retired at now() + p_grace. A retry changes nothing (a retire time once set is kept, never
-- extended). Returns how many keys this call gave a retire time.
CREATE FUNCTION app_identity_key_finish(p_version text, p_grace interval DEFAULT interval '2 hours') RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    target record;
    retire timestamptz;
    r record;
    n integer := 0;
BEGIN
    IF p_grace IS NULL OR p_grace < interval '80 minutes' OR p_grace > interval '7 days' THEN
        RAISE EXCEPTION 'identity key grace must be 80 minutes to 7 days (token lifetime 1 h + host re-read + skew)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOCK TABLE public.app_identity_token_key IN SHARE ROW EXCLUSIVE MODE;
    SELECT t.id, t.is_current, t.retire_at INTO target FROM public.app_identity_token_key t WHERE t.version = p_version;
    IF NOT FOUND OR (target.retire_at IS NOT NULL AND target.retire_at <= clock_timestamp()) THEN
        RAISE EXCEPTION 'identity key version % is not accepted: add it first (app_identity_key_add)', p_version
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    retire := clock_timestamp() + p_grace;
    IF NOT target.is_current THEN
        UPDATE public.app_identity_token_key SET is_current = false WHERE is_current;
        UPDATE public.app_identity_token_key SET is_current = true, retire_at = NULL WHERE id = target.id;
        INSERT INTO public.app_identity_key_log (action, version) VALUES ('make_current', p_version);
    END IF;
    FOR r IN
        UPDATE public.app_identity_token_key t SET retire_at = retire
        WHERE t.id <> target.id AND t.retire_at IS NULL
        RETURNING t.version
    LOOP
        INSERT INTO public.app_identity_key_log (action, version, retire_at) VALUES ('retire', r.version, retire);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- The deploy path (npm run db:migrate with APP_IDENTITY_SECRET; owner only), replacing 0005's: a value that is
-- already an accepted key changes nothing (the deploy may carry AWSCURRENT during or after a rotation); a new
-- value becomes the current key and every other key is retired at once, as 0005 replaced the secret.
CREATE OR REPLACE FUNCTION app_set_identity_secret(p_secret bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    pads record;
    version text := 'install-' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS.US"Z"');
    r record;
BEGIN
    SELECT * INTO pads FROM app_identity_key_pads(p_secret);
    LOCK TABLE public.app_identity_token_key IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM public.app_identity_token_key t WHERE t.inner_pad = pads.inner_pad
               AND (t.retire_at IS NULL OR t.retire_at > clock_timestamp())) THEN
        RETURN;
    END IF;
    FOR r IN
        UPDATE public.app_identity_token_key t SET is_current = false, retire_at = clock_timestamp()
        WHERE t.retire_at IS NULL OR t.retire_at > clock_timestamp()
        RETURNING t.version
    LOOP
        INSERT INTO public.app_identity_key_log (action, version, retire_at) VALUES ('retire', r.version, clock_timestamp());
    END LOOP;
    DELETE FROM public.app_identity_token_key t WHERE t.retire_at <= clock_timestamp();
    INSERT INTO public.app_identity_token_key (version, inner_pad, outer_pad, is_current) VALUES (version, pads.inner_pad, pads.outer_pad, true);
    INSERT INTO public.app_identity_key_log (action, version) VALUES ('install', version);
END $$;

REVOKE EXECUTE ON FUNCTION app_identity_key_add(text, bytea), app_identity_key_check(text, text),
    app_identity_key_finish(text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_identity_key_add(text, bytea), app_identity_key_check(text, text),
    app_identity_key_finish(text, interval) TO identity_rotator;
