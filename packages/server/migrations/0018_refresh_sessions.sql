-- 0018 dashboard sessions that survive a reload (issue 20 part 4): refresh-token families.

-- A family is one sign-in. Every session JWT (15 minutes) names its family in `sid`, and the server refuses it
-- once the family is revoked or expired. The dashboard also holds a refresh token of the family in an HttpOnly
-- cookie; each use rotates it (the old one is marked used, a new one is issued). Presenting a used token again
-- is reuse: the whole family is revoked. The family records the user's token_generation at sign-in, so every
-- generation bump (sign out everywhere, password change, password reset) ends every family with no extra write.
-- Platform tables like revoked_sessions: they belong to a user, not an org (no RLS), and the app reaches them only
-- in platform context.
CREATE TABLE refresh_families (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  generation      integer NOT NULL,       -- users.token_generation at sign-in
  totp            boolean NOT NULL,       -- the sign-in passed a second factor (amr otp)
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,   -- sign-in + 30 days; refreshing never extends it
  revoked_at      timestamptz,
  revoked_reason  text CHECK (revoked_reason IN ('logout', 'reuse'))
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);
CREATE INDEX refresh_families_expiry ON refresh_families (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_families TO rampart_app;

-- Refresh tokens: only the SHA-256 of each is stored. A used row is kept until its family expires: it is what
-- recognises a replayed token.
CREATE TABLE refresh_tokens (
  token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  family_id   uuid NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  used_at     timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens TO rampart_app;
