-- 0017 verified e-mail (issue 20): an account proves its address before it can join an org or accept an
-- invitation. Set by the verification link, a password reset (the reset mail reached the mailbox), an accepted
-- invitation (its mail did), or an e-mail change confirmed from the new address.
--
-- Accounts that existed before this migration and could sign in (a password or a linked provider) are treated as
-- verified: locking every existing user out of their orgs until they click a link would break every deployment,
-- and those accounts were already members. Invited accounts that never chose a password stay unverified.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users u SET email_verified_at = u.created_at
 WHERE u.password_hash IS NOT NULL OR EXISTS (SELECT 1 FROM oidc_identities i WHERE i.user_id = u.id);
