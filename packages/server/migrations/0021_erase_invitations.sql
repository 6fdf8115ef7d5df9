-- 0021 erasure covers invitations (issue 20): an invitation holds the invitee's address, so erasing an account
-- also deletes every invitation addressed to it or accepted by it, in any org (a pending one in an org the person
-- never joined included). Run inside rampart_erase_user, which only ever erases the transaction's own user; the
-- owner role gets a DELETE policy for that (it has the read policy already, see 0020), the app role none.
DO $$
BEGIN
  EXECUTE format('CREATE POLICY org_invitations_definer_erase ON org_invitations FOR DELETE TO %I USING (true)',
                 current_user);
END $$;

CREATE OR REPLACE FUNCTION rampart_erase_user(p_user uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_user IS DISTINCT FROM rampart_current_user() THEN
    RAISE EXCEPTION 'erase refused: user is not the current user context' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT 1 FROM memberships WHERE user_id = p_user) THEN
    RAISE EXCEPTION 'erase refused: the user still has memberships' USING ERRCODE = 'insufficient_privilege';
  END IF;
  DELETE FROM org_invitations
   WHERE accepted_by = p_user OR email = (SELECT u.email FROM users u WHERE u.id = p_user);
  DELETE FROM users WHERE id = p_user;
END $$;
REVOKE ALL ON FUNCTION rampart_erase_user(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_erase_user(uuid) TO rampart_app;
