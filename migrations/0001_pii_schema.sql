-- PII schema of spec/pii-encryption-database-setup.md, with its table, index and view names.
-- Encryption happens in the application (AWS Encryption SDK): pgcrypto would put keys and plaintext
-- into statement logs and pg_stat_statements. The database stores ciphertext (bytea) and metadata only.

-- Level 1 in clear, level 2 encrypted under the KMS key, level 3 encrypted twice under two different keys.
CREATE TABLE users (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),   -- the Cognito sub
    email                   text NOT NULL CHECK (email <> '' AND length(email) <= 320),
    first_name              text,
    last_name               text,
    phone                   text,
    address_encrypted       bytea,
    date_of_birth_encrypted bytea,
    ip_address_encrypted    bytea,
    ssn_encrypted           bytea,
    bank_account_encrypted  bytea,
    credit_card_encrypted   bytea,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- The retention job erases the PII of accounts inactive for longer than retention_policies says.
    last_activity_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX idx_users_email ON users (email);
CREATE INDEX idx_users_created_at ON users (created_at);
CREATE INDEX idx_users_last_activity_at ON users (last_activity_at);

-- Which key (and version) encrypted which field of which user.
CREATE TABLE encryption_metadata (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field_name         text NOT NULL CHECK (field_name IN ('address_encrypted', 'date_of_birth_encrypted', 'ip_address_encrypted',
                                                           'ssn_encrypted', 'bank_account_encrypted', 'credit_card_encrypted')),
    encryption_level   smallint NOT NULL CHECK (encryption_level IN (2, 3)),
    kms_key_id         text NOT NULL,          -- key ARN / alias / local key name of the (inner) layer
    key_version        integer NOT NULL CHECK (key_version > 0),
    outer_kms_key_id   text,                   -- level 3 only: the second, different key
    outer_key_version  integer CHECK (outer_key_version > 0),
    algorithm          text NOT NULL DEFAULT 'AES_256_GCM_HKDF_SHA512_COMMIT_KEY',
    encrypted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((encryption_level = 3) = (outer_kms_key_id IS NOT NULL AND outer_key_version IS NOT NULL)),
    CHECK (encryption_level = 3 OR field_name IN ('address_encrypted', 'date_of_birth_encrypted', 'ip_address_encrypted')),
    CHECK (encryption_level = 2 OR field_name IN ('ssn_encrypted', 'bank_account_encrypted', 'credit_card_encrypted'))
);
CREATE UNIQUE INDEX idx_encryption_metadata_user_field ON encryption_metadata (user_id, field_name);
CREATE INDEX idx_encryption_metadata_level ON encryption_metadata (encryption_level, key_version);

