-- 0016 mail outbox (issue 20): e-mail is written in the same transaction as the action that causes it, and a
-- worker on any node delivers it with retries. Rows are claimed with FOR UPDATE SKIP LOCKED under a lease, so
-- several nodes deliver each message once (at least once if a node dies between the SMTP server's 250 and the
-- UPDATE that records it).
--
-- The rendered message (recipient, subject, text, HTML) is a seal envelope: reset, verification and invitation
-- links are bearer secrets and must not sit in the database in plaintext. It is dropped once the message is sent
-- or has failed for good; the row stays as the delivery record (kind, status, attempts, last error).
CREATE TABLE mail_outbox (
  id               uuid PRIMARY KEY,
  kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,49}$'),
  org_id           uuid REFERENCES orgs(id) ON DELETE CASCADE,
  user_id          uuid REFERENCES users(id) ON DELETE SET NULL,
  -- What the mail is about, for the outcome's audit row (job alerts: {"jobId","channelId","alert","runId"}).
  ref              jsonb NOT NULL DEFAULT '{}',
  -- The recipient for operators, masked (j***@example.com): the full address is inside the envelope.
  to_masked        text NOT NULL,
  payload_sealed   text,
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  locked_until     timestamptz,
  last_error       text CHECK (length(last_error) <= 500),
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  failed_at        timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX mail_outbox_status ON mail_outbox (status, created_at);
CREATE INDEX mail_outbox_org ON mail_outbox (org_id) WHERE org_id IS NOT NULL;
-- Platform-only reads. An org's transaction may enqueue its own mail (job alerts are decided there) but never
-- read the outbox: another org's alert recipients are not its business.
ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY mail_outbox_platform ON mail_outbox
  USING ((SELECT rampart_platform_context()))
  WITH CHECK ((SELECT rampart_platform_context()) OR org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON mail_outbox TO rampart_app;
