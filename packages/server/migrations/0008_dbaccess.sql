-- 0008 AI database access: connections whose connection strings the server cannot read. A cloud connection
-- holds only the client-sealed envelope (ciphertext, salt, IV, KDF parameters; see @rampart/core/connseal):
-- opening it needs the API key that a query request presents, which the server stores only as a hash.

CREATE TABLE db_connections (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  mode        text NOT NULL CHECK (mode IN ('cloud', 'agent')),
  envelope    jsonb,
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((mode = 'cloud') = (envelope IS NOT NULL))
);
CREATE INDEX db_connections_org ON db_connections (org_id, created_at);
ALTER TABLE db_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE db_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY db_connections_tenant ON db_connections
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON db_connections TO rampart_app;
