-- 0030 widget conversations (issue 25 §3): per-visitor history, sealed, kept for the widget's retention, and
-- whether each answer was grounded in the knowledge base ("questions the widget could not answer").

-- Days a conversation is kept after its last message; the retention sweep deletes it (and its messages) then.
ALTER TABLE widgets ADD COLUMN conversation_retention_days integer NOT NULL DEFAULT 30
  CHECK (conversation_retention_days BETWEEN 1 AND 365);

-- Whether retrieval grounded the answer (NULL: not answered, or recorded before 0030).
ALTER TABLE widget_messages ADD COLUMN grounded boolean;
CREATE INDEX widget_messages_day ON widget_messages (org_id, widget_id, created_at) WHERE status = 200;

-- One conversation per visitor session; counters kept with each message so listings never open a seal.
CREATE TABLE widget_conversations (
  id                uuid PRIMARY KEY,
  org_id            uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  widget_id         uuid NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
  visitor_id        uuid NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  last_message_at   timestamptz NOT NULL DEFAULT now(),
  message_count     integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
  unanswered_count  integer NOT NULL DEFAULT 0 CHECK (unanswered_count >= 0),
  UNIQUE (widget_id, visitor_id)
);
CREATE INDEX widget_conversations_list ON widget_conversations (org_id, widget_id, last_message_at DESC, id);
CREATE INDEX widget_conversations_sweep ON widget_conversations (org_id, last_message_at);
ALTER TABLE widget_conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_conversations_tenant ON widget_conversations
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON widget_conversations TO rampart_app;

-- One row per answered visitor message: the question (PII-redacted first when the org redacts) and the reply,
-- each sealed to (org, table, column, row id), so a row's envelopes open nowhere else. Never in plaintext.
CREATE TABLE widget_conversation_messages (
  id               uuid PRIMARY KEY,
  org_id           uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  widget_id        uuid NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
  conversation_id  uuid NOT NULL REFERENCES widget_conversations(id) ON DELETE CASCADE,
  question_sealed  text NOT NULL,
  reply_sealed     text NOT NULL,
  redacted         boolean NOT NULL,
  grounded         boolean NOT NULL,
  chunks           integer NOT NULL CHECK (chunks >= 0),
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX widget_conversation_messages_thread ON widget_conversation_messages (conversation_id, created_at, id);
CREATE INDEX widget_conversation_messages_unanswered ON widget_conversation_messages (org_id, widget_id, created_at DESC)
  WHERE NOT grounded;
ALTER TABLE widget_conversation_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE widget_conversation_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY widget_conversation_messages_tenant ON widget_conversation_messages
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
-- UPDATE: key rotation re-seals the two columns in place.
GRANT SELECT, INSERT, UPDATE, DELETE ON widget_conversation_messages TO rampart_app;
