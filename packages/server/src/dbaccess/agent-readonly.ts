import type pg from 'pg';

/**
 * What the agent's database role could write, for `rampart agent --read-only-check`: superuser, BYPASSRLS or
 * CREATEROLE attributes, membership of the predefined write roles, INSERT/UPDATE/DELETE/TRUNCATE on any table or
 * view, ownership of any relation, USAGE/UPDATE on a sequence (nextval), CREATE on a schema or the database.
 * An empty list means the role can only read. System schemas are left out (their grants are PostgreSQL's own).
 */
export async function writeCapabilities(client: pg.ClientBase): Promise<string[]> {
  const problems: string[] = [];
  const role = await client.query<{ name: string; su: boolean; bypass: boolean; createrole: boolean }>(
    `SELECT rolname AS name, rolsuper AS su, rolbypassrls AS bypass, rolcreaterole AS createrole
       FROM pg_catalog.pg_roles WHERE rolname = current_user`,
  );
  const r = role.rows[0];
  if (r?.su) problems.push(`role ${r.name} is a superuser`);
  if (r?.bypass) problems.push(`role ${r?.name} has BYPASSRLS`);
  if (r?.createrole) problems.push(`role ${r?.name} has CREATEROLE`);
  const members = await client.query<{ name: string }>(
    `SELECT rolname AS name FROM pg_catalog.pg_roles
      WHERE rolname IN ('pg_write_all_data', 'pg_write_server_files', 'pg_execute_server_program', 'pg_database_owner')
        AND pg_catalog.pg_has_role(current_user, oid, 'MEMBER') ORDER BY 1`,
  );
  for (const m of members.rows) problems.push(`member of ${m.name}`);
  const rels = await client.query<{ rel: string; what: string }>(
    `SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS rel, w.what
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL (
         SELECT 'owner' AS what WHERE pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
         UNION ALL
         SELECT p FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_catalog.has_table_privilege(c.oid, p)
         UNION ALL
         SELECT p FROM unnest(ARRAY['USAGE', 'UPDATE']) AS p
          WHERE c.relkind = 'S' AND pg_catalog.has_sequence_privilege(c.oid, p)
       ) w
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND n.nspname NOT LIKE 'pg\\_temp%'
      ORDER BY 1, 2`,
  );
  const byRel = new Map<string, string[]>();
  for (const x of rels.rows) byRel.set(x.rel, [...(byRel.get(x.rel) ?? []), x.what]);
  for (const [rel, what] of byRel) problems.push(`${what.join(', ')} on ${rel}`);
  const schemas = await client.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_catalog.pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%'
        AND nspname NOT LIKE 'pg\\_temp%'
        AND (pg_catalog.has_schema_privilege(oid, 'CREATE') OR pg_catalog.pg_has_role(current_user, nspowner, 'USAGE'))
      ORDER BY 1`,
  );
  for (const s of schemas.rows) problems.push(`CREATE on schema ${s.name}`);
  const db = await client.query<{ create: boolean; name: string }>(
    `SELECT pg_catalog.has_database_privilege(current_database(), 'CREATE') AS create, current_database() AS name`,
  );
  if (db.rows[0]?.create) problems.push(`CREATE on database ${db.rows[0].name}`);
  return problems;
}
