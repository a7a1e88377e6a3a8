-- The APPI data model: consent per purpose with full history, retention policies, deletion requests
-- with the spec's 1-hour SLA, incidents with Art. 26 report deadlines, data-subject requests
-- (Art. 33-35) and third-party provision records (Art. 29-30).

CREATE FUNCTION config_interval(p_key text) RETURNS interval
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT (value #>> '{}')::interval FROM system_config WHERE key = p_key
$$;

-- Purposes a user can consent to (APPI Art. 17/18: use only within the notified purposes;
-- Art. 27/28: third-party and foreign provision need consent).
CREATE TABLE consent_purposes (
    purpose      text PRIMARY KEY CHECK (purpose ~ '^[a-z][a-z0-9_]{1,62}$'),
    description  text NOT NULL,
    required     boolean NOT NULL DEFAULT false,   -- the service cannot be provided without it
    created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO consent_purposes (purpose, description, required) VALUES
    ('privacy_notice', 'acknowledged the privacy notice (purposes of use) at sign-up', true),
    ('service_provision', 'use of personal information to provide the service', true),
    ('marketing_email', 'marketing e-mail', false),
    ('analytics', 'usage analytics', false),
    ('third_party_provision', 'provision to third parties (APPI Art. 27)', false),
    ('cross_border_transfer', 'provision to third parties in a foreign country (APPI Art. 28)', false);

-- Full consent history: every grant and withdrawal is a new row (never updated).
CREATE TABLE consent_records (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose          text NOT NULL REFERENCES consent_purposes (purpose),
    granted          boolean NOT NULL,                  -- true = granted, false = withdrawn
    notice_version   text NOT NULL CHECK (notice_version <> ''),
    actor            text NOT NULL CHECK (actor <> ''),  -- who recorded it: 'user' or a staff / system principal
    source           text NOT NULL DEFAULT 'app',       -- e.g. 'signup', 'settings', 'support'
    idempotency_key  text,                              -- e.g. Cognito event id: a retried trigger records nothing twice
    recorded_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idx_consent_records_user_purpose_time ON consent_records (user_id, purpose, recorded_at DESC, id DESC) INCLUDE (granted);
CREATE UNIQUE INDEX idx_consent_records_idempotency ON consent_records (user_id, purpose, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- "Does user U consent to purpose P now?": the latest record decides; no record means no consent.
-- Runs with the caller's rights, so row-level security applies (another user's consent reads as false).
-- (No SET search_path clause, which would cost a GUC save/restore per call: names are schema-qualified.)
CREATE FUNCTION has_consent(p_user_id uuid, p_purpose text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT c.granted
                     FROM public.consent_records c
                     WHERE c.user_id = p_user_id AND c.purpose = p_purpose
                     ORDER BY c.recorded_at DESC, c.id DESC
                     LIMIT 1), false)
$$;

CREATE VIEW current_consents WITH (security_invoker = true) AS
SELECT DISTINCT ON (user_id, purpose) user_id, purpose, granted, notice_version, actor, source, recorded_at
FROM consent_records
ORDER BY user_id, purpose, recorded_at DESC, id DESC;

-- How long each category of data is kept (APPI Art. 22: erase when no longer needed).
CREATE TABLE retention_policies (
    data_category     text PRIMARY KEY,
    retention_period  interval NOT NULL CHECK (retention_period > interval '0'),
    legal_basis       text NOT NULL,
    description       text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO retention_policies (data_category, retention_period, legal_basis, description) VALUES
    ('user_pii', '3 years', 'APPI Art. 22', 'PII of accounts inactive for longer than this is erased'),
    ('audit_log', '3 years', 'APPI Art. 23 security control measures', 'row-change audit trail'),
    ('encryption_audit', '3 years', 'APPI Art. 23 security control measures', 'encrypt / decrypt / access trail'),
    ('erasure_log', '5 years', 'proof of erasure', 'record that a user''s data was erased (no PII)'),
    ('third_party_provision_records', '3 years', 'APPI Art. 30 / Enforcement Rules Art. 21', 'records of provision to third parties'),
    ('deletion_requests', '5 years', 'proof of handling', 'completed deletion requests');

-- Deletion requests: deadline = received + system_config deletion.sla (1 hour), set by trigger.
CREATE TABLE deletion_requests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL,                -- no foreign key: the request outlives the erased user
    requested_at  timestamptz NOT NULL DEFAULT now(),
    deadline_at   timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'rejected')),
    requested_by  text NOT NULL DEFAULT 'user',
    completed_at  timestamptz,
    rejection_reason text,
    CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL)
);
CREATE INDEX idx_deletion_requests_pending ON deletion_requests (requested_at) WHERE status = 'pending';
CREATE INDEX idx_deletion_requests_user ON deletion_requests (user_id);
CREATE UNIQUE INDEX idx_deletion_requests_one_pending ON deletion_requests (user_id) WHERE status = 'pending';

