-- Key-rotation validation (issue 12): which PII key version new ciphertext uses (system_config), which version
-- the latest rotation of each key type reached (key_rotation_log), whether a rotation is under way, and how
-- many encrypted fields are still under each version (encryption_metadata). Aggregates only, for the
-- compliance job and auditors; no user id leaves the function.
CREATE FUNCTION key_version_status()
RETURNS TABLE (encryption_level smallint, current_key_version integer, latest_rotated_version integer,
               rotation_in_progress boolean, fields_by_version jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH levels AS (
        SELECT 2::smallint AS level, 'encryption.level2.current_key_version' AS config_key, ARRAY['level2'] AS key_types
        UNION ALL
        SELECT 3::smallint, 'encryption.level3.current_key_version', ARRAY['level3_inner', 'level3_outer']
    ), latest_rotation AS (
        SELECT DISTINCT ON (rotation_id) rotation_id, key_type, new_key_version, status
        FROM key_rotation_log ORDER BY rotation_id, logged_at DESC, id DESC
    )
    SELECT l.level,
           (SELECT (value #>> '{}')::integer FROM system_config WHERE key = l.config_key),
           (SELECT max(r.new_key_version) FROM latest_rotation r WHERE r.key_type = ANY (l.key_types) AND r.status = 'completed'),
           EXISTS (SELECT 1 FROM latest_rotation r WHERE r.key_type = ANY (l.key_types) AND r.status IN ('started', 'in_progress')),
           coalesce((SELECT jsonb_object_agg(v.key_version::text, v.n)
                     FROM (SELECT m.key_version, count(*) AS n FROM encryption_metadata m
                           WHERE m.encryption_level = l.level GROUP BY m.key_version) v), '{}'::jsonb)
    FROM levels l ORDER BY l.level
$$;
REVOKE EXECUTE ON FUNCTION key_version_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION key_version_status() TO pii_audit, compliance_job;
