-- 0028 hourly usage rollup (issue 24 §4): GET /api/orgs/:orgId/usage reads this table, not gateway_usage, so a
-- month of 1M calls answers in tens of milliseconds (docs/PERFORMANCE.md, gateway-usage). One row per
-- (org, UTC hour, API key, model, provider); GatewayLimits' batch writer upserts it in the same transaction as
-- the gateway_usage rows it sums, so the two never disagree. gateway_usage_daily is the same per UTC day: a
-- report reads whole days there and only the partial days at the window's edges from the hourly table, so a
-- month is ~30 rows per combination instead of ~720.
-- latency_hist: 77 bucket counts (latency_ms), bucket i (0-based) counting [bound(i-1), bound(i)) where the
-- bounds are the array in rampart_latency_bucket below (bucket 0: under 1 ms; 1 ms steps to 8 ms, then four
-- linear steps per power of two, so a bucket is at most 25 % of its lower bound wide; the last counts 2^20 ms
-- (17.5 min) and over). Percentiles read from it are exact to one bucket. Must match gateway/usage.ts.
CREATE FUNCTION rampart_latency_bucket(ms integer) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT width_bucket(ms, '{1,2,3,4,5,6,7,8,10,12,14,16,20,24,28,32,40,48,56,64,80,96,112,128,160,192,224,256,320,384,448,512,640,768,896,1024,1280,1536,1792,2048,2560,3072,3584,4096,5120,6144,7168,8192,10240,12288,14336,16384,20480,24576,28672,32768,40960,49152,57344,65536,81920,98304,114688,131072,163840,196608,229376,262144,327680,393216,458752,524288,655360,786432,917504,1048576}'::integer[]) $$;

CREATE TABLE gateway_usage_hourly (
  org_id             uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  hour               timestamptz NOT NULL,   -- date_trunc('hour', at) in UTC
  api_key_id         uuid,
  model              text NOT NULL CHECK (length(model) <= 200),
  provider_id        uuid,
  requests           bigint NOT NULL DEFAULT 0,
  prompt_tokens      bigint NOT NULL DEFAULT 0,
  completion_tokens  bigint NOT NULL DEFAULT 0,
  cost_micros        bigint NOT NULL DEFAULT 0,
  errors             bigint NOT NULL DEFAULT 0,  -- status >= 400, or 0 (no answer)
  latency_hist       integer[] NOT NULL CHECK (cardinality(latency_hist) = 77),
  CONSTRAINT gateway_usage_hourly_key UNIQUE NULLS NOT DISTINCT (org_id, hour, api_key_id, model, provider_id)
);
ALTER TABLE gateway_usage_hourly ENABLE ROW LEVEL SECURITY;
CREATE POLICY gateway_usage_hourly_tenant ON gateway_usage_hourly
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_usage_hourly TO rampart_app;

CREATE TABLE gateway_usage_daily (
  org_id             uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  day                timestamptz NOT NULL,   -- date_trunc('day', at) in UTC
  api_key_id         uuid,
  model              text NOT NULL CHECK (length(model) <= 200),
  provider_id        uuid,
  requests           bigint NOT NULL DEFAULT 0,
  prompt_tokens      bigint NOT NULL DEFAULT 0,
  completion_tokens  bigint NOT NULL DEFAULT 0,
  cost_micros        bigint NOT NULL DEFAULT 0,
  errors             bigint NOT NULL DEFAULT 0,  -- status >= 400, or 0 (no answer)
  latency_hist       integer[] NOT NULL CHECK (cardinality(latency_hist) = 77),
  CONSTRAINT gateway_usage_daily_key UNIQUE NULLS NOT DISTINCT (org_id, day, api_key_id, model, provider_id)
);
ALTER TABLE gateway_usage_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY gateway_usage_daily_tenant ON gateway_usage_daily
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_usage_daily TO rampart_app;

-- Backfill from the rows written before this migration. All three tables FORCE row-level security once done; until
-- then their owner (the migrating role) reads every org.
ALTER TABLE gateway_usage NO FORCE ROW LEVEL SECURITY;
INSERT INTO gateway_usage_hourly (org_id, hour, api_key_id, model, provider_id, requests, prompt_tokens,
                                  completion_tokens, cost_micros, errors, latency_hist)
SELECT org_id, hour, api_key_id, model, provider_id, requests, p, c, cost, e,
       ARRAY(SELECT coalesce((SELECT sum(h.n) FROM unnest(bs, ns) AS h(b, n) WHERE h.b = i), 0)::integer
               FROM generate_series(0, 76) AS i ORDER BY i)
  FROM (SELECT org_id, hour, api_key_id, model, provider_id, sum(n) AS requests, sum(p) AS p, sum(c) AS c,
               sum(cost) AS cost, sum(e) AS e, array_agg(b) AS bs, array_agg(n) AS ns
          FROM (SELECT org_id, date_trunc('hour', at, 'UTC') AS hour, api_key_id, model, provider_id,
                       rampart_latency_bucket(latency_ms) AS b, count(*) AS n, sum(prompt_tokens) AS p,
                       sum(completion_tokens) AS c, sum(cost_micros) AS cost,
                       count(*) FILTER (WHERE status >= 400 OR status = 0) AS e
                  FROM gateway_usage GROUP BY 1, 2, 3, 4, 5, 6) AS per_bucket
         GROUP BY org_id, hour, api_key_id, model, provider_id) AS per_group;
INSERT INTO gateway_usage_daily (org_id, day, api_key_id, model, provider_id, requests, prompt_tokens,
                                  completion_tokens, cost_micros, errors, latency_hist)
SELECT org_id, hour, api_key_id, model, provider_id, requests, p, c, cost, e,
       ARRAY(SELECT coalesce((SELECT sum(h.n) FROM unnest(bs, ns) AS h(b, n) WHERE h.b = i), 0)::integer
               FROM generate_series(0, 76) AS i ORDER BY i)
  FROM (SELECT org_id, hour, api_key_id, model, provider_id, sum(n) AS requests, sum(p) AS p, sum(c) AS c,
               sum(cost) AS cost, sum(e) AS e, array_agg(b) AS bs, array_agg(n) AS ns
          FROM (SELECT org_id, date_trunc('day', at, 'UTC') AS hour, api_key_id, model, provider_id,
                       rampart_latency_bucket(latency_ms) AS b, count(*) AS n, sum(prompt_tokens) AS p,
                       sum(completion_tokens) AS c, sum(cost_micros) AS cost,
                       count(*) FILTER (WHERE status >= 400 OR status = 0) AS e
                  FROM gateway_usage GROUP BY 1, 2, 3, 4, 5, 6) AS per_bucket
         GROUP BY org_id, hour, api_key_id, model, provider_id) AS per_group;
ALTER TABLE gateway_usage FORCE ROW LEVEL SECURITY;
ALTER TABLE gateway_usage_hourly FORCE ROW LEVEL SECURITY;
ALTER TABLE gateway_usage_daily FORCE ROW LEVEL SECURITY;
