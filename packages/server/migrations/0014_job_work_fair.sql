-- 0014 Fair work discovery for the job runner (issue 19, finding 7).
--
-- rampart_job_work listed due jobs and queued manual runs oldest first across every org, so one org with many
-- queued runs (40 manual runs at a host that never answers) filled every candidate and, once claimed, every
-- runner slot; another org's every-minute job waited behind them for a whole timeout and skipped a slot.
--
-- Now each kind is ranked within its org and listed rank by rank: every org's first due job (or queued run)
-- comes before any org's second, and no org contributes more than p_per_org candidates of a kind (the runner
-- passes its per-org in-flight cap, so it is offered no more of one org than it could start). Stale runs are
-- unchanged: marking them failed is cheap and sends nothing.
DROP FUNCTION rampart_job_work(timestamptz, integer);

CREATE FUNCTION rampart_job_work(p_now timestamptz, p_limit integer, p_per_org integer)
  RETURNS TABLE (kind text, org_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  (SELECT 'due', d.org_id, d.id FROM (
     SELECT j.org_id, j.id, j.next_run_at,
            row_number() OVER (PARTITION BY j.org_id ORDER BY j.next_run_at, j.id) AS rank
       FROM jobs j WHERE j.enabled AND j.next_run_at <= p_now) d
    WHERE d.rank <= p_per_org ORDER BY d.rank, d.next_run_at LIMIT p_limit)
  UNION ALL
  (SELECT 'queued', q.org_id, q.id FROM (
     SELECT r.org_id, r.id, r.created_at,
            row_number() OVER (PARTITION BY r.org_id ORDER BY r.created_at, r.id) AS rank
       FROM job_runs r WHERE r.status = 'queued') q
    WHERE q.rank <= p_per_org ORDER BY q.rank, q.created_at LIMIT p_limit)
  UNION ALL
  (SELECT 'stale', r.org_id, r.id FROM job_runs r WHERE r.status = 'running' AND r.lease_until < p_now
    LIMIT p_limit)
$$;
REVOKE ALL ON FUNCTION rampart_job_work(timestamptz, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_job_work(timestamptz, integer, integer) TO rampart_app;
