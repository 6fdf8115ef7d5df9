import { readFileSync } from 'node:fs';
import { queryReferences } from '@rampart/core/sqlguard';
import type pg from 'pg';
import { z } from 'zod';
import { AppError } from '../platform/errors.js';

const ident = String.raw`(?:\*|[^.*\s]+)`;
const tablePattern = new RegExp(`^${ident}\\.${ident}$`);
const columnPattern = new RegExp(`^(?:${ident}\\.){0,2}${ident}$`);

/**
 * The on-prem agent's local policy (a JSON file the customer keeps next to the agent). The agent enforces it on
 * every query, whatever the server sends: docs/DBACCESS.md "Agent policy".
 */
export const agentPolicySchema = z.strictObject({
  version: z.literal(1),
  /** Relations a query may read: `schema.table`, `schema.*` (any table of that schema). */
  tables: z.array(z.string().regex(tablePattern, 'expected "schema.table" or "schema.*"')).min(1).max(10_000),
  /**
   * Columns no query may name, select through `*` or a whole-row value, or compare: `column`, `table.column` or
   * `schema.table.column`; `*` matches any one name.
   */
  deniedColumns: z
    .array(z.string().regex(columnPattern, 'expected "column", "table.column" or "schema.table.column"'))
    .max(10_000)
    .default([]),
  /** Rows returned per query at most (lower than the sandbox default of 1000 to read less). */
  maxRows: z.number().int().min(1).max(1_000_000).optional(),
  /** Read `information_schema.tables` and `.columns` (names and types, no rows), as schema discovery needs. */
  catalog: z.boolean().default(true),
});
export type AgentPolicy = z.infer<typeof agentPolicySchema>;

/**
 * Reads and validates a policy file.
 * @throws Error with a message naming the file and the first problems (for the CLI to print).
 */
export function loadAgentPolicy(file: string): AgentPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`policy file ${file}: ${(err as Error).message}`);
  }
  const parsed = agentPolicySchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `policy file ${file}: ${parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  return parsed.data;
}

const matches = (pattern: string, name: string) => pattern === '*' || pattern === name;
const CATALOG = new Set(['information_schema.tables', 'information_schema.columns']);

/**
 * Refuses a (guard-accepted) query that reads outside the policy: a relation not listed, or a denied column named,
 * expanded by `*` or reached through a whole-row value, a column alias list or a NATURAL join. Relations without a
 * schema are resolved in the catalog the way the query itself will be (`to_regclass`, same session). Conservative:
 * a column name that is denied on any relation of the query is refused wherever it appears.
 * @throws AppError query_not_allowed
 */
export async function enforceAgentPolicy(
  client: pg.ClientBase,
  sql: string,
  policy: AgentPolicy,
): Promise<void> {
  const refs = queryReferences(sql);
  const ctes = new Set(refs.cteNames);
  const resolved: Array<{ oid: string; schema: string; name: string }> = [];
  for (const r of refs.relations) {
    const quoted = [r.schema, r.name]
      .filter((p): p is string => p !== null)
      .map((p) => `"${p.replaceAll('"', '""')}"`)
      .join('.');
    const { rows } = await client.query<{ oid: string; schema: string; name: string }>(
      `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = pg_catalog.to_regclass($1)`,
      [quoted],
    );
    const row = rows[0];
    if (!row) {
      if (r.schema === null && ctes.has(r.name)) continue; // a CTE of the query
      throw new AppError(
        'query_not_allowed',
        `Refused by the agent's policy: relation ${quoted} is not allowed`,
      );
    }
    const full = `${row.schema}.${row.name}`;
    const allowed =
      (policy.catalog && CATALOG.has(full)) ||
      policy.tables.some((t) => {
        const [s, n] = t.split('.') as [string, string];
        return matches(s, row.schema) && matches(n, row.name);
      });
    if (!allowed)
      throw new AppError(
        'query_not_allowed',
        `Refused by the agent's policy: relation ${full} is not allowed`,
      );
    resolved.push(row);
  }
  if (!policy.deniedColumns.length || !resolved.length) return;
  const denied = new Set<string>();
  const columns = new Set<string>();
  for (const rel of resolved) {
    const { rows } = await client.query<{ attname: string }>(
      'SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped',
      [rel.oid],
    );
    for (const { attname } of rows) {
      columns.add(attname);
      for (const p of policy.deniedColumns) {
        const parts = p.split('.');
        const [s, t, c] =
          parts.length === 3 ? parts : parts.length === 2 ? ['*', ...parts] : ['*', '*', ...parts];
        if (
          matches(s as string, rel.schema) &&
          matches(t as string, rel.name) &&
          matches(c as string, attname)
        )
          denied.add(attname);
      }
    }
  }
  if (!denied.size) return;
  const list = [...denied].sort().join(', ');
  if (refs.star)
    throw new AppError(
      'query_not_allowed',
      `Refused by the agent's policy: * would read denied columns (${list}); name the columns`,
    );
  // x.to_json, x.concat: attribute notation calls the function on the whole row unless the name is a column.
  const call = refs.attributeCalls.find((f) => !columns.has(f));
  if (refs.wholeRow || refs.renamesColumns || call !== undefined)
    throw new AppError(
      'query_not_allowed',
      `Refused by the agent's policy: whole-row values, column alias lists and NATURAL joins are refused on tables with denied columns (${list})`,
    );
  const hit = refs.identifiers.find((i) => denied.has(i));
  if (hit !== undefined)
    throw new AppError('query_not_allowed', `Refused by the agent's policy: column ${hit} is denied`);
}