CREATE FUNCTION deletion_request_deadline() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.deadline_at := NEW.requested_at + coalesce(config_interval('deletion.sla'), interval '1 hour');
    RETURN NEW;
END $$;
CREATE TRIGGER deletion_requests_deadline BEFORE INSERT OR UPDATE OF requested_at ON deletion_requests
    FOR EACH ROW EXECUTE FUNCTION deletion_request_deadline();

-- Data-subject requests (APPI Art. 33 disclosure, 34 correction, 35 cessation of use / provision).
CREATE TABLE data_subject_requests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL,
    request_type  text NOT NULL CHECK (request_type IN ('disclosure', 'disclosure_of_provision_records', 'correction', 'cessation_of_use', 'cessation_of_provision')),
    received_at   timestamptz NOT NULL DEFAULT now(),
    due_at        timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'in_progress', 'completed', 'rejected')),
    responded_at  timestamptz,
    outcome_note  text,                       -- free text: must not contain PII
    CHECK ((status IN ('completed', 'rejected')) = (responded_at IS NOT NULL))
);
CREATE INDEX idx_data_subject_requests_user ON data_subject_requests (user_id, received_at DESC);
CREATE INDEX idx_data_subject_requests_open_due ON data_subject_requests (due_at) WHERE status IN ('received', 'in_progress');

CREATE FUNCTION data_subject_request_due() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.due_at := NEW.received_at + coalesce(config_interval('dsr.response_period'), interval '14 days');
    RETURN NEW;
END $$;
CREATE TRIGGER data_subject_requests_due BEFORE INSERT OR UPDATE OF received_at ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION data_subject_request_due();

-- Security incidents (leaks, loss, damage). Art. 26: report to the PPC (preliminary promptly, final within
-- 30 days, 60 when the breach was done with an unauthorized purpose) and notify the individuals, when the
-- incident involves special care-required information, risk of financial loss, an unauthorized purpose or
-- more than 1,000 people. Data protected by high-level encryption is exempt (safe harbour).
CREATE TABLE incidents (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title                       text NOT NULL CHECK (title <> ''),
    description                 text NOT NULL DEFAULT '',   -- must not contain PII
    occurred_at                 timestamptz,
    detected_at                 timestamptz NOT NULL,
    affected_count              integer NOT NULL CHECK (affected_count >= 0),
    involves_special_care_info  boolean NOT NULL DEFAULT false,
    risk_of_financial_loss      boolean NOT NULL DEFAULT false,
    intentional                 boolean NOT NULL DEFAULT false,  -- unauthorized purpose (e.g. an attack)
    high_level_encryption       boolean NOT NULL DEFAULT false,  -- leaked data was protected by high-level encryption
    report_required             boolean GENERATED ALWAYS AS (
                                    NOT high_level_encryption
                                    AND (involves_special_care_info OR risk_of_financial_loss OR intentional OR affected_count > 1000)
                                ) STORED,
    preliminary_report_due_at   timestamptz NOT NULL,
    final_report_due_at         timestamptz NOT NULL,
    preliminary_reported_at     timestamptz,
    final_reported_at           timestamptz,
    individuals_notified_at     timestamptz,
    status                      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'contained', 'closed')),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (occurred_at IS NULL OR occurred_at <= detected_at)
);
CREATE INDEX idx_incidents_detected_at ON incidents (detected_at DESC);

