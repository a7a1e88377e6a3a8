-- Compliance facts are the server's, not the application's:
--  - timestamps (recorded_at, requested_at, received_at, provided_at, completed_at, responded_at, report times)
--    and actors come from the server clock and the session's verified identity / login role when an
--    application role writes; the schema owner (migrations, retention job, restores) keeps what it writes;
--  - the latest consent is decided by server order (the identity column), never by a timestamp;
--  - status changes follow state machines listed in status_transitions (refused otherwise, for every role);
--  - changes to incidents and to configuration leave audit_log records like user tables do.

-- True when the logged-in role may set compliance facts itself: a member of the table's owner (or a
-- superuser). session_user, not current_user: the trigger functions below run as the owner (SECURITY DEFINER).
CREATE FUNCTION writer_is_owner(p_table regclass) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_has_role(session_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = p_table), 'MEMBER')
$$;
REVOKE EXECUTE ON FUNCTION writer_is_owner(regclass) FROM PUBLIC;

-- Who acts: the verified user, else the login role.
CREATE FUNCTION acting_principal() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce('user:' || app_current_user_id()::text, session_user::text)
$$;
REVOKE EXECUTE ON FUNCTION acting_principal() FROM PUBLIC;

-- Consent: recorded_at and actor are the server's; history is never rewritten (erasure deletes whole users).
CREATE FUNCTION consent_record_server_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'consent history is append-only: record a new grant or withdrawal instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT writer_is_owner(TG_RELID) THEN
        NEW.recorded_at := clock_timestamp();
        NEW.actor := CASE WHEN NEW.user_id = app_current_user_id() THEN 'user' ELSE acting_principal() END;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER consent_records_0_server_facts BEFORE INSERT OR UPDATE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION consent_record_server_facts();

-- Server order: the newest row (highest id) decides; a future-dated grant cannot shadow a later withdrawal.
CREATE INDEX idx_consent_records_user_purpose_order ON consent_records (user_id, purpose, id DESC) INCLUDE (granted);
CREATE OR REPLACE FUNCTION has_consent(p_user_id uuid, p_purpose text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT c.granted
                     FROM public.consent_records c
                     WHERE c.user_id = p_user_id AND c.purpose = p_purpose
                     ORDER BY c.id DESC
                     LIMIT 1), false)
$$;
CREATE OR REPLACE VIEW current_consents WITH (security_invoker = true) AS
SELECT DISTINCT ON (user_id, purpose) user_id, purpose, granted, notice_version, actor, source, recorded_at
FROM consent_records
ORDER BY user_id, purpose, id DESC;

-- Triggers fire in name order: the *_0_server_facts triggers run before the deadline triggers that read
-- the timestamps they set.

-- State machines: (machine, from, to). Another migration may add transitions (and states) by inserting rows.
CREATE TABLE status_transitions (
    machine     text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (machine, from_status, to_status)
);
INSERT INTO status_transitions (machine, from_status, to_status) VALUES
    ('deletion_requests', 'pending', 'completed'),
    ('deletion_requests', 'pending', 'rejected'),
    ('data_subject_requests', 'received', 'in_progress'),
    ('data_subject_requests', 'received', 'completed'),
    ('data_subject_requests', 'received', 'rejected'),
    ('data_subject_requests', 'in_progress', 'completed'),
    ('data_subject_requests', 'in_progress', 'rejected'),
    ('incidents', 'open', 'contained'),
    ('incidents', 'open', 'closed'),
    ('incidents', 'contained', 'closed');
REVOKE ALL ON status_transitions FROM PUBLIC;
GRANT SELECT ON status_transitions TO pii_read, pii_write, pii_audit;

CREATE FUNCTION check_status_transition() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM status_transitions WHERE machine = TG_TABLE_NAME AND from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION '%: status % cannot change to %', TG_TABLE_NAME, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', HINT = 'allowed transitions are listed in status_transitions';
    END IF;
    RETURN NEW;
END $$;

-- Deletion requests: received now, by the acting principal; completed_at when it completes.
CREATE FUNCTION deletion_request_server_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    owner boolean := writer_is_owner(TG_RELID);
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT owner THEN
            NEW.requested_at := now();
            NEW.requested_by := acting_principal();
            NEW.completed_at := NULL;
        END IF;
    ELSE
        IF NOT owner AND (NEW.requested_at, NEW.requested_by, NEW.user_id) IS DISTINCT FROM (OLD.requested_at, OLD.requested_by, OLD.user_id) THEN
            RAISE EXCEPTION 'deletion_requests: requested_at, requested_by and user_id are fixed when the request is received'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status = 'completed' THEN
            NEW.completed_at := clock_timestamp();
        ELSIF NOT owner THEN
            NEW.completed_at := OLD.completed_at;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deletion_requests_0_server_facts BEFORE INSERT OR UPDATE ON deletion_requests
    FOR EACH ROW EXECUTE FUNCTION deletion_request_server_facts();
CREATE TRIGGER deletion_requests_status_transition BEFORE UPDATE OF status ON deletion_requests
    FOR EACH ROW EXECUTE FUNCTION check_status_transition();
-- The deadline follows requested_at on every insert or update, whatever the row says (0002's trigger fired
-- only on UPDATE OF requested_at).
DROP TRIGGER deletion_requests_deadline ON deletion_requests;
CREATE TRIGGER deletion_requests_deadline BEFORE INSERT OR UPDATE ON deletion_requests
    FOR EACH ROW EXECUTE FUNCTION deletion_request_deadline();

