-- 0003 LLM gateway: per-org upstream providers with sealed bring-your-own API keys.

CREATE TABLE llm_providers (
  id                uuid PRIMARY KEY,
  org_id            uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name              text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  base_url          text NOT NULL CHECK (length(base_url) BETWEEN 8 AND 500),
  api_key_sealed    text NOT NULL,          -- AAD (org_id, llm_providers, api_key_sealed, id)
  api_key_masked    text NOT NULL,
  region            text NOT NULL DEFAULT 'us' CHECK (region IN ('us', 'eu', 'apac')),
  models            text[] NOT NULL DEFAULT '{}',
  reasoning_models  text[] NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);
CREATE INDEX llm_providers_org ON llm_providers (org_id, region);
ALTER TABLE llm_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE llm_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY llm_providers_tenant ON llm_providers
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON llm_providers TO rampart_app;
