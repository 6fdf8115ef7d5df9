-- 0033 platform settings (issue 27 part 1): what an operator may change without a restart (billing webhook
-- secret and plans, Turnstile keys, Slack and Teams operator webhooks, the SMTP URL, the security contact).
-- One row per setting; the value is a seal envelope whatever the setting (secret or not, one rule), AAD
-- (NULL, platform_settings, value_sealed, key). An environment variable, when set, wins over the row; the
-- operator page says which source is in effect. Platform context only: no org's transaction reads or writes it.
CREATE TABLE platform_settings (
  key           text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
  value_sealed  text NOT NULL,
  value_masked  text,
  updated_by    uuid REFERENCES users(id) ON DELETE SET NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE platform_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_settings_platform ON platform_settings
  USING ((SELECT rampart_platform_context()))
  WITH CHECK ((SELECT rampart_platform_context()));
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_settings TO rampart_app;
