-- Signed identity: the user a session acts for is bound to a short-lived HMAC token the database verifies
-- itself, so a stolen application credential cannot act as another user by setting a session variable.
--
--   token  = 'v1.' || user_id || '.' || expiry (unix seconds) || '.' || hex(HMAC-SHA256(secret, 'v1.' || user_id || '.' || expiry))
--   app_begin_identity(token)   (pii_read / pii_write only) verifies it once per transaction and stores a
--                                seal: HMAC(secret, user_id . backend pid . transaction start) in app.identity
--   app_current_user_id()       what row-level security reads: the user id only if the seal matches this
--                                backend and this transaction; anything typed by hand (app.user_id, a copied
--                                or edited app.identity) yields NULL, so every policy is false.
-- The secret lives in app_identity_secret, readable by the owner only (SECURITY DEFINER functions below).
-- HMAC is built from the built-in sha256() with precomputed key pads (RFC 2104): no extension needed.
-- Model and limits: db/README.md.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pii_signup') THEN
        BEGIN
            CREATE ROLE pii_signup NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration on another database
        END;
    END IF;
END $$;

-- One row: the HMAC key as its inner and outer pads (key zero-padded to 64 bytes, XOR 0x36 / 0x5c).
CREATE TABLE app_identity_secret (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    inner_pad   bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad   bytea NOT NULL CHECK (length(outer_pad) = 64),
    set_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    set_by      text NOT NULL DEFAULT session_user
);
REVOKE ALL ON app_identity_secret FROM PUBLIC;

