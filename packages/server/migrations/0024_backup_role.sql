-- 0024 backup role (issue 23 §5). Tenant tables FORCE row-level security, which binds the schema owner too:
-- `pg_dump` run as an ordinary owner dumped every tenant table empty. rampart_backup is a read-only role that
-- bypasses RLS, for `rampart admin backup` (pg_dump --role=rampart_backup) or for an operator's own backup login:
--   GRANT rampart_backup TO backup_login;   -- then: pg_dump --role=rampart_backup ...
-- NOLOGIN: nobody signs in as it; a login role that is a member switches to it with SET ROLE. Not inherited by
-- rampart_app (the application role must never bypass RLS; checked at start).
--
-- Creating a BYPASSRLS role needs a superuser (PostgreSQL 15; 16+: CREATEROLE and BYPASSRLS). Managed
-- PostgreSQL owners often have neither, and a migration that fails stops every node from starting, so this
-- skips with a NOTICE instead. The operator then runs, once, as a superuser (docs/OPERATIONS.md "Backups and
-- restore"; `<owner>` is the DATABASE_URL user):
--   CREATE ROLE rampart_backup NOLOGIN NOINHERIT BYPASSRLS;
--   GRANT USAGE ON SCHEMA public TO rampart_backup;
--   GRANT SELECT ON ALL TABLES IN SCHEMA public TO rampart_backup;
--   GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO rampart_backup;
--   ALTER DEFAULT PRIVILEGES FOR ROLE <owner> IN SCHEMA public GRANT SELECT ON TABLES TO rampart_backup;
--   ALTER DEFAULT PRIVILEGES FOR ROLE <owner> IN SCHEMA public GRANT SELECT ON SEQUENCES TO rampart_backup;
--   GRANT rampart_backup TO <owner>;
-- Cluster-wide, so creation tolerates a concurrent creator in another database (as 0001 does for rampart_app).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_backup') THEN
    BEGIN
      CREATE ROLE rampart_backup NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT BYPASSRLS;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'rampart_backup not created: % lacks the right to create a BYPASSRLS role; a superuser must create it (docs/OPERATIONS.md, Backups and restore)', current_user;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_backup') THEN
    RETURN;
  END IF;
  -- Read-only: SELECT and schema USAGE, nothing else; future tables and sequences of this owner too.
  EXECUTE 'GRANT USAGE ON SCHEMA public TO rampart_backup';
  EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO rampart_backup';
  EXECUTE 'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO rampart_backup';
  EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO rampart_backup';
  EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO rampart_backup';
  -- The owner may switch to it, so `rampart admin backup` works with the same DATABASE_URL. Grants the owner
  -- nothing it lacked: it owns the tables and could switch their row-level security off.
  IF NOT pg_has_role(current_user, 'rampart_backup', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT rampart_backup TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'rampart_backup not granted to %: a superuser must run GRANT rampart_backup TO %', current_user, current_user;
    END;
  END IF;
END $$;
