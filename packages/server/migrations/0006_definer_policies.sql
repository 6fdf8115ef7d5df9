-- 0006 SECURITY DEFINER lookups on managed PostgreSQL.
--
-- The cross-tenant lookups (rampart_find_api_key, rampart_find_runtime_token, rampart_org_member_counts,
-- rampart_job_work) are SECURITY DEFINER: they run as the schema owner. Tenant tables FORCE row-level
-- security, which binds the owner too, so where the owner is an ordinary role (no SUPERUSER, no BYPASSRLS:
-- typical of managed PostgreSQL) those functions saw no row at all and API keys never authenticated. Tests
-- ran as a superuser, which bypasses RLS, and missed it.
--
-- Fix: read-only policies for the owner role only, on exactly the tables those functions read. The
-- application role is unaffected (a policy applies only to the roles it names), and the owner could already
-- disable RLS on its own tables, so this grants it nothing it lacked; it only lets the narrow functions work.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'runtime_tokens', 'memberships', 'jobs', 'job_runs'] LOOP
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO %I USING (true)', t || '_definer_read', t, current_user);
  END LOOP;
END $$;
