-- 0020 invitations and e-mail verification (issue 20, part 3).
--
-- The hole this closes: adding a member by e-mail attached whichever account held that address, at once and with
-- the full role. Anyone could sign up with someone else's address before its owner did and be let into every org
-- that later added it. Now adding a member only creates a pending invitation, which the person accepts while
-- signed in as the verified owner of the address (or, with no account yet, by choosing a password from the mailed
-- link, which proves the address). See docs/SECURITY.md "E-mail verification and invitations".

-- Pending invitations: tenant rows (RLS by org), token stored as SHA-256 only, single use, 7 days.
CREATE TABLE org_invitations (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  email        text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  token_hash   text NOT NULL UNIQUE,
  invited_by   uuid REFERENCES users(id) ON DELETE SET NULL,
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  accepted_by  uuid REFERENCES users(id) ON DELETE SET NULL,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
-- One open invitation per address and org: re-inviting revokes the old one (its link stops working) first.
CREATE UNIQUE INDEX org_invitations_open ON org_invitations (org_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
ALTER TABLE org_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY org_invitations_tenant ON org_invitations
  USING (org_id = (SELECT rampart_current_org())) WITH CHECK (org_id = (SELECT rampart_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON org_invitations TO rampart_app;

-- The link's holder does not know the org yet: a narrow SECURITY DEFINER lookup returns exactly the row whose
-- hash matches (as for API keys), and everything else about it is read in that org's own context. The owner
-- role needs its read policy for that on managed PostgreSQL (see 0006).
DO $$
BEGIN
  EXECUTE format('CREATE POLICY org_invitations_definer_read ON org_invitations FOR SELECT TO %I USING (true)',
                 current_user);
END $$;
CREATE OR REPLACE FUNCTION rampart_find_invitation(p_hash text)
  RETURNS TABLE (id uuid, org_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT i.id, i.org_id FROM org_invitations i WHERE i.token_hash = p_hash $$;
REVOKE ALL ON FUNCTION rampart_find_invitation(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_find_invitation(text) TO rampart_app;

-- E-mail verification links (platform table like password_resets): SHA-256 of the token, single use, 24 hours,
-- bound to the address it was sent to (a later address change must not be verified by an old link).
CREATE TABLE email_verifications (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email       text NOT NULL,
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_verifications_user ON email_verifications (user_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON email_verifications TO rampart_app;
