-- 0014 review fixes (issue 19): a per-user account-event stream.

-- Account events (sign-ins, failed sign-ins, second factor, CLI devices, password and provider changes) belong to
-- the user, not to the orgs they are in: an org that adds someone must not learn where and when they sign in.
-- The user reads their own stream (app.user_id); the identity code writes it in platform context, in the same
-- transaction as the platform-chain audit row. Deleting the user deletes their stream (ON DELETE CASCADE);
-- rows older than RAMPART_ACCOUNT_EVENT_RETENTION_DAYS are swept.
CREATE TABLE account_events (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  action      text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,99}$'),
  target      text,
  ip          text,
  user_agent  text,
  meta        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX account_events_user ON account_events (user_id, seq);
CREATE INDEX account_events_at ON account_events (at);
ALTER TABLE account_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_events FORCE ROW LEVEL SECURITY;
CREATE POLICY account_events_owner ON account_events
  USING (user_id = (SELECT rampart_current_user()) OR (SELECT rampart_platform_context()))
  WITH CHECK (user_id = (SELECT rampart_current_user()) OR (SELECT rampart_platform_context()));
GRANT SELECT, INSERT, DELETE ON account_events TO rampart_app;

-- Billing (finding 9): the provider subscription a purchase is bound to (set by subscription_created when its
-- variant is the product's), and when a paid plan lapses to free (grace after a failed renewal payment, the end
-- of a cancelled period). The plan in force is `free` once `plan_until` has passed.
ALTER TABLE billing_nonces ADD COLUMN subscription_id text CHECK (length(subscription_id) BETWEEN 1 AND 200);
ALTER TABLE org_billing ADD COLUMN plan_until timestamptz;
