-- 0010 skill packages: the org's registered Ed25519 signing keys, uploaded packages (verified on upload, stored
-- as the exact signed bytes), and compact runtime telemetry with a retention window.

CREATE TABLE signing_keys (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  key_id      text NOT NULL CHECK (key_id ~ '^[0-9a-f]{32}$'),
  public_key  text NOT NULL CHECK (public_key ~ '^[A-Za-z0-9_-]{43}$'),
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  UNIQUE (org_id, key_id)
);
ALTER TABLE signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE signing_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY signing_keys_tenant ON signing_keys
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE ON signing_keys TO rampart_app;

-- One row per (skill, version). `content` is the package exactly as signed; `manifest` is its canonical
-- manifest text (kept beside it so listings never read the blob). Versions only go up: the upload route
-- refuses a version not above the highest one stored, under a per-skill advisory lock.
CREATE TABLE skill_packages (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  version       integer NOT NULL CHECK (version >= 1),
  key_id        text NOT NULL,
  manifest      text NOT NULL,
  sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes    integer NOT NULL CHECK (size_bytes > 0),
  file_count    integer NOT NULL CHECK (file_count > 0),
  content       bytea NOT NULL,
  uploaded_by   uuid,
  api_key_id    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name, version)
);
ALTER TABLE skill_packages ENABLE ROW LEVEL SECURITY;
ALTER TABLE skill_packages FORCE ROW LEVEL SECURITY;
CREATE POLICY skill_packages_tenant ON skill_packages
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
-- No UPDATE: a published version is immutable. DELETE for org hard delete and explicit removal.
GRANT SELECT, INSERT, DELETE ON skill_packages TO rampart_app;

-- Compact run metadata only: every column is a number, an enum or a short identifier, so no page content,
-- URL or free text has anywhere to go.
CREATE TABLE runtime_telemetry (
  id               uuid PRIMARY KEY,
  org_id           uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  token_id         uuid NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now(),
  occurred_at      timestamptz NOT NULL,
  skill            text NOT NULL CHECK (skill ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  version          integer NOT NULL CHECK (version >= 1),
  steps_total      integer NOT NULL CHECK (steps_total >= 0),
  steps_ok         integer NOT NULL CHECK (steps_ok >= 0),
  steps_failed     integer NOT NULL CHECK (steps_failed >= 0),
  duration_ms      integer NOT NULL CHECK (duration_ms >= 0),
  outcome          text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'cancelled', 'timed_out')),
  error_code       text CHECK (error_code ~ '^[a-z0-9_.-]{1,64}$'),
  runtime_version  text NOT NULL CHECK (runtime_version ~ '^[0-9A-Za-z.+-]{1,32}$')
);
CREATE INDEX runtime_telemetry_org ON runtime_telemetry (org_id, received_at);
CREATE INDEX runtime_telemetry_skill ON runtime_telemetry (org_id, skill, received_at);
ALTER TABLE runtime_telemetry ENABLE ROW LEVEL SECURITY;
ALTER TABLE runtime_telemetry FORCE ROW LEVEL SECURITY;
CREATE POLICY runtime_telemetry_tenant ON runtime_telemetry
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, DELETE ON runtime_telemetry TO rampart_app;
