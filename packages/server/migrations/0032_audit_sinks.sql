-- 0032 audit sinks (issue 26 part 2): each org streams its audit log to its SIEM, an HTTPS endpoint receiving
-- NDJSON batches signed as Standard Webhooks, or a syslog receiver over TLS (RFC 5424 messages, RFC 5425
-- octet-counting framing). One row per sink holds its delivery state:
-- - cursor_seq: the last audit seq of the org delivered and acknowledged. It advances only in the transaction
--   that records a batch's success, so a restart resumes exactly after it (no gap, no duplicate beyond the
--   batch in flight when a node died, which is re-sent with the same batch id: at least once, with ids);
-- - batch_last_seq: the batch in flight (cursor_seq + 1 .. batch_last_seq), fixed before the first send so every
--   retry of it carries the same rows and the same id;
-- - locked_until / lease_id: the claim of the node delivering now (FOR UPDATE SKIP LOCKED, then a lease), so two
--   nodes never deliver one sink at once; lease_id fences the writes of a node whose lease was taken over;
-- - attempts / next_attempt_at / last_error*: retries with exponential back-off; a failing sink never holds up
--   audit writes (delivery reads the log, it never locks it).
-- The https signing secret (whsec_) is a seal envelope; AAD (org_id, audit_sinks, secret_sealed, id).
CREATE TABLE audit_sinks (
  id                uuid PRIMARY KEY,
  org_id            uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  kind              text NOT NULL CHECK (kind IN ('https', 'syslog')),
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  config            jsonb NOT NULL DEFAULT '{}',   -- non-secret: https url; syslog host and port
  secret_sealed     text,
  secret_masked     text,
  cursor_seq        bigint NOT NULL DEFAULT 0 CHECK (cursor_seq >= 0),
  batch_last_seq    bigint CHECK (batch_last_seq > cursor_seq),
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  locked_until      timestamptz,
  lease_id          uuid,
  last_error        text CHECK (length(last_error) <= 500),
  last_error_at     timestamptz,
  last_success_at   timestamptz,
  anchored_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_sinks_org ON audit_sinks (org_id, created_at);
CREATE INDEX audit_sinks_due ON audit_sinks (next_attempt_at);
ALTER TABLE audit_sinks ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_sinks FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_sinks_tenant ON audit_sinks
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
-- The delivery worker finds due sinks of every org and claims them in platform context (like the mail outbox);
-- it reads the audit rows and records success in the org's own context.
CREATE POLICY audit_sinks_platform ON audit_sinks
  USING ((SELECT rampart_platform_context())) WITH CHECK ((SELECT rampart_platform_context()));
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_sinks TO rampart_app;
