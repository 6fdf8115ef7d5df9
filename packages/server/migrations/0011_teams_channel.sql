-- 0011 Microsoft Teams as an alert channel type. Its webhook URL is sealed in secret_sealed like Slack's (AAD
-- org_id, alert_channels, secret_sealed, id), so only the type check changes. 0005 declared the check inline,
-- so it carries PostgreSQL's default name.

ALTER TABLE alert_channels DROP CONSTRAINT alert_channels_type_check;
ALTER TABLE alert_channels
  ADD CONSTRAINT alert_channels_type_check CHECK (type IN ('webhook', 'slack', 'teams', 'email'));
