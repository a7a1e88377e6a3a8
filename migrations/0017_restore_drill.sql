-- The restore drill (compliance/restore-drill.ts, `npm run drill:restore`): a login that verifies a restored copy
-- against its source without reading personal data itself.
--   restore_drill                      LOGIN (IAM auth on RDS): connects to the source instance and to the temporary
--                                      restored instance; may call the functions below, read schema_migrations
--                                      (names and checksums) and record its result; no personal-data table at all
--   restore_drill_row_counts()         exact row counts of the personal-data tables (counts only)
--   restore_drill_sample(n)            up to n level-2 ciphertexts of users (never level 3), from a random point of
--                                      encryption_metadata: the drill proves they decrypt with the application's keys
--                                      and keeps only how many did (the KMS policy of the drill's role allows pii_level 2)
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

-- The level-2 fields encryption_metadata records for users, from a random point of its (user_id, field_name) index
-- onwards, then from the start of the key space up to that point: two index range scans over fields that are
-- encrypted (not a scan of every user, however few have such a field), no sort of the table. The ciphertext comes
-- from users by primary key; a field recorded but NULL in users (erased) is skipped.
CREATE FUNCTION restore_drill_sample(p_limit integer) RETURNS TABLE (user_id uuid, field_name text, ciphertext bytea)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH start AS (SELECT gen_random_uuid() AS id),
    picked AS (
        (SELECT m.user_id, m.field_name, 0 AS pass FROM encryption_metadata m, start
         WHERE m.user_id >= start.id AND m.encryption_level = 2
           AND m.field_name IN ('address_encrypted', 'date_of_birth_encrypted', 'ip_address_encrypted')
         ORDER BY m.user_id, m.field_name LIMIT greatest(1, least(p_limit, 1000)))
        UNION ALL
        (SELECT m.user_id, m.field_name, 1 FROM encryption_metadata m, start
         WHERE m.user_id < start.id AND m.encryption_level = 2
           AND m.field_name IN ('address_encrypted', 'date_of_birth_encrypted', 'ip_address_encrypted')
         ORDER BY m.user_id, m.field_name LIMIT greatest(1, least(p_limit, 1000)))
    ), valued AS (
        SELECT p.user_id, p.field_name, p.pass,
               CASE p.field_name WHEN 'address_encrypted' THEN u.address_encrypted
                                 WHEN 'date_of_birth_encrypted' THEN u.date_of_birth_encrypted
                                 WHEN 'ip_address_encrypted' THEN u.ip_address_encrypted END AS ciphertext
        FROM picked p JOIN users u ON u.id = p.user_id
    )
    SELECT v.user_id, v.field_name, v.ciphertext FROM valued v
    WHERE v.ciphertext IS NOT NULL
    ORDER BY v.pass, v.user_id, v.field_name
    LIMIT greatest(1, least(p_limit, 1000))
$$;

REVOKE EXECUTE ON FUNCTION restore_drill_row_counts(), restore_drill_sample(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION restore_drill_row_counts(), restore_drill_sample(integer),
    record_drill_result(text, timestamptz, timestamptz, boolean, numeric, numeric, jsonb) TO restore_drill;
GRANT SELECT ON schema_migrations TO restore_drill;