CREATE FUNCTION incident_deadlines() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.preliminary_report_due_at := NEW.detected_at + coalesce(config_interval('incident.preliminary_report_period'), interval '3 days');
    NEW.final_report_due_at := NEW.detected_at + CASE WHEN NEW.intentional
        THEN coalesce(config_interval('incident.final_report_period_intentional'), interval '60 days')
        ELSE coalesce(config_interval('incident.final_report_period'), interval '30 days') END;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_deadlines BEFORE INSERT OR UPDATE OF detected_at, intentional ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_deadlines();

CREATE VIEW incident_report_status WITH (security_invoker = true) AS
SELECT id, title, detected_at, affected_count, report_required,
       preliminary_report_due_at, final_report_due_at,
       preliminary_reported_at, final_reported_at, individuals_notified_at,
       report_required AND preliminary_reported_at IS NULL AND now() > preliminary_report_due_at AS preliminary_overdue,
       report_required AND final_reported_at IS NULL AND now() > final_report_due_at AS final_overdue,
       CASE WHEN NOT report_required THEN 'not_required'
            WHEN final_reported_at IS NOT NULL THEN 'final_reported'
            WHEN preliminary_reported_at IS NOT NULL THEN 'preliminary_reported'
            ELSE 'not_reported' END AS notification_status
FROM incidents;

-- Records of provision to third parties (Art. 29), kept for the Art. 30 period.
CREATE TABLE third_party_provisions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL,               -- no foreign key: the record must outlive an erased user
    recipient_name   text NOT NULL CHECK (recipient_name <> ''),
    recipient_country text NOT NULL CHECK (recipient_country ~ '^[A-Z]{2}$'),  -- ISO 3166-1 alpha-2
    data_categories  text[] NOT NULL CHECK (cardinality(data_categories) > 0),
    legal_basis      text NOT NULL CHECK (legal_basis IN ('consent', 'law', 'outsourcing', 'business_succession', 'joint_use')),
    consent_record_id bigint,
    provided_at      timestamptz NOT NULL DEFAULT now(),
    retain_until     timestamptz NOT NULL,
    recorded_by      text NOT NULL DEFAULT current_user
);
CREATE INDEX idx_third_party_provisions_user ON third_party_provisions (user_id, provided_at DESC);
CREATE INDEX idx_third_party_provisions_retain_until ON third_party_provisions (retain_until);

CREATE FUNCTION third_party_provision_retention() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.retain_until := NEW.provided_at + coalesce(
        (SELECT retention_period FROM retention_policies WHERE data_category = 'third_party_provision_records'),
        interval '3 years');
    RETURN NEW;
END $$;
CREATE TRIGGER third_party_provisions_retention BEFORE INSERT OR UPDATE OF provided_at ON third_party_provisions
    FOR EACH ROW EXECUTE FUNCTION third_party_provision_retention();

-- Row-change audit trail written by triggers (0003): names of changed columns, never their values.
CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_id          uuid,                       -- whose data; no foreign key: outlives erasure
    table_name       text NOT NULL,
    operation        text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    row_id           text,
    changed_columns  text[],
    db_role          text NOT NULL DEFAULT current_user,
    app_user_id      text,                       -- app.user_id of the session that made the change
    transaction_id   bigint NOT NULL DEFAULT txid_current()
);
CREATE INDEX idx_audit_log_user_time ON audit_log (user_id, occurred_at DESC, id DESC);
CREATE INDEX idx_audit_log_occurred_at ON audit_log (occurred_at);

-- Proof of erasure: which user's data was erased, when and why; no PII.
CREATE TABLE erasure_log (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              uuid NOT NULL,
    reason               text NOT NULL CHECK (reason IN ('deletion_request', 'retention_expired')),
    deletion_request_id  uuid,
    erased_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idx_erasure_log_user ON erasure_log (user_id);
CREATE INDEX idx_erasure_log_erased_at ON erasure_log (erased_at);

-- One row per retention job run: counts only.
CREATE TABLE retention_runs (
    id                            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at                    timestamptz NOT NULL,
    finished_at                   timestamptz NOT NULL DEFAULT clock_timestamp(),
    deletion_requests_completed   integer NOT NULL,
    users_erased_for_retention    integer NOT NULL,
    audit_rows_purged             bigint NOT NULL,
    provision_records_purged      bigint NOT NULL,
    db_role                       text NOT NULL DEFAULT current_user
);
