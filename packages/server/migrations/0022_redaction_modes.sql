-- 0022 redaction modes (issue 22): how prompts are redacted (`mask`: [EMAIL]; `reversible`: numbered placeholders
-- put back in the answer, the map kept in memory for one request only) and whether the upstream's answer is
-- redacted too. Org settings with a default; an API key may override either (NULL: the org's setting).
ALTER TABLE orgs ADD COLUMN redaction_mode text NOT NULL DEFAULT 'mask' CHECK (redaction_mode IN ('mask', 'reversible'));
ALTER TABLE orgs ADD COLUMN redact_completions boolean NOT NULL DEFAULT false;
ALTER TABLE api_keys ADD COLUMN redaction_mode text CHECK (redaction_mode IN ('mask', 'reversible'));
ALTER TABLE api_keys ADD COLUMN redact_completions boolean;

-- The lookup returns the overrides too (a new return type needs a new function).
DROP FUNCTION rampart_find_api_key(text);
CREATE FUNCTION rampart_find_api_key(p_hash text)
  RETURNS TABLE (id uuid, org_id uuid, redaction text, region text, revoked boolean, last_used_at timestamptz,
                 scopes text[], created_by uuid, redaction_mode text, redact_completions boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.id, k.org_id, k.redaction, k.region, k.revoked_at IS NOT NULL, k.last_used_at, k.scopes, k.created_by,
               k.redaction_mode, k.redact_completions
          FROM api_keys k WHERE k.key_hash = p_hash $$;
REVOKE ALL ON FUNCTION rampart_find_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_find_api_key(text) TO rampart_app;
