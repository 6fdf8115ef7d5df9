-- 0035 incident notices (issue 27 part 3): a platform operator mails every owner and admin of chosen orgs (or of
-- every org) through the mail outbox. One notice row, one row per org it went to, and one outbox row per
-- recipient, all written in ONE transaction with the audit rows (one per org chain, one on the platform chain):
-- a crash leaves either the whole notice or nothing.
--
-- Delivery status is counted from the outbox rows, found by `ref->>'noticeId'`. The outbox keeps delivery
-- records for RAMPART_MAIL_RETENTION_DAYS: after that a notice still knows how many recipients it had per org,
-- and the records no longer there are reported as expired.
--
-- Platform tables: only operators (platform context) read or write them. The operator's subject and body are
-- kept (they went to every recipient; no secret belongs in them); recipients' addresses are not: they are only
-- inside the sealed outbox envelopes, which are dropped once each mail is delivered.
CREATE TABLE operator_notices (
  id               uuid PRIMARY KEY,
  subject          text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
  body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
  -- The operator who sent it through the API; NULL when sent with `rampart admin notify` (the database's
  -- own user) or when the operator's account has since been deleted.
  created_by       uuid REFERENCES users(id) ON DELETE SET NULL,
  all_orgs         boolean NOT NULL DEFAULT false,
  org_count        integer NOT NULL CHECK (org_count >= 0),
  recipient_count  integer NOT NULL CHECK (recipient_count >= 0),
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_notices_created ON operator_notices (created_at DESC, id DESC);
ALTER TABLE operator_notices ENABLE ROW LEVEL SECURITY;
ALTER TABLE operator_notices FORCE ROW LEVEL SECURITY;
CREATE POLICY operator_notices_platform ON operator_notices
  USING ((SELECT rampart_platform_context())) WITH CHECK ((SELECT rampart_platform_context()));
GRANT SELECT, INSERT ON operator_notices TO rampart_app;

-- Which orgs a notice went to and how many of their owners and admins it was queued for. The org's hard delete
-- removes its rows (the notice's totals stay).
CREATE TABLE operator_notice_orgs (
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  notice_id   uuid NOT NULL REFERENCES operator_notices(id) ON DELETE CASCADE,
  recipients  integer NOT NULL CHECK (recipients >= 0),
  PRIMARY KEY (org_id, notice_id)
);
CREATE INDEX operator_notice_orgs_notice ON operator_notice_orgs (notice_id);
ALTER TABLE operator_notice_orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE operator_notice_orgs FORCE ROW LEVEL SECURITY;
CREATE POLICY operator_notice_orgs_platform ON operator_notice_orgs
  USING ((SELECT rampart_platform_context())) WITH CHECK ((SELECT rampart_platform_context()));
GRANT SELECT, INSERT ON operator_notice_orgs TO rampart_app;

-- The delivery status of one notice: its outbox rows.
CREATE INDEX mail_outbox_notice ON mail_outbox ((ref->>'noticeId')) WHERE kind = 'incident_notice';
