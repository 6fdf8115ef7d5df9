-- 0001 foundation: application role, orgs, sealed org secrets, append-only hash-chained audit log.
-- Conventions for every later migration:
--   * tenant tables carry org_id uuid NOT NULL, an index whose first column is org_id,
--     ENABLE + FORCE ROW LEVEL SECURITY, and a policy comparing against rampart_current_org();
--   * the application runs as rampart_app (neither owner nor superuser nor BYPASSRLS) through SET LOCAL ROLE;
--   * sealed columns are named *_sealed and registered in src/db/sealed-columns.ts.

-- The application role. Cluster-wide, so creation tolerates a concurrent creator in another database.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_app') THEN
    BEGIN
      CREATE ROLE rampart_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END $$;

-- The migrating (owner) user must be able to SET ROLE rampart_app.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'rampart_app', 'MEMBER') THEN
    EXECUTE format('GRANT rampart_app TO %I', current_user);
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO rampart_app;

-- Tenant context. STABLE and wrapped in a scalar sub-select by the policies, so it is evaluated once per
-- statement rather than per row. An empty or missing setting yields NULL, which matches no row.
CREATE OR REPLACE FUNCTION rampart_current_org() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION rampart_platform_context() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('app.platform', true), '') = 'on' $$;

-- Orgs are a platform-level table: the org list is not tenant data (names are visible to members and operators).
CREATE TABLE orgs (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region      text NOT NULL DEFAULT 'us' CHECK (region IN ('us', 'eu', 'apac')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE, DELETE ON orgs TO rampart_app;

-- Named org secrets (provider keys, webhook secrets...). The value is a seal envelope bound to
-- (org_id, 'org_secrets', 'value_sealed', id).
CREATE TABLE org_secrets (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,100}$'),
  value_sealed  text NOT NULL,
  masked        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);
ALTER TABLE org_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY org_secrets_tenant ON org_secrets
  USING (org_id = (SELECT rampart_current_org()))
  WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON org_secrets TO rampart_app;

-- Audit log: one row per mutation, written in the mutation's transaction. Each chain (an org, or the
-- platform chain when org_id is NULL) is hash-linked: hash = sha256(prev_hash || canonical(row)).
CREATE TABLE audit_log (
  id           uuid PRIMARY KEY,
  org_id       uuid,
  seq          bigint NOT NULL CHECK (seq > 0),
  at           timestamptz NOT NULL,
  user_id      uuid,
  api_key_id   uuid,
  ip           text,
  user_agent   text,
  request_id   text,
  action       text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,99}$'),
  target       text,
  meta         text NOT NULL DEFAULT '{}',
  prev_hash    text NOT NULL,
  hash         text NOT NULL
);
CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log ((coalesce(org_id, '00000000-0000-0000-0000-000000000000'::uuid)), seq);
CREATE INDEX audit_log_org_at ON audit_log (org_id, at, id);
CREATE INDEX audit_log_org_action ON audit_log (org_id, action, at);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant ON audit_log
  USING (org_id = (SELECT rampart_current_org()) OR (org_id IS NULL AND (SELECT rampart_platform_context())))
  WITH CHECK (org_id = (SELECT rampart_current_org()) OR (org_id IS NULL AND (SELECT rampart_platform_context())));
-- Append-only by grants: the application may read and insert, never update or delete.
GRANT SELECT, INSERT ON audit_log TO rampart_app;

-- Append-only by trigger too, so even the owner's ad-hoc UPDATE/DELETE/TRUNCATE is refused.
-- (A superuser can still disable triggers; `rampart admin audit verify` detects what that allows.)
CREATE OR REPLACE FUNCTION rampart_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION rampart_audit_immutable();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_immutable();

-- Chain heads: the last seq and hash per chain, locked FOR UPDATE by each append so a chain never forks.
-- Also lets verify detect a deleted tail row.
CREATE TABLE audit_heads (
  chain   text PRIMARY KEY,
  org_id  uuid,
  seq     bigint NOT NULL,
  head    text NOT NULL
);
CREATE INDEX audit_heads_org ON audit_heads (org_id);
ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_heads_tenant ON audit_heads
  USING (org_id = (SELECT rampart_current_org()) OR (org_id IS NULL AND (SELECT rampart_platform_context())))
  WITH CHECK (org_id = (SELECT rampart_current_org()) OR (org_id IS NULL AND (SELECT rampart_platform_context())));
GRANT SELECT, INSERT, UPDATE ON audit_heads TO rampart_app;
