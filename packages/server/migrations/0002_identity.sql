-- 0002 identity and tenancy: users, memberships, API keys, runtime tokens, recovery codes, password resets,
-- revoked sessions, org settings, org hard delete.

CREATE OR REPLACE FUNCTION rampart_current_user() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

-- Org settings live on the org row (platform table): piiRedaction, region (0001), retentionDays.
ALTER TABLE orgs ADD COLUMN pii_redaction boolean NOT NULL DEFAULT true;
ALTER TABLE orgs ADD COLUMN retention_days integer NOT NULL DEFAULT 365 CHECK (retention_days BETWEEN 1 AND 3650);

-- Users are platform-level: one account may belong to many orgs.
CREATE TABLE users (
  id                  uuid PRIMARY KEY,
  email               text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash       text,              -- NULL for invited users who have not set a password yet
  totp_secret_sealed  text,              -- seal envelope, AAD (NULL, users, totp_secret_sealed, id)
  totp_enabled        boolean NOT NULL DEFAULT false,
  totp_last_step      bigint,            -- last accepted TOTP time step: a code is accepted once
  token_generation    integer NOT NULL DEFAULT 0,  -- bumped by "log out everywhere" and password reset
  is_operator         boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (email);
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO rampart_app;

CREATE TABLE recovery_codes (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  text NOT NULL,              -- bcrypt
  used_at    timestamptz
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id) WHERE used_at IS NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO rampart_app;

CREATE TABLE password_resets (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,      -- sha256 of the emailed token
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_user ON password_resets (user_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON password_resets TO rampart_app;

-- Single-session logout: revoked JWT ids, kept until the token would have expired anyway.
CREATE TABLE revoked_sessions (
  jti         text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
GRANT SELECT, INSERT, DELETE ON revoked_sessions TO rampart_app;

-- Memberships are tenant rows, readable in the org's context, and a signed-in user may read their own
-- memberships across orgs (app.user_id) to list their orgs. Writes only in the org's context.
CREATE TABLE memberships (
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_read ON memberships FOR SELECT
  USING (org_id = (SELECT rampart_current_org()) OR user_id = (SELECT rampart_current_user()));
CREATE POLICY memberships_write ON memberships FOR INSERT WITH CHECK (org_id = (SELECT rampart_current_org()));
CREATE POLICY memberships_update ON memberships FOR UPDATE
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
CREATE POLICY memberships_delete ON memberships FOR DELETE USING (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO rampart_app;

-- Org API keys: only a SHA-256 (domain-separated) and an 8-character prefix preview are stored.
CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  redaction     text NOT NULL DEFAULT 'inherit' CHECK (redaction IN ('inherit', 'on', 'off')),
  region        text CHECK (region IN ('us', 'eu', 'apac')),  -- NULL: the org's region
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY api_keys_tenant ON api_keys
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO rampart_app;

-- Runtime tokens (skill runtimes): a separate credential type, scope sync + telemetry of one org.
CREATE TABLE runtime_tokens (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix        text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX runtime_tokens_org ON runtime_tokens (org_id, created_at);
ALTER TABLE runtime_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE runtime_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY runtime_tokens_tenant ON runtime_tokens
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON runtime_tokens TO rampart_app;

-- Credential lookup before the org is known: narrow SECURITY DEFINER functions that return exactly the row
-- matching a hash (which only the key's holder can compute), instead of a policy that opens the whole table.
CREATE OR REPLACE FUNCTION rampart_find_api_key(p_hash text)
  RETURNS TABLE (id uuid, org_id uuid, redaction text, region text, revoked boolean, last_used_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.id, k.org_id, k.redaction, k.region, k.revoked_at IS NOT NULL, k.last_used_at
          FROM api_keys k WHERE k.key_hash = p_hash $$;
REVOKE ALL ON FUNCTION rampart_find_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_find_api_key(text) TO rampart_app;

CREATE OR REPLACE FUNCTION rampart_find_runtime_token(p_hash text)
  RETURNS TABLE (id uuid, org_id uuid, revoked boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT t.id, t.org_id, t.revoked_at IS NOT NULL FROM runtime_tokens t WHERE t.token_hash = p_hash $$;
REVOKE ALL ON FUNCTION rampart_find_runtime_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_find_runtime_token(text) TO rampart_app;

-- Platform-level record that an org existed and was deleted: no name, no people, no content.
CREATE TABLE org_tombstones (
  id          uuid PRIMARY KEY,          -- the deleted org's id
  deleted_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON org_tombstones TO rampart_app;

-- The audit trigger lets exactly one thing delete audit rows: rampart_purge_org, for the org it purges.
CREATE OR REPLACE FUNCTION rampart_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.org_id IS NOT NULL
     AND current_setting('rampart.purge_org', true) = OLD.org_id::text THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

-- GDPR hard delete of an org: its audit chain, then the org row, which cascades to every tenant table (a test
-- requires every org_id column to reference orgs ON DELETE CASCADE), then a tombstone. One transaction: the
-- caller's. Runs as the owner because the app role may never delete audit rows itself.
CREATE OR REPLACE FUNCTION rampart_purge_org(p_org uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM set_config('rampart.purge_org', p_org::text, true);
  DELETE FROM audit_log WHERE org_id = p_org;
  DELETE FROM audit_heads WHERE org_id = p_org;
  DELETE FROM orgs WHERE id = p_org;
  PERFORM set_config('rampart.purge_org', '', true);
  INSERT INTO org_tombstones (id) VALUES (p_org) ON CONFLICT DO NOTHING;
END $$;
REVOKE ALL ON FUNCTION rampart_purge_org(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_purge_org(uuid) TO rampart_app;

-- Member counts per org for the operator console (operators never get a blanket RLS bypass).
CREATE OR REPLACE FUNCTION rampart_org_member_counts() RETURNS TABLE (org_id uuid, n integer)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT m.org_id, count(*)::int FROM memberships m GROUP BY m.org_id $$;
REVOKE ALL ON FUNCTION rampart_org_member_counts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_org_member_counts() TO rampart_app;