-- Every encrypt / decrypt / access: who, what, when, success, duration. Append-only; never plaintext.
CREATE TABLE encryption_audit (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           uuid,                    -- no foreign key: the trail outlives an erased user
    field_name        text,
    operation         text NOT NULL CHECK (operation IN ('encrypt', 'decrypt', 'access', 're_encrypt', 'key_rotation')),
    encryption_level  smallint CHECK (encryption_level IN (1, 2, 3)),
    kms_key_id        text,
    key_version       integer,
    performed_by      text NOT NULL,           -- application principal (e.g. Lambda name, staff id)
    purpose           text,
    success           boolean NOT NULL,
    error_code        text,
    duration_ms       numeric(10, 3) CHECK (duration_ms >= 0),
    request_id        text,
    db_role           text NOT NULL DEFAULT current_user,  -- not writable by the application (column grants)
    accessed_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idx_encryption_audit_user_time ON encryption_audit (user_id, accessed_at DESC);
CREATE INDEX idx_encryption_audit_operation ON encryption_audit (operation, accessed_at);
CREATE INDEX idx_encryption_audit_accessed_at ON encryption_audit (accessed_at);

-- Key rotation events. Append-only: a rotation's progress is a sequence of rows.
CREATE TABLE key_rotation_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rotation_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    key_type           text NOT NULL CHECK (key_type IN ('level2', 'level3_inner', 'level3_outer', 'local')),
    kms_key_id         text NOT NULL,
    old_key_version    integer CHECK (old_key_version > 0),
    new_key_version    integer NOT NULL CHECK (new_key_version > 0),
    status             text NOT NULL CHECK (status IN ('started', 'in_progress', 'completed', 'failed', 'rolled_back')),
    records_affected   bigint NOT NULL DEFAULT 0 CHECK (records_affected >= 0),
    initiated_by       text NOT NULL,
    error_message      text,
    db_role            text NOT NULL DEFAULT current_user,
    logged_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idx_key_rotation_log_key_type ON key_rotation_log (key_type, logged_at DESC);
CREATE INDEX idx_key_rotation_log_status ON key_rotation_log (status);

CREATE TABLE system_config (
    key          text PRIMARY KEY,
    value        jsonb NOT NULL,
    description  text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT current_user
);
INSERT INTO system_config (key, value, description) VALUES
    ('encryption.algorithm', '"AES_256_GCM_HKDF_SHA512_COMMIT_KEY"', 'AWS Encryption SDK committing suite, no signature'),
    ('encryption.commitment_policy', '"REQUIRE_ENCRYPT_REQUIRE_DECRYPT"', 'key commitment required on encrypt and decrypt'),
    ('encryption.level2.current_key_version', '1', 'key version used for new level-2 ciphertext'),
    ('encryption.level3.current_key_version', '1', 'key version used for new level-3 ciphertext (both layers)'),
    ('encryption.level1_fields', '["email", "first_name", "last_name", "phone"]', 'stored in clear'),
    ('encryption.level2_fields', '["address_encrypted", "date_of_birth_encrypted", "ip_address_encrypted"]', 'one KMS layer'),
    ('encryption.level3_fields', '["ssn_encrypted", "bank_account_encrypted", "credit_card_encrypted"]', 'two layers, two keys'),
    ('deletion.sla', '"1 hour"', 'deadline of a deletion request after it is received (spec SLA)'),
    ('dsr.response_period', '"14 days"', 'due date of disclosure / correction / cessation requests (APPI: without delay)'),
    ('incident.preliminary_report_period', '"3 days"', 'APPI Art. 26 preliminary report: promptly (PPC guidance: about 3-5 days)'),
    ('incident.final_report_period', '"30 days"', 'APPI Art. 26 final report'),
    ('incident.final_report_period_intentional', '"60 days"', 'APPI Art. 26 final report when the breach was intentional (unauthorized purpose)');

CREATE VIEW encryption_stats AS
SELECT encryption_level,
       field_name,
       key_version,
       count(*)                AS fields_encrypted,
       count(DISTINCT user_id) AS users,
       min(encrypted_at)       AS first_encrypted_at,
       max(encrypted_at)       AS last_encrypted_at
FROM encryption_metadata
GROUP BY encryption_level, field_name, key_version;

CREATE VIEW audit_summary AS
SELECT date_trunc('day', accessed_at)::date       AS day,
       operation,
       count(*)                                   AS operations,
       count(*) FILTER (WHERE success)            AS succeeded,
       count(*) FILTER (WHERE NOT success)        AS failed,
       count(DISTINCT user_id)                    AS users,
       round(avg(duration_ms), 3)                 AS avg_duration_ms
FROM encryption_audit
GROUP BY 1, 2;

CREATE VIEW key_rotation_summary AS
SELECT DISTINCT ON (rotation_id)
       rotation_id,
       key_type,
       kms_key_id,
       old_key_version,
       new_key_version,
       status            AS latest_status,
       records_affected,
       initiated_by,
       min(logged_at) OVER (PARTITION BY rotation_id) AS started_at,
       logged_at         AS last_event_at
FROM key_rotation_log
ORDER BY rotation_id, logged_at DESC, id DESC;
