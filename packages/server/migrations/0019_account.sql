-- 0019 account page (issue 20 part 5): e-mail change confirmations, and erasure of a user (GDPR).
--
-- An e-mail change is confirmed from the new address: a single-use token (only its SHA-256 is stored) that expires
-- in 24 hours. Requesting a new change supersedes the pending one. Deleting the user deletes the rows.
CREATE TABLE email_changes (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  new_email   text NOT NULL CHECK (new_email = lower(new_email) AND length(new_email) BETWEEN 3 AND 254),
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_changes_user ON email_changes (user_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON email_changes TO rampart_app;

-- The application role may not delete users (0004). Erasure goes through this function only: it deletes the
-- user of the calling transaction's own user context (the route re-authenticated them), and only once the
-- application has removed every membership with its org audit row, so no org loses a member silently. The
-- row's deletion cascades to recovery codes, resets, revoked sessions, sign-in provider links, CLI credentials
-- and device grants, account events and e-mail changes; mail_outbox keeps its delivery records (user_id NULL).
CREATE OR REPLACE FUNCTION rampart_erase_user(p_user uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_user IS DISTINCT FROM rampart_current_user() THEN
    RAISE EXCEPTION 'erase refused: user is not the current user context' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT 1 FROM memberships WHERE user_id = p_user) THEN
    RAISE EXCEPTION 'erase refused: the user still has memberships' USING ERRCODE = 'insufficient_privilege';
  END IF;
  DELETE FROM users WHERE id = p_user;
END $$;
REVOKE ALL ON FUNCTION rampart_erase_user(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_erase_user(uuid) TO rampart_app;