-- Owner only: installs the shared secret the token minter holds (32-64 bytes). Called by the deploy
-- (npm run db:migrate with APP_IDENTITY_SECRET) and by the tests.
CREATE FUNCTION app_set_identity_secret(p_secret bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    padded bytea;
    ipad bytea;
    opad bytea;
BEGIN
    IF p_secret IS NULL OR length(p_secret) < 32 OR length(p_secret) > 64 THEN
        RAISE EXCEPTION 'identity secret must be 32 to 64 bytes' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    padded := p_secret || decode(repeat('00', 64 - length(p_secret)), 'hex');
    ipad := padded;
    opad := padded;
    FOR i IN 0 .. 63 LOOP
        ipad := set_byte(ipad, i, get_byte(padded, i) # 54);   -- 0x36
        opad := set_byte(opad, i, get_byte(padded, i) # 92);   -- 0x5c
    END LOOP;
    INSERT INTO public.app_identity_secret (inner_pad, outer_pad) VALUES (ipad, opad)
    ON CONFLICT (singleton) DO UPDATE SET inner_pad = EXCLUDED.inner_pad, outer_pad = EXCLUDED.outer_pad,
                                         set_at = clock_timestamp(), set_by = session_user;
END $$;
REVOKE EXECUTE ON FUNCTION app_set_identity_secret(bytea) FROM PUBLIC;

-- Until the deploy installs the real secret, a random one nobody knows: no token verifies (fail closed).
SELECT app_set_identity_secret(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- HMAC-SHA256 of a message under the secret, hex. Owner only (reads the secret).
CREATE FUNCTION app_identity_mac(p_message text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT encode(sha256(s.outer_pad || sha256(s.inner_pad || convert_to(p_message, 'UTF8'))), 'hex')
    FROM public.app_identity_secret s
$$;
REVOKE EXECUTE ON FUNCTION app_identity_mac(text) FROM PUBLIC;

-- The seal app_current_user_id() accepts: bound to the user, this backend and this transaction
-- (now() is the transaction's start; its epoch does not depend on the session's TimeZone or DateStyle).
CREATE FUNCTION app_identity_seal_message(p_user_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'seal.' || p_user_id || '.' || pg_catalog.pg_backend_pid() || '.' || extract(epoch FROM pg_catalog.now())
$$;
REVOKE EXECUTE ON FUNCTION app_identity_seal_message(text) FROM PUBLIC;

-- Owner only: acts for p_user_id until the end of the transaction (used by SECURITY DEFINER functions
-- that have verified the user by other means, e.g. sign-up creating the user).
CREATE FUNCTION app_set_verified_identity(p_user_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM set_config('app.identity',
        CASE WHEN p_user_id IS NULL THEN '' ELSE p_user_id::text || '.' || public.app_identity_mac(public.app_identity_seal_message(p_user_id::text)) END,
        true);
END $$;
REVOKE EXECUTE ON FUNCTION app_set_verified_identity(uuid) FROM PUBLIC;

-- Verifies a token and acts for its user for the rest of the transaction; returns the user id.
-- Rejected tokens raise 28000 naming the reason, never the token. Touches users.last_activity_at (at most
-- once a minute per user, not in read-only transactions): token use is activity.
CREATE FUNCTION app_begin_identity(p_token text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    signed_part text;
    mac text;
    expires_at bigint;
    user_id uuid;
    now_epoch numeric := extract(epoch FROM clock_timestamp());
BEGIN
    IF p_token IS NULL OR length(p_token) > 200 OR split_part(p_token, '.', 1) <> 'v1' OR split_part(p_token, '.', 5) <> '' THEN
        RAISE EXCEPTION 'identity token rejected: malformed' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    mac := split_part(p_token, '.', 4);
    signed_part := left(p_token, length(p_token) - length(mac) - 1);
    -- Verify the signature before parsing anything else: a valid MAC means the minter wrote these fields.
    IF length(mac) <> 64 OR mac <> app_identity_mac(signed_part) THEN
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
    PERFORM set_config('app.identity', user_id::text || '.' || app_identity_mac(app_identity_seal_message(user_id::text)), true);
    IF current_setting('transaction_read_only') = 'off' THEN
        UPDATE users SET last_activity_at = now()
        WHERE id = user_id AND last_activity_at < now() - interval '1 minute';
    END IF;
    RETURN user_id;
END $$;
REVOKE EXECUTE ON FUNCTION app_begin_identity(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_begin_identity(text) TO pii_read, pii_write;

-- What row-level security reads. Replaces 0003's version (which trusted app.user_id): policies keep
-- pointing at it. No SET clause (a GUC save/restore per call): names are schema-qualified.
CREATE OR REPLACE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    sealed text := pg_catalog.current_setting('app.identity', true);
    user_text text;
BEGIN
    IF sealed IS NULL OR sealed = '' THEN
        RETURN NULL;
    END IF;
    user_text := pg_catalog.split_part(sealed, '.', 1);
    IF pg_catalog.split_part(sealed, '.', 2) = public.app_identity_mac(public.app_identity_seal_message(user_text)) THEN
        RETURN user_text::uuid;
    END IF;
    RETURN NULL;
END $$;

-- Policies evaluate the identity once per statement (an InitPlan), not once per row.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT pol.polname, c.relname, pol.polcmd,
               ARRAY(SELECT rolname FROM pg_roles WHERE oid = ANY(pol.polroles) ORDER BY 1) AS roles,
               pg_get_expr(pol.polqual, pol.polrelid) AS using_expr,
               pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expr
        FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
        WHERE c.relnamespace = 'public'::regnamespace
          AND (pg_get_expr(pol.polqual, pol.polrelid) LIKE '%app_current_user_id()%'
               OR pg_get_expr(pol.polwithcheck, pol.polrelid) LIKE '%app_current_user_id()%')
    LOOP
        EXECUTE format('DROP POLICY %I ON %I', p.polname, p.relname);
        EXECUTE format('CREATE POLICY %I ON %I FOR %s TO %s%s%s',
            p.polname, p.relname,
            CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
            (SELECT string_agg(quote_ident(r), ', ') FROM unnest(p.roles) r),
            CASE WHEN p.using_expr IS NULL THEN '' ELSE ' USING (' || replace(p.using_expr, 'app_current_user_id()', '(SELECT app_current_user_id())') || ')' END,
            CASE WHEN p.check_expr IS NULL THEN '' ELSE ' WITH CHECK (' || replace(p.check_expr, 'app_current_user_id()', '(SELECT app_current_user_id())') || ')' END);
    END LOOP;
END $$;

-- The audit trail records the verified identity (0003 recorded whatever app.user_id said).
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    the_row jsonb := coalesce(new_row, old_row);
    changed text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.key ORDER BY n.key) INTO changed
        FROM jsonb_each(new_row) n JOIN jsonb_each(old_row) o USING (key)
        WHERE n.value IS DISTINCT FROM o.value;
        IF changed IS NULL THEN
            RETURN NULL;  -- nothing changed
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(key ORDER BY key) INTO changed FROM jsonb_each(new_row) WHERE value <> 'null'::jsonb;
    END IF;
    -- session_user: inside SECURITY DEFINER current_user is the owner; we want the role that logged in.
    INSERT INTO audit_log (user_id, table_name, operation, row_id, changed_columns, app_user_id, db_role)
    VALUES ((the_row ->> TG_ARGV[0])::uuid, TG_TABLE_NAME, TG_OP, the_row ->> TG_ARGV[1], changed,
            app_current_user_id()::text, session_user);
    RETURN NULL;
END $$;

-- Sign-up: creates one new user (row, encryption metadata, consents, encryption audit) and nothing else.
-- pii_signup may call this and nothing more: no table privilege, no identity. Returns false (writing
-- nothing) when the user already exists, e.g. Cognito retrying the trigger. Ciphertexts come as parallel
-- arrays (column names, values); metadata and audit entries as JSON arrays of objects.
CREATE FUNCTION signup_create_user(
    p_user_id uuid, p_email text, p_first_name text, p_last_name text, p_phone text,
    p_encrypted_columns text[], p_ciphertexts bytea[], p_metadata jsonb,
    p_consents text[], p_notice_version text, p_idempotency_key text, p_audit jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    allowed constant text[] := ARRAY['address_encrypted', 'date_of_birth_encrypted', 'ip_address_encrypted',
                                     'ssn_encrypted', 'bank_account_encrypted', 'credit_card_encrypted'];
    columns text[] := coalesce(p_encrypted_columns, '{}');
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'signup_create_user: user id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cardinality(columns) <> cardinality(coalesce(p_ciphertexts, '{}')) OR NOT columns <@ allowed
       OR cardinality(columns) <> (SELECT count(DISTINCT c) FROM unnest(columns) c) THEN
        RAISE EXCEPTION 'signup_create_user: encrypted columns must be distinct names among % with one ciphertext each', allowed
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The audit trail shows the new user as the acting identity; cleared again below.
    PERFORM app_set_verified_identity(p_user_id);
    INSERT INTO users (id, email, first_name, last_name, phone, address_encrypted, date_of_birth_encrypted,
                       ip_address_encrypted, ssn_encrypted, bank_account_encrypted, credit_card_encrypted)
    VALUES (p_user_id, p_email, p_first_name, p_last_name, p_phone,
            p_ciphertexts[array_position(columns, 'address_encrypted')],
            p_ciphertexts[array_position(columns, 'date_of_birth_encrypted')],
            p_ciphertexts[array_position(columns, 'ip_address_encrypted')],
            p_ciphertexts[array_position(columns, 'ssn_encrypted')],
            p_ciphertexts[array_position(columns, 'bank_account_encrypted')],
            p_ciphertexts[array_position(columns, 'credit_card_encrypted')])
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        PERFORM app_set_verified_identity(NULL);
        RETURN false;
    END IF;
    INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version, outer_kms_key_id, outer_key_version, algorithm)
    SELECT p_user_id, m.field_name, m.encryption_level, m.kms_key_id, m.key_version, m.outer_kms_key_id, m.outer_key_version,
           coalesce(m.algorithm, 'AES_256_GCM_HKDF_SHA512_COMMIT_KEY')
    FROM jsonb_to_recordset(coalesce(p_metadata, '[]')) AS m(field_name text, encryption_level smallint, kms_key_id text, key_version integer,
                                                            outer_kms_key_id text, outer_key_version integer, algorithm text);
    INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, source, idempotency_key)
    SELECT p_user_id, purpose, true, p_notice_version, 'user', 'signup', p_idempotency_key
    FROM unnest(coalesce(p_consents, '{}')) AS purpose;
    INSERT INTO encryption_audit (user_id, field_name, operation, encryption_level, kms_key_id, key_version, performed_by,
                                  purpose, success, error_code, duration_ms, request_id, db_role)
    SELECT p_user_id, a.field_name, 'encrypt', a.encryption_level, a.kms_key_id, a.key_version, a.performed_by,
           'signup', a.success, a.error_code, a.duration_ms, a.request_id, session_user
    FROM jsonb_to_recordset(coalesce(p_audit, '[]')) AS a(field_name text, encryption_level smallint, kms_key_id text, key_version integer,
                                                         performed_by text, success boolean, error_code text, duration_ms numeric, request_id text);
    PERFORM app_set_verified_identity(NULL);
    RETURN true;
END $$;

-- Sign-up whose encryption failed (e.g. KMS unreachable): the failures go to the audit trail, nothing else.
CREATE FUNCTION signup_record_encryption_failures(p_user_id uuid, p_audit jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO encryption_audit (user_id, field_name, operation, encryption_level, performed_by, purpose, success,
                                  error_code, duration_ms, request_id, db_role)
    SELECT p_user_id, a.field_name, 'encrypt', a.encryption_level, a.performed_by, 'signup', false,
           coalesce(a.error_code, 'encrypt_failed'), a.duration_ms, a.request_id, session_user
    FROM jsonb_to_recordset(coalesce(p_audit, '[]')) AS a(field_name text, encryption_level smallint, performed_by text,
                                                         error_code text, duration_ms numeric, request_id text);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION signup_create_user(uuid, text, text, text, text, text[], bytea[], jsonb, text[], text, text, jsonb),
    signup_record_encryption_failures(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION signup_create_user(uuid, text, text, text, text, text[], bytea[], jsonb, text[], text, text, jsonb),
    signup_record_encryption_failures(uuid, jsonb) TO pii_signup;

-- The sign-up Lambdas log in as signup_trigger (IAM auth through the RDS Proxy), a pii_signup member only.
-- 0004's cognito_trigger (a pii_write member) can no longer log in. Its membership is left alone rather than
-- revoked: roles are cluster-wide, and a revoke here would make 0004's GRANT, run for another database of
-- the same server, insert the membership again and race with itself.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'signup_trigger') THEN
        BEGIN
            CREATE ROLE signup_trigger LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF NOT pg_has_role('signup_trigger', 'pii_signup', 'MEMBER') THEN
        BEGIN
            GRANT pii_signup TO signup_trigger;
        EXCEPTION WHEN unique_violation THEN
            NULL;  -- granted meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') AND NOT pg_has_role('signup_trigger', 'rds_iam', 'MEMBER') THEN
        GRANT rds_iam TO signup_trigger;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO signup_trigger', current_database());
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cognito_trigger' AND rolcanlogin) THEN
        BEGIN
            ALTER ROLE cognito_trigger NOLOGIN;
        EXCEPTION WHEN OTHERS THEN
            -- "tuple concurrently updated": another database's migration did the same at the same moment.
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cognito_trigger' AND NOT rolcanlogin) THEN
                RAISE;
            END IF;
        END;
    END IF;
END $$;