-- Data-subject requests: received now; responded_at when answered (completed / rejected).
CREATE FUNCTION data_subject_request_server_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    owner boolean := writer_is_owner(TG_RELID);
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT owner THEN
            NEW.received_at := now();
            NEW.responded_at := NULL;
        END IF;
    ELSE
        IF NOT owner AND (NEW.received_at, NEW.user_id, NEW.request_type) IS DISTINCT FROM (OLD.received_at, OLD.user_id, OLD.request_type) THEN
            RAISE EXCEPTION 'data_subject_requests: received_at, user_id and request_type are fixed when the request is received'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('completed', 'rejected') THEN
            NEW.responded_at := clock_timestamp();
        ELSIF NOT owner THEN
            NEW.responded_at := OLD.responded_at;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER data_subject_requests_0_server_facts BEFORE INSERT OR UPDATE ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION data_subject_request_server_facts();
CREATE TRIGGER data_subject_requests_status_transition BEFORE UPDATE OF status ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION check_status_transition();
DROP TRIGGER data_subject_requests_due ON data_subject_requests;
CREATE TRIGGER data_subject_requests_due BEFORE INSERT OR UPDATE ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION data_subject_request_due();

-- Third-party provision records: provided now, recorded by the login role.
CREATE FUNCTION third_party_provision_server_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT writer_is_owner(TG_RELID) THEN
        NEW.provided_at := now();
        NEW.recorded_by := acting_principal();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER third_party_provisions_0_server_facts BEFORE INSERT ON third_party_provisions
    FOR EACH ROW EXECUTE FUNCTION third_party_provision_server_facts();
DROP TRIGGER third_party_provisions_retention ON third_party_provisions;
CREATE TRIGGER third_party_provisions_retention BEFORE INSERT OR UPDATE ON third_party_provisions
    FOR EACH ROW EXECUTE FUNCTION third_party_provision_retention();

-- Incidents: created now; detected_at not in the future and fixed once recorded; a report or notification
-- time is the server's when it is first recorded, and never changes afterwards; a reportable incident
-- closes only after its final report. Deadlines follow detected_at on every write.
CREATE FUNCTION incident_server_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    owner boolean := writer_is_owner(TG_RELID);
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT owner THEN
            NEW.created_at := now();
            IF NEW.detected_at > now() THEN
                RAISE EXCEPTION 'incidents: detected_at cannot be in the future' USING ERRCODE = 'check_violation';
            END IF;
            NEW.preliminary_reported_at := CASE WHEN NEW.preliminary_reported_at IS NULL THEN NULL ELSE clock_timestamp() END;
            NEW.final_reported_at := CASE WHEN NEW.final_reported_at IS NULL THEN NULL ELSE clock_timestamp() END;
            NEW.individuals_notified_at := CASE WHEN NEW.individuals_notified_at IS NULL THEN NULL ELSE clock_timestamp() END;
        END IF;
    ELSE
        IF NOT owner THEN
            IF (NEW.detected_at, NEW.created_at) IS DISTINCT FROM (OLD.detected_at, OLD.created_at) THEN
                RAISE EXCEPTION 'incidents: detected_at and created_at are fixed once recorded' USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF (OLD.preliminary_reported_at IS NOT NULL AND NEW.preliminary_reported_at IS DISTINCT FROM OLD.preliminary_reported_at)
               OR (OLD.final_reported_at IS NOT NULL AND NEW.final_reported_at IS DISTINCT FROM OLD.final_reported_at)
               OR (OLD.individuals_notified_at IS NOT NULL AND NEW.individuals_notified_at IS DISTINCT FROM OLD.individuals_notified_at) THEN
                RAISE EXCEPTION 'incidents: a recorded report or notification time cannot be changed' USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF OLD.preliminary_reported_at IS NULL AND NEW.preliminary_reported_at IS NOT NULL THEN NEW.preliminary_reported_at := clock_timestamp(); END IF;
            IF OLD.final_reported_at IS NULL AND NEW.final_reported_at IS NOT NULL THEN NEW.final_reported_at := clock_timestamp(); END IF;
            IF OLD.individuals_notified_at IS NULL AND NEW.individuals_notified_at IS NOT NULL THEN NEW.individuals_notified_at := clock_timestamp(); END IF;
        END IF;
        IF NEW.status = 'closed' AND OLD.status <> 'closed' AND NEW.final_reported_at IS NULL
           AND NOT NEW.high_level_encryption
           AND (NEW.involves_special_care_info OR NEW.risk_of_financial_loss OR NEW.intentional OR NEW.affected_count > 1000) THEN
            RAISE EXCEPTION 'incidents: a reportable incident closes only after its final report (APPI Art. 26)' USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_0_server_facts BEFORE INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_server_facts();
CREATE TRIGGER incidents_status_transition BEFORE UPDATE OF status ON incidents
    FOR EACH ROW EXECUTE FUNCTION check_status_transition();
DROP TRIGGER incidents_deadlines ON incidents;
CREATE TRIGGER incidents_deadlines BEFORE INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_deadlines();

-- Every change by any role leaves an audit record: incidents and configuration too (column names only).
CREATE TRIGGER incidents_audit AFTER INSERT OR UPDATE OR DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('no_user_column', 'id');
CREATE TRIGGER system_config_audit AFTER INSERT OR UPDATE OR DELETE ON system_config
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('no_user_column', 'key');
CREATE TRIGGER retention_policies_audit AFTER INSERT OR UPDATE OR DELETE ON retention_policies
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('no_user_column', 'data_category');
CREATE TRIGGER consent_purposes_audit AFTER INSERT OR UPDATE OR DELETE ON consent_purposes
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('no_user_column', 'purpose');
CREATE TRIGGER status_transitions_audit AFTER INSERT OR UPDATE OR DELETE ON status_transitions
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('no_user_column', 'machine');
CREATE TRIGGER app_identity_secret_audit AFTER INSERT OR UPDATE OR DELETE ON app_identity_secret
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('no_user_column', 'singleton');
