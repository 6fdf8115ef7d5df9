-- 0023 agent presence (issue 23): which nodes hold a WebSocket from the on-prem agent of a connection, so a
-- query that lands on another node is forwarded to one of them over the node bus (platform/bus.ts). A row is
-- written when an agent connects, refreshed with every keep-alive ping (20 s), and deleted when the socket
-- closes; a node that dies leaves rows that stop counting once `seen_at` is older than a minute.
-- Platform-only: no org reads or writes these rows.
CREATE TABLE agent_presence (
  connection_id uuid NOT NULL REFERENCES db_connections(id) ON DELETE CASCADE,
  node_id       uuid NOT NULL,
  connected_at  timestamptz NOT NULL DEFAULT now(),
  seen_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, node_id)
);
CREATE INDEX agent_presence_node ON agent_presence (node_id);
ALTER TABLE agent_presence ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_presence FORCE ROW LEVEL SECURITY;
CREATE POLICY agent_presence_platform ON agent_presence
  USING ((SELECT rampart_platform_context()))
  WITH CHECK ((SELECT rampart_platform_context()));
GRANT SELECT, INSERT, UPDATE, DELETE ON agent_presence TO rampart_app;
