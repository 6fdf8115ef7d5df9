-- 0004 hardening (security review): the purge function only purges the org of the calling transaction's
-- tenant context, and the application role loses DELETE grants it never uses.

CREATE OR REPLACE FUNCTION rampart_purge_org(p_org uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  -- Defence in depth: even a compromised query path running as rampart_app can only purge the org whose
  -- context it already holds (the route checked the owner's typed confirmation before setting it).
  IF p_org IS DISTINCT FROM rampart_current_org() THEN
    RAISE EXCEPTION 'purge refused: org is not the current tenant context' USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('rampart.purge_org', p_org::text, true);
  DELETE FROM audit_log WHERE org_id = p_org;
  DELETE FROM audit_heads WHERE org_id = p_org;
  DELETE FROM orgs WHERE id = p_org;
  PERFORM set_config('rampart.purge_org', '', true);
  INSERT INTO org_tombstones (id) VALUES (p_org) ON CONFLICT DO NOTHING;
END $$;
REVOKE ALL ON FUNCTION rampart_purge_org(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_purge_org(uuid) TO rampart_app;

-- Orgs are deleted only through rampart_purge_org; users are never deleted by the application yet.
REVOKE DELETE ON orgs FROM rampart_app;
REVOKE DELETE ON users FROM rampart_app;
