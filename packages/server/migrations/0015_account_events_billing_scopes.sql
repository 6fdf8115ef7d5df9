-- 0015 review fixes (issue 19): a per-user account-event stream.

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

-- API key scopes (review low item): what a key may do. The default is what every key could do before scopes
-- existed (the gateway, database queries, skill publishing), so existing keys and clients keep working;
-- publishing also needs the key's creator to still hold skills.publish in the org (checked by the server).
ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL DEFAULT ARRAY['gateway', 'db.query', 'skills.publish']
  CHECK (cardinality(scopes) BETWEEN 1 AND 10 AND scopes <@ ARRAY['gateway', 'db.query', 'skills.publish', 'audit.read']);
-- The lookup returns the scopes and the creator too (a new return type needs a new function).
DROP FUNCTION rampart_find_api_key(text);
CREATE FUNCTION rampart_find_api_key(p_hash text)
  RETURNS TABLE (id uuid, org_id uuid, redaction text, region text, revoked boolean, last_used_at timestamptz,
                 scopes text[], created_by uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.id, k.org_id, k.redaction, k.region, k.revoked_at IS NOT NULL, k.last_used_at, k.scopes, k.created_by
          FROM api_keys k WHERE k.key_hash = p_hash $$;
REVOKE ALL ON FUNCTION rampart_find_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_find_api_key(text) TO rampart_app;
