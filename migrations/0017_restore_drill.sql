-- The restore drill (compliance/restore-drill.ts, `npm run drill:restore`): a login that verifies a restored copy
-- against its source without reading personal data itself.
--   restore_drill                      LOGIN (IAM auth on RDS): connects to the source instance and to the temporary
--                                      restored instance; may call the functions below, read schema_migrations
--                                      (names and checksums) and record its result; no personal-data table at all
--   restore_drill_row_counts()         exact row counts of the personal-data tables (counts only)
--   restore_drill_sample(n)            up to n level-2 ciphertexts of users (never level 3), from a random point of the
--                                      primary key: the drill proves they decrypt with the application's keys and
--                                      keeps only how many did (the KMS policy of the drill's role allows pii_level 2)
-- The RLS and audit-trigger checks read pg_class / pg_trigger, which any login may.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'restore_drill') THEN
        BEGIN
            CREATE ROLE restore_drill LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO restore_drill;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO restore_drill', current_database());
END $$;
GRANT USAGE ON SCHEMA public TO restore_drill;

-- Owner's rights (owner_maintenance policy): every row is counted, whatever row-level security shows a login.
CREATE FUNCTION restore_drill_row_counts() RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'encryption_metadata', 'consent_records', 'deletion_requests', 'data_subject_requests',
                             'third_party_provisions', 'erasure_steps'] LOOP
        table_name := t;
        IF to_regclass(format('public.%I', t)) IS NULL THEN
            row_count := NULL;  -- missing table: the drill reports it
        ELSE
            EXECUTE format('SELECT count(*) FROM %I', t) INTO row_count;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- A random start on the uuid primary key, then the next rows in key order: an index range scan, not a sort of
-- every user; wraps around to the start of the key space when the tail holds too few.
CREATE FUNCTION restore_drill_sample(p_limit integer) RETURNS TABLE (user_id uuid, field_name text, ciphertext bytea)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH start AS (SELECT gen_random_uuid() AS id),
    picked AS (
        (SELECT u.id, u.address_encrypted, u.date_of_birth_encrypted, u.ip_address_encrypted, 0 AS pass FROM users u, start
         WHERE u.id >= start.id AND num_nonnulls(u.address_encrypted, u.date_of_birth_encrypted, u.ip_address_encrypted) > 0
         ORDER BY u.id LIMIT greatest(1, least(p_limit, 1000)))
        UNION ALL
        (SELECT u.id, u.address_encrypted, u.date_of_birth_encrypted, u.ip_address_encrypted, 1 FROM users u
         WHERE num_nonnulls(u.address_encrypted, u.date_of_birth_encrypted, u.ip_address_encrypted) > 0
         ORDER BY u.id LIMIT greatest(1, least(p_limit, 1000)))
    ), fields AS (
        SELECT p.id, f.name, f.value, p.pass FROM picked p
        CROSS JOIN LATERAL (VALUES ('address_encrypted', p.address_encrypted), ('date_of_birth_encrypted', p.date_of_birth_encrypted),
                                   ('ip_address_encrypted', p.ip_address_encrypted)) AS f(name, value)
        WHERE f.value IS NOT NULL
    )
    SELECT d.id, d.name, d.value FROM (
        SELECT DISTINCT ON (f.id, f.name) f.id, f.name, f.value, f.pass FROM fields f ORDER BY f.id, f.name, f.pass) d
    ORDER BY d.pass, d.id, d.name
    LIMIT greatest(1, least(p_limit, 1000))
$$;

REVOKE EXECUTE ON FUNCTION restore_drill_row_counts(), restore_drill_sample(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION restore_drill_row_counts(), restore_drill_sample(integer),
    record_drill_result(text, timestamptz, timestamptz, boolean, numeric, numeric, jsonb) TO restore_drill;
GRANT SELECT ON schema_migrations TO restore_drill;
