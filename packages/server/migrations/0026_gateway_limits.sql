-- 0026 gateway limits and budgets (issue 24 §2). Per org and per API key: requests per minute, tokens per minute
-- and a monthly spend budget (micro-USD, UTC calendar month); NULL = unlimited. A price table per provider
-- (model -> USD per million input/output tokens; models not listed fall back to the built-in defaults).
-- gateway_usage: one row per gateway call (tokens, cost, status, latency), the source of spend and of usage views.
-- gateway_counters: the limit counters when there is no Redis (REDIS_URL unset): one row per (scope, kind),
-- updated in one transaction with row locks, so concurrent calls never both pass on the last unit.
ALTER TABLE orgs ADD COLUMN gw_rpm integer CHECK (gw_rpm >= 0);
ALTER TABLE orgs ADD COLUMN gw_tpm bigint CHECK (gw_tpm >= 0);
ALTER TABLE orgs ADD COLUMN gw_budget_micros bigint CHECK (gw_budget_micros >= 0);
ALTER TABLE api_keys ADD COLUMN gw_rpm integer CHECK (gw_rpm >= 0);
ALTER TABLE api_keys ADD COLUMN gw_tpm bigint CHECK (gw_tpm >= 0);
ALTER TABLE api_keys ADD COLUMN gw_budget_micros bigint CHECK (gw_budget_micros >= 0);
ALTER TABLE llm_providers ADD COLUMN prices jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE TABLE gateway_usage (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id             uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  api_key_id         uuid,                   -- no FK: a revoked or deleted key's usage stays countable
  model              text NOT NULL CHECK (length(model) <= 200),
  provider_id        uuid,
  prompt_tokens      bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
  completion_tokens  bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
  cost_micros        bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
  status             integer NOT NULL,
  latency_ms         integer NOT NULL CHECK (latency_ms >= 0),
  at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_usage_org_at ON gateway_usage (org_id, at);
CREATE INDEX gateway_usage_org_key_at ON gateway_usage (org_id, api_key_id, at);
ALTER TABLE gateway_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE gateway_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY gateway_usage_tenant ON gateway_usage
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, DELETE ON gateway_usage TO rampart_app;

-- scope: 'org' or the API key id; kind: 'rpm' | 'tpm' (window_start: the minute window's start, fixed from its
-- first call) | 'spend' (window_start: the first instant of the UTC month).
CREATE TABLE gateway_counters (
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  scope         text NOT NULL CHECK (length(scope) <= 40),
  kind          text NOT NULL CHECK (kind IN ('rpm', 'tpm', 'spend')),
  window_start  timestamptz NOT NULL,
  value         bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, scope, kind)
);
ALTER TABLE gateway_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE gateway_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY gateway_counters_tenant ON gateway_counters
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_counters TO rampart_app;
