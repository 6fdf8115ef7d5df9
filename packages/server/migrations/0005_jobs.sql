-- 0005 scheduled HTTP jobs: jobs with sealed header/auth values, run history, alert channels, and the one
-- cross-tenant function the runner uses to find work (ids and times only; the work itself is claimed under RLS).

CREATE TABLE alert_channels (
  id             uuid PRIMARY KEY,
  org_id         uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  type           text NOT NULL CHECK (type IN ('webhook', 'slack', 'email')),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  config         jsonb NOT NULL DEFAULT '{}',   -- non-secret fields only (webhook url, e-mail recipients)
  secret_sealed  text,                          -- webhook signing secret or Slack webhook URL; AAD (org_id, alert_channels, secret_sealed, id)
  secret_masked  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_channels_org ON alert_channels (org_id, created_at);
ALTER TABLE alert_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_channels_tenant ON alert_channels
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_channels TO rampart_app;

CREATE TABLE jobs (
  id                   uuid PRIMARY KEY,
  org_id               uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  schedule             text NOT NULL CHECK (length(schedule) BETWEEN 9 AND 200),
  timezone             text NOT NULL DEFAULT 'UTC',
  url                  text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
  method               text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD')),
  headers_sealed       text,                   -- JSON {name: value}; values may be env:NAME references
  headers_masked       jsonb NOT NULL DEFAULT '{}',
  auth_type            text CHECK (auth_type IN ('bearer', 'basic')),
  auth_sealed          text,
  auth_masked          text,
  body                 text CHECK (length(body) <= 65536),
  timeout_ms           integer NOT NULL CHECK (timeout_ms BETWEEN 100 AND 120000),
  retries              integer NOT NULL CHECK (retries BETWEEN 0 AND 10),
  store_response       boolean NOT NULL DEFAULT false,
  retention_days       integer CHECK (retention_days BETWEEN 1 AND 3650),  -- NULL: the org's retention
  alert_channel_ids    uuid[] NOT NULL DEFAULT '{}',
  alert_after          integer NOT NULL DEFAULT 1 CHECK (alert_after BETWEEN 1 AND 100),
  enabled              boolean NOT NULL DEFAULT true,
  next_run_at          timestamptz,
  consecutive_failures integer NOT NULL DEFAULT 0,
  alert_open           boolean NOT NULL DEFAULT false,  -- a failure alert went out and no recovery yet
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK ((auth_type IS NULL) = (auth_sealed IS NULL))
);
CREATE INDEX jobs_org ON jobs (org_id, created_at);
CREATE INDEX jobs_due ON jobs (next_run_at) WHERE enabled;
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_tenant ON jobs
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO rampart_app;

CREATE TABLE job_runs (
  id             uuid PRIMARY KEY,
  org_id         uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  job_id         uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  scheduled_for  timestamptz NOT NULL,
  status         text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  lease_until    timestamptz,                 -- a running run past its lease was abandoned by a dead node
  duration_ms    integer,
  attempts       integer NOT NULL DEFAULT 0,
  http_status    integer,
  error          text CHECK (length(error) <= 500),
  snippet        text CHECK (length(snippet) <= 8192)
);
CREATE INDEX job_runs_org ON job_runs (org_id, job_id, scheduled_for DESC);
CREATE INDEX job_runs_age ON job_runs (org_id, created_at);
CREATE INDEX job_runs_job ON job_runs (job_id);
CREATE INDEX job_runs_pending ON job_runs (status, lease_until) WHERE status IN ('queued', 'running');
-- Exactly once per scheduled slot, whatever the runners do.
CREATE UNIQUE INDEX job_runs_slot ON job_runs (job_id, scheduled_for) WHERE trigger = 'schedule';
ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY job_runs_tenant ON job_runs
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON job_runs TO rampart_app;

-- Work discovery for the runner, before any org is known. Returns ids only: 'due' jobs (next_run_at passed),
-- 'queued' manual runs and 'stale' runs whose lease expired. Nothing is locked here: each runner claims its
-- share inside the org's own context with FOR UPDATE SKIP LOCKED / compare-and-set updates, under RLS.
CREATE OR REPLACE FUNCTION rampart_job_work(p_now timestamptz, p_limit integer)
  RETURNS TABLE (kind text, org_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  (SELECT 'due', j.org_id, j.id FROM jobs j WHERE j.enabled AND j.next_run_at <= p_now
    ORDER BY j.next_run_at LIMIT p_limit)
  UNION ALL
  (SELECT 'queued', r.org_id, r.id FROM job_runs r WHERE r.status = 'queued' ORDER BY r.created_at LIMIT p_limit)
  UNION ALL
  (SELECT 'stale', r.org_id, r.id FROM job_runs r WHERE r.status = 'running' AND r.lease_until < p_now
    LIMIT p_limit)
$$;
REVOKE ALL ON FUNCTION rampart_job_work(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_job_work(timestamptz, integer) TO rampart_app;
