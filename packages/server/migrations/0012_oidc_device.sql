-- 0012 sign-in with OpenID Connect, and the OAuth 2.0 Device Authorization Grant for the CLI.
-- All platform-level (accounts are not org data); only the application role can read or write them.

-- Identity providers, configured by platform operators. The client secret is sealed
-- (AAD: NULL org, oidc_providers, client_secret_sealed, id) like every other secret.
CREATE TABLE oidc_providers (
  id                    uuid PRIMARY KEY,
  name                  text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  display_name          text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  issuer                text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
  client_id             text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 500),
  client_secret_sealed  text NOT NULL,
  client_secret_masked  text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE, DELETE ON oidc_providers TO rampart_app;

-- An external identity (provider, subject) linked to one user. Linking happens only on first sign-in (new
-- account) or when the user proves control of the existing account and the provider verified the e-mail.
CREATE TABLE oidc_identities (
  id             uuid PRIMARY KEY,
  provider_id    uuid NOT NULL REFERENCES oidc_providers(id) ON DELETE CASCADE,
  subject        text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_login_at  timestamptz,
  UNIQUE (provider_id, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON oidc_identities TO rampart_app;

-- Sign-ins in flight: looked up by the SHA-256 of `state`, bound to the browser that started them (the hash of
-- a random value in an HttpOnly cookie), single use, short-lived. The PKCE verifier is sealed.
CREATE TABLE oidc_login_states (
  id                    uuid PRIMARY KEY,
  state_hash            text NOT NULL UNIQUE,
  provider_id           uuid NOT NULL REFERENCES oidc_providers(id) ON DELETE CASCADE,
  nonce                 text NOT NULL,
  code_verifier_sealed  text NOT NULL,
  binding_hash          text NOT NULL,
  link_user_id          uuid REFERENCES users(id) ON DELETE CASCADE,
  created_at            timestamptz NOT NULL DEFAULT now(),
  expires_at            timestamptz NOT NULL,
  consumed_at           timestamptz
);
CREATE INDEX oidc_login_states_expiry ON oidc_login_states (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON oidc_login_states TO rampart_app;

-- The outcome of a callback, waiting for the browser: a one-time code (stored as its SHA-256) that the
-- dashboard exchanges for a session, or a link ticket when an account with that e-mail already exists.
CREATE TABLE oidc_login_results (
  id              uuid PRIMARY KEY,
  code_hash       text NOT NULL UNIQUE,
  binding_hash    text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('session', 'link_required')),
  user_id         uuid REFERENCES users(id) ON DELETE CASCADE,
  provider_id     uuid NOT NULL REFERENCES oidc_providers(id) ON DELETE CASCADE,
  subject         text NOT NULL,
  email           text,
  email_verified  boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  consumed_at     timestamptz
);
CREATE INDEX oidc_login_results_expiry ON oidc_login_results (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON oidc_login_results TO rampart_app;

-- RFC 8628 device authorizations. The device code is stored as its SHA-256; the user code (what a person types)
-- is short, so it expires in minutes, is single use and its verification is rate-limited.
CREATE TABLE device_authorizations (
  id                uuid PRIMARY KEY,
  device_code_hash  text NOT NULL UNIQUE,
  user_code         text NOT NULL UNIQUE CHECK (user_code ~ '^[BCDFGHJKLMNPQRSTVWXZ]{8}$'),
  client_id         text NOT NULL,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  user_id           uuid REFERENCES users(id) ON DELETE CASCADE,
  interval_seconds  integer NOT NULL DEFAULT 5 CHECK (interval_seconds BETWEEN 1 AND 60),
  last_polled_at    timestamptz,
  requester_ip      text,
  requester_agent   text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL
);
CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON device_authorizations TO rampart_app;

-- CLI credentials (`cli_live_...`), issued by the device grant: a credential of their own, accepted only by the
-- routes that take it (never where a dashboard session is required), stored as a hash, revocable, expiring.
CREATE TABLE cli_credentials (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix        text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX cli_credentials_user ON cli_credentials (user_id, created_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON cli_credentials TO rampart_app;
