-- Re-encryption after a key rotation (lib/key-rotation.ts, `npm run keys:reencrypt`): one row per run,
-- the checkpoint that makes it resumable after a crash. Each batch commits its fields, their metadata,
-- their encryption_audit rows and this checkpoint together, so a crash loses at most the batch in flight
-- and never leaves a field re-encrypted without its metadata. The run's history (started, progress,
-- completed or failed, with the verification) goes to the append-only key_rotation_log as before.
CREATE TABLE key_rotation_progress (
    rotation_id        uuid PRIMARY KEY,
    key_type           text NOT NULL CHECK (key_type IN ('level2', 'level3_inner', 'level3_outer', 'local')),
    target_l2_key_id   text NOT NULL,                 -- the current keys every field ends up under
    target_l3_key_id   text NOT NULL,
    last_metadata_id   bigint NOT NULL DEFAULT 0,      -- keyset cursor over encryption_metadata.id
    fields_total       bigint NOT NULL CHECK (fields_total >= 0),
    fields_done        bigint NOT NULL DEFAULT 0 CHECK (fields_done >= 0),
    fields_skipped     bigint NOT NULL DEFAULT 0 CHECK (fields_skipped >= 0),  -- changed meanwhile by the app (already current)
    started_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at        timestamptz,
    db_role            text NOT NULL DEFAULT current_user
);
CREATE UNIQUE INDEX idx_key_rotation_progress_one_running ON key_rotation_progress ((true)) WHERE finished_at IS NULL;

-- Finding the fields still under an old key without scanning the whole table at every batch.
CREATE INDEX idx_encryption_metadata_keys ON encryption_metadata (kms_key_id, outer_kms_key_id);

ALTER TABLE key_rotation_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE key_rotation_progress FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_maintenance ON key_rotation_progress TO %I USING (true) WITH CHECK (true)', current_user);
END $$;
CREATE POLICY auditor_read ON key_rotation_progress FOR SELECT TO pii_audit USING (true);
GRANT SELECT ON key_rotation_progress TO pii_audit;
