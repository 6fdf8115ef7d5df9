-- 0009 on-prem agents: an agent connection has an agent token (stored as a domain-separated SHA-256); the agent
-- authenticates with it over a WebSocket before any org is known, through a narrow SECURITY DEFINER lookup.
ALTER TABLE db_connections ADD COLUMN agent_token_hash text UNIQUE;

CREATE OR REPLACE FUNCTION rampart_find_agent_token(p_hash text)
  RETURNS TABLE (id uuid, org_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT c.id, c.org_id FROM db_connections c WHERE c.agent_token_hash = p_hash AND c.mode = 'agent' $$;
REVOKE ALL ON FUNCTION rampart_find_agent_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_find_agent_token(text) TO rampart_app;

DO $$
BEGIN
  EXECUTE format('CREATE POLICY db_connections_definer_read ON db_connections FOR SELECT TO %I USING (true)', current_user);
END $$;
