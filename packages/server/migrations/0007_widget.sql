-- 0007 chat widget: widgets with allowed origins, knowledge documents and full-text-indexed chunks, visitor
-- sessions with HMAC'd IPs, plans and usage counters with guarded single-statement admission, billing nonces.

-- The plan and the counters that quotas are checked against. A tenant table (not columns on orgs, which the
-- settings route may update): only the billing webhook path changes `plan` and `message_credits`.
CREATE TABLE org_billing (
  org_id           uuid PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  plan             text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'business')),
  message_credits  integer NOT NULL DEFAULT 0 CHECK (message_credits >= 0),
  knowledge_bytes  bigint NOT NULL DEFAULT 0 CHECK (knowledge_bytes >= 0),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE org_billing ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_billing FORCE ROW LEVEL SECURITY;
CREATE POLICY org_billing_tenant ON org_billing
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE ON org_billing TO rampart_app;

-- Messages per calendar month (UTC). Admission is one guarded UPDATE: `messages < limit` under the row lock.
CREATE TABLE org_usage (
  org_id    uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  period    date NOT NULL,
  messages  integer NOT NULL DEFAULT 0 CHECK (messages >= 0),
  PRIMARY KEY (org_id, period)
);
ALTER TABLE org_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY org_usage_tenant ON org_usage
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE ON org_usage TO rampart_app;

CREATE TABLE widgets (
  id                     uuid PRIMARY KEY,
  org_id                 uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  allowed_origins        text[] NOT NULL,
  system_prompt          text NOT NULL CHECK (length(system_prompt) <= 8000),
  model                  text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
  per_ip_per_minute      integer NOT NULL CHECK (per_ip_per_minute BETWEEN 1 AND 10000),
  per_widget_per_minute  integer NOT NULL CHECK (per_widget_per_minute BETWEEN 1 AND 1000000),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX widgets_org ON widgets (org_id, created_at);
ALTER TABLE widgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE widgets FORCE ROW LEVEL SECURITY;
CREATE POLICY widgets_tenant ON widgets
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON widgets TO rampart_app;

CREATE TABLE widget_documents (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  widget_id     uuid NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  format        text NOT NULL CHECK (format IN ('text', 'markdown')),
  bytes         integer NOT NULL CHECK (bytes > 0),
  chunks        integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX widget_documents_org ON widget_documents (org_id, widget_id, created_at);
CREATE INDEX widget_documents_widget ON widget_documents (widget_id);
ALTER TABLE widget_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_documents FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_documents_tenant ON widget_documents
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, DELETE ON widget_documents TO rampart_app;

CREATE TABLE widget_chunks (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  widget_id    uuid NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
  document_id  uuid NOT NULL REFERENCES widget_documents(id) ON DELETE CASCADE,
  seq          integer NOT NULL,
  content      text NOT NULL,
  tsv          tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
);
CREATE INDEX widget_chunks_org ON widget_chunks (org_id, widget_id);
CREATE INDEX widget_chunks_document ON widget_chunks (document_id);
CREATE INDEX widget_chunks_tsv ON widget_chunks USING gin (tsv);
ALTER TABLE widget_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_chunks_tenant ON widget_chunks
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, DELETE ON widget_chunks TO rampart_app;

-- Visitors and messages keep an HMAC-SHA256 of the client IP under a server key, never the IP itself, and never
-- the message text.
CREATE TABLE widget_visitors (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  widget_id   uuid NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
  ip_hash     text NOT NULL CHECK (ip_hash ~ '^[0-9a-f]{64}$'),
  origin      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX widget_visitors_org ON widget_visitors (org_id, widget_id, created_at);
CREATE INDEX widget_visitors_widget ON widget_visitors (widget_id);
ALTER TABLE widget_visitors ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_visitors FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_visitors_tenant ON widget_visitors
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT ON widget_visitors TO rampart_app;

CREATE TABLE widget_messages (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  widget_id   uuid NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
  visitor_id  uuid NOT NULL,
  ip_hash     text NOT NULL CHECK (ip_hash ~ '^[0-9a-f]{64}$'),
  chunks      integer NOT NULL,
  status      integer NOT NULL,
  latency_ms  integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX widget_messages_org ON widget_messages (org_id, widget_id, created_at);
CREATE INDEX widget_messages_widget ON widget_messages (widget_id);
ALTER TABLE widget_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_messages_tenant ON widget_messages
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT ON widget_messages TO rampart_app;

-- Checkout nonces: stored as SHA-256, bound to an org and a product, consumed once by the billing webhook.
CREATE TABLE billing_nonces (
  nonce_hash   text PRIMARY KEY CHECK (nonce_hash ~ '^[0-9a-f]{64}$'),
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  product      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz
);
CREATE INDEX billing_nonces_org ON billing_nonces (org_id, created_at);
ALTER TABLE billing_nonces ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_nonces FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_nonces_tenant ON billing_nonces
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE ON billing_nonces TO rampart_app;

-- Provider events already applied (refunds name an order, not a fresh nonce): a replay conflicts here.
CREATE TABLE billing_events (
  event_key    text PRIMARY KEY CHECK (length(event_key) BETWEEN 1 AND 300),
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_events_org ON billing_events (org_id, created_at);
ALTER TABLE billing_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_events FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_events_tenant ON billing_events
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT ON billing_events TO rampart_app;

-- Public widget routes know only the widget id: this returns what is needed to check the origin and limits
-- before anything else, and nothing more.
CREATE OR REPLACE FUNCTION rampart_widget_public(p_id uuid)
  RETURNS TABLE (org_id uuid, allowed_origins text[], per_ip_per_minute integer, per_widget_per_minute integer)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT w.org_id, w.allowed_origins, w.per_ip_per_minute, w.per_widget_per_minute FROM widgets w WHERE w.id = p_id
$$;
REVOKE ALL ON FUNCTION rampart_widget_public(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_widget_public(uuid) TO rampart_app;

-- The billing webhook knows only the nonce (after verifying the signature): this names its org, so the event
-- is then applied (nonce consumed compare-and-set, plan changed, audited) in that org's own context.
CREATE OR REPLACE FUNCTION rampart_billing_nonce_org(p_hash text)
  RETURNS TABLE (org_id uuid, product text, consumed boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT n.org_id, n.product, n.consumed_at IS NOT NULL FROM billing_nonces n WHERE n.nonce_hash = p_hash
$$;
REVOKE ALL ON FUNCTION rampart_billing_nonce_org(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_billing_nonce_org(text) TO rampart_app;

-- The definer functions above read widgets and billing_nonces as the owner (see 0006).
DO $$
BEGIN
  EXECUTE format('CREATE POLICY widgets_definer_read ON widgets FOR SELECT TO %I USING (true)', current_user);
  EXECUTE format('CREATE POLICY billing_nonces_definer_read ON billing_nonces FOR SELECT TO %I USING (true)', current_user);
END $$;
