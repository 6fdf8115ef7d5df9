-- 0025 provider kinds (issue 24 §1): which wire format a provider speaks. `openai` providers serve
-- /v1/chat/completions and /v1/embeddings (base URL up to /v1); `anthropic` providers serve /v1/messages (base URL
-- is the API root, as Anthropic's SDK takes it) and get their key as `x-api-key`. Existing rows are OpenAI ones.
ALTER TABLE llm_providers ADD COLUMN kind text NOT NULL DEFAULT 'openai' CHECK (kind IN ('openai', 'anthropic'));
