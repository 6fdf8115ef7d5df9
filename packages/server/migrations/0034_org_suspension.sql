-- 0034 org suspension (issue 27 part 2): an operator suspends an org (abuse, non-payment, an incident) with a
-- typed reason. While suspended_at is set, the org's API keys, runtime tokens, widgets and database agents are
-- refused with 403 org_suspended, its scheduled jobs and queued manual runs are not claimed, and members may read
-- but not write. orgs is a platform table (no RLS): the authenticator, the widget lookup and the runner read
-- these columns next to the credential they resolve.
ALTER TABLE orgs ADD COLUMN suspended_at timestamptz;
ALTER TABLE orgs ADD COLUMN suspended_reason text CHECK (length(suspended_reason) BETWEEN 10 AND 500);
ALTER TABLE orgs ADD COLUMN suspended_by uuid REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE orgs ADD CONSTRAINT orgs_suspension_whole
  CHECK ((suspended_at IS NULL) = (suspended_reason IS NULL));

-- Work discovery skips suspended orgs: their due jobs and queued manual runs wait (a due job runs once, for its
-- earliest missed slot, after a resume, as after any outage). Stale runs are still marked failed.
CREATE OR REPLACE FUNCTION rampart_job_work(p_now timestamptz, p_limit integer, p_per_org integer)
  RETURNS TABLE (kind text, org_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  (SELECT 'due', d.org_id, d.id FROM (
     SELECT j.org_id, j.id, j.next_run_at,
            row_number() OVER (PARTITION BY j.org_id ORDER BY j.next_run_at, j.id) AS rank
       FROM jobs j WHERE j.enabled AND j.next_run_at <= p_now
        AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = j.org_id AND o.suspended_at IS NOT NULL)) d
    WHERE d.rank <= p_per_org ORDER BY d.rank, d.next_run_at LIMIT p_limit)
  UNION ALL
  (SELECT 'queued', q.org_id, q.id FROM (
     SELECT r.org_id, r.id, r.created_at,
            row_number() OVER (PARTITION BY r.org_id ORDER BY r.created_at, r.id) AS rank
       FROM job_runs r WHERE r.status = 'queued'
        AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = r.org_id AND o.suspended_at IS NOT NULL)) q
    WHERE q.rank <= p_per_org ORDER BY q.rank, q.created_at LIMIT p_limit)
  UNION ALL
  (SELECT 'stale', r.org_id, r.id FROM job_runs r WHERE r.status = 'running' AND r.lease_until < p_now
    LIMIT p_limit)
$$;
REVOKE ALL ON FUNCTION rampart_job_work(timestamptz, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_job_work(timestamptz, integer, integer) TO rampart_app;

-- A forced password reset (operator support action) ends every sign-in of the user with its own reason.
ALTER TABLE refresh_families DROP CONSTRAINT refresh_families_revoked_reason_check;
ALTER TABLE refresh_families ADD CONSTRAINT refresh_families_revoked_reason_check
  CHECK (revoked_reason IN ('logout', 'reuse', 'password_reset'));
