-- The monthly compliance report (issue 12, `npm run compliance:report`): the aggregates 0012-0014 do not have.
-- Aggregates only, SECURITY DEFINER, readable by the audit role and the compliance job; no user id, no personal
-- data leaves these functions (incident titles and recipients' names are not data subjects' data, 0002).
--   compliance_deletion_summary(from, to, now)   deletion requests received in the period and where they stand
--   compliance_dsr_summary(from, to, now)        data-subject requests (Art. 33-35) by type: received, answered, late, open
--   compliance_incident_timeline(from, to)       incidents detected in the period or still open: the Art. 26 timeline
--   compliance_provision_summary(from, to, now)  provision records (Art. 29-30) of the period by recipient
--   compliance_access_by_hour(from, to, zone)    reads of personal data by local hour of day (the access review's chart)

CREATE FUNCTION compliance_deletion_summary(p_from timestamptz, p_to timestamptz, p_now timestamptz DEFAULT now())
RETURNS TABLE (received bigint, completed bigint, completed_late bigint, rejected bigint, pending bigint,
               pending_overdue bigint, oldest_overdue_minutes bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*),
           count(*) FILTER (WHERE status = 'completed'),
           count(*) FILTER (WHERE status = 'completed' AND completed_at > deadline_at),
           count(*) FILTER (WHERE status = 'rejected'),
           count(*) FILTER (WHERE status = 'pending'),
           count(*) FILTER (WHERE status = 'pending' AND deadline_at < p_now),
           coalesce(floor(extract(epoch FROM p_now - min(deadline_at) FILTER (WHERE status = 'pending' AND deadline_at < p_now)) / 60), 0)::bigint
    FROM deletion_requests
    WHERE requested_at >= p_from AND requested_at < p_to
$$;

-- Received: in the period. Answered / late: answered in the period (whenever received). Open / overdue: at p_now,
-- whenever received before the period's end (a request carried over from last month still counts).
CREATE FUNCTION compliance_dsr_summary(p_from timestamptz, p_to timestamptz, p_now timestamptz DEFAULT now())
RETURNS TABLE (request_type text, received bigint, answered bigint, answered_late bigint, rejected bigint,
               open bigint, overdue bigint, median_response_days numeric, max_response_days numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.request_type,
           count(*) FILTER (WHERE d.received_at >= p_from),
           count(*) FILTER (WHERE d.responded_at >= p_from AND d.responded_at < p_to),
           count(*) FILTER (WHERE d.responded_at >= p_from AND d.responded_at < p_to AND d.responded_at > d.due_at),
           count(*) FILTER (WHERE d.status = 'rejected' AND d.responded_at >= p_from AND d.responded_at < p_to),
           count(*) FILTER (WHERE d.status IN ('received', 'in_progress')),
           count(*) FILTER (WHERE d.status IN ('received', 'in_progress') AND d.due_at < p_now),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.responded_at - d.received_at))
                  FILTER (WHERE d.responded_at >= p_from AND d.responded_at < p_to))::numeric / 86400, 2),
           round(max(extract(epoch FROM d.responded_at - d.received_at))
                  FILTER (WHERE d.responded_at >= p_from AND d.responded_at < p_to) / 86400, 2)
    FROM data_subject_requests d
    WHERE d.received_at < p_to
      AND (d.received_at >= p_from OR d.status IN ('received', 'in_progress') OR d.responded_at >= p_from)
    GROUP BY d.request_type
    ORDER BY d.request_type
$$;

CREATE FUNCTION compliance_incident_timeline(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (incident_id uuid, title text, status text, occurred_at timestamptz, detected_at timestamptz, affected_count integer,
               involves_special_care_info boolean, risk_of_financial_loss boolean, intentional boolean, high_level_encryption boolean,
               report_required boolean, preliminary_report_due_at timestamptz, preliminary_reported_at timestamptz,
               final_report_due_at timestamptz, final_reported_at timestamptz, individuals_notified_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id, i.title, i.status, i.occurred_at, i.detected_at, i.affected_count,
           i.involves_special_care_info, i.risk_of_financial_loss, i.intentional, i.high_level_encryption,
           i.report_required, i.preliminary_report_due_at, i.preliminary_reported_at,
           i.final_report_due_at, i.final_reported_at, i.individuals_notified_at
    FROM incidents i
    WHERE i.detected_at < p_to
      AND (i.detected_at >= p_from OR i.status <> 'closed'
           OR i.preliminary_reported_at >= p_from OR i.final_reported_at >= p_from)
    ORDER BY i.detected_at
$$;

CREATE FUNCTION compliance_provision_summary(p_from timestamptz, p_to timestamptz, p_now timestamptz DEFAULT now())
RETURNS TABLE (recipient_name text, recipient_country text, legal_basis text, records bigint, users bigint,
               data_categories text[], without_consent_record bigint, past_retention bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT p.recipient_name, p.recipient_country, p.legal_basis, count(*), count(DISTINCT p.user_id),
           (SELECT array_agg(DISTINCT c ORDER BY c) FROM third_party_provisions q, unnest(q.data_categories) c
            WHERE q.recipient_name = p.recipient_name AND q.recipient_country = p.recipient_country AND q.legal_basis = p.legal_basis
              AND q.provided_at >= p_from AND q.provided_at < p_to),
           count(*) FILTER (WHERE p.legal_basis = 'consent' AND p.consent_record_id IS NULL),
           count(*) FILTER (WHERE p.retain_until < p_now)
    FROM third_party_provisions p
    WHERE p.provided_at >= p_from AND p.provided_at < p_to
    GROUP BY p.recipient_name, p.recipient_country, p.legal_basis
    ORDER BY count(*) DESC, p.recipient_name
$$;

-- Every hour 0-23 appears (zero reads too), so the chart has 24 bars.
CREATE FUNCTION compliance_access_by_hour(p_from timestamptz, p_to timestamptz, p_time_zone text DEFAULT 'Asia/Tokyo')
RETURNS TABLE (hour integer, reads bigint, failed bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT h.hour, count(e.id), count(e.id) FILTER (WHERE NOT e.success)
    FROM generate_series(0, 23) AS h(hour)
    LEFT JOIN encryption_audit e
      ON e.operation IN ('decrypt', 'access') AND e.accessed_at >= p_from AND e.accessed_at < p_to
     AND extract(hour FROM e.accessed_at AT TIME ZONE p_time_zone)::integer = h.hour
    GROUP BY h.hour ORDER BY h.hour
$$;

REVOKE EXECUTE ON FUNCTION compliance_deletion_summary(timestamptz, timestamptz, timestamptz),
    compliance_dsr_summary(timestamptz, timestamptz, timestamptz), compliance_incident_timeline(timestamptz, timestamptz),
    compliance_provision_summary(timestamptz, timestamptz, timestamptz), compliance_access_by_hour(timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION compliance_deletion_summary(timestamptz, timestamptz, timestamptz),
    compliance_dsr_summary(timestamptz, timestamptz, timestamptz), compliance_incident_timeline(timestamptz, timestamptz),
    compliance_provision_summary(timestamptz, timestamptz, timestamptz), compliance_access_by_hour(timestamptz, timestamptz, text)
    TO pii_audit, compliance_job;
