import type { CatalogNeeds, TableName } from '@rampart/core/sqlguard';
import type pg from 'pg';
import { AppError } from '../platform/errors.js';

/*
 * What the parser alone cannot decide, resolved against the target database's own catalog, on the same
 * connection (so the same search_path) right before the query runs. A SELECT-only role cannot change the
 * catalog in between: DDL is refused by the guard and by the read-only transaction.
 *
 * One query answers everything for almost every statement; a second one runs only when a field reference has
 * the name of a function and must be proven to be a column.
 */

// Built in means created by initdb: an OID below FirstNormalObjectId (16384). Extensions, the customer's own
// functions, and anything a superuser later adds to pg_catalog have higher OIDs.
const SURFACE_SQL = `
SELECT
  ARRAY(SELECT p.proname::text FROM pg_catalog.pg_proc p WHERE p.proname = ANY($1::text[]) AND p.pronargs > 0
        UNION
        SELECT y.typname::text FROM pg_catalog.pg_type y WHERE y.typname = ANY($1::text[])) AS attribute_functions,
  ARRAY(SELECT DISTINCT format('%s.%s(%s)', p.pronamespace::regnamespace, p.proname,
                               pg_catalog.pg_get_function_identity_arguments(p.oid)) FROM pg_catalog.pg_proc p
         WHERE p.proname = ANY($2::text[]) AND p.oid >= 16384
           AND (p.provolatile <> 'i' OR p.prosecdef
                -- an aggregate is marked immutable whatever its state functions are
                OR EXISTS (SELECT 1 FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc f
                             ON f.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                                          a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)
                            WHERE a.aggfnoid = p.oid AND (f.provolatile <> 'i' OR f.prosecdef)))
        UNION
        SELECT format('type %s.%s', y.typnamespace::regnamespace, y.typname) FROM pg_catalog.pg_type y
         WHERE y.typname = ANY($2::text[]) AND y.oid >= 16384) AS shadowing_functions,
  ARRAY(SELECT DISTINCT format('%s (%s)', o.oprname, p.oid::regprocedure)
          FROM pg_catalog.pg_operator u
          -- the planner may use an operator's commutator or negator instead of it
          JOIN pg_catalog.pg_operator o ON o.oid IN (u.oid, u.oprcom, u.oprnegate)
          JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
         -- the customer's operator over a built-in volatile function (pg_try_advisory_lock) counts too
         WHERE u.oprname = ANY($3::text[]) AND (o.oid >= 16384 OR o.oprcode::oid >= 16384)
           AND (p.provolatile <> 'i' OR p.prosecdef)) AS operators,
  ARRAY(SELECT t FROM unnest($4::text[]) AS t
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type y
                            WHERE y.oid = pg_catalog.to_regtype(t) AND y.oid < 16384
                              AND y.typnamespace = 'pg_catalog'::regnamespace)) AS foreign_types,
  ARRAY(SELECT DISTINCT format('%s to %s (%s)', c.castsource::regtype, c.casttarget::regtype,
                               p.oid::regprocedure)
          FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
         WHERE (c.oid >= 16384 OR c.castfunc >= 16384) AND (p.provolatile <> 'i' OR p.prosecdef)
           -- implicit casts apply by type; assignment casts too (WHERE and CASE WHEN coerce to boolean, array
           -- subscripts to integer, with no cast in the text)
           AND (c.castcontext IN ('i', 'a')
                OR c.casttarget IN (SELECT pg_catalog.to_regtype(t) FROM unnest($4::text[]) AS t))) AS casts,
  -- the planner's range selectivity estimators call a range type's subtype_diff, for any range operator
  ARRAY(SELECT DISTINCT format('%s (%s)', r.rngtypid::regtype, p.oid::regprocedure)
          FROM pg_catalog.pg_range r JOIN pg_catalog.pg_proc p ON p.oid IN (r.rngsubdiff, r.rngcanonical)
         WHERE p.oid >= 16384 AND (p.provolatile <> 'i' OR p.prosecdef)) AS range_functions`;

const PROOF_SQL = `
SELECT
  ARRAY(SELECT u.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(rel, col, i)
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = pg_catalog.to_regclass(u.rel) AND a.attname = u.col
                          AND a.attnum > 0 AND NOT a.attisdropped)) AS columns,
  ARRAY(SELECT u.i FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(rel, col, field, i)
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typrelid <> 0
                         JOIN pg_catalog.pg_attribute f ON f.attrelid = t.typrelid
                        WHERE a.attrelid = pg_catalog.to_regclass(u.rel) AND a.attname = u.col
                          AND a.attnum > 0 AND NOT a.attisdropped
                          AND f.attname = u.field AND f.attnum > 0 AND NOT f.attisdropped)) AS fields`;

const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;
const qualified = (t: TableName) =>
  t.schema === null ? quoteIdent(t.name) : `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
const notAllowed = (why: string) => new AppError('query_not_allowed', `Query not allowed: ${why}`);

async function ask<T>(client: pg.ClientBase, name: string, text: string, values: unknown[]): Promise<T> {
  try {
    // Named: prepared once per connection (the agent keeps one open), planned once.
    const r = await client.query({ name, text, values });
    return r.rows[0] as T;
  } catch (err) {
    const message = String((err as Error).message).slice(0, 200);
    // An SQLSTATE is the database's answer about the query's names (permission denied for a schema it names):
    // the caller's to fix, like the executor's refusals. Anything else is the connection failing.
    if (/^[0-9A-Z]{5}$/.test(String((err as { code?: unknown }).code ?? '')))
      throw new AppError('query_not_allowed', `The database refused the query: ${message}`);
    throw new AppError('bad_gateway', `The database could not be checked before the query: ${message}`);
  }
}

/**
 * Refuses a statement the guard accepted when the target's catalog shows it would call a function the guard
 * could not see:
 * - a field reference (`x.f`, `(expr).f`) whose name is a function in pg_proc or a type in pg_type and that is
 *   not proven a column (of the table it names, of a subquery or CTE, or a field of a composite column), since
 *   PostgreSQL then runs it as `f(x)`, or as a conversion `x::f` (a domain's CHECK runs);
 * - an allow-listed function name that a volatile, stable or SECURITY DEFINER function that is not built in
 *   also bears (overload resolution could pick it), or that a type that is not built in bears (a call without
 *   an exact match becomes a conversion to that type);
 * - an operator used (or applied implicitly) whose function is not built in and is volatile, stable or
 *   SECURITY DEFINER;
 * - a cast target that does not resolve to a built-in pg_catalog type (a domain runs its CHECK constraints, a
 *   user type its input function), or a cast to it, or any implicit or assignment cast, through such a function;
 * - any range type whose subtype_diff (or canonical) function is such a function (the planner calls it).
 * @throws AppError query_not_allowed (with the reason) | bad_gateway (the catalog could not be read)
 */
export async function checkCatalog(client: pg.ClientBase, needs: CatalogNeeds): Promise<void> {
  const attributeNames = [...new Set(needs.attributes.map((a) => a.name))];
  const surface = await ask<{
    attribute_functions: string[];
    shadowing_functions: string[];
    operators: string[];
    foreign_types: string[];
    casts: string[];
    range_functions: string[];
  }>(client, 'rampart_catalog_surface', SURFACE_SQL, [
    attributeNames,
    needs.functions,
    needs.operators,
    needs.types,
  ]);

  if (surface.shadowing_functions.length)
    throw notAllowed(
      `the database has its own ${surface.shadowing_functions[0]} with the name of an allowed function, ` +
        'which a call could reach',
    );
  if (surface.operators.length)
    throw notAllowed(`the operator ${surface.operators[0]} is backed by a function that is not built in`);
  if (surface.foreign_types.length)
    throw notAllowed(`cast to ${surface.foreign_types[0]} is not allowed (not a built-in type)`);
  if (surface.casts.length)
    throw notAllowed(
      `the database defines a cast from ${surface.casts[0]} through a function that is not built in`,
    );

  if (surface.range_functions.length)
    throw notAllowed(
      `the database's range type ${surface.range_functions[0]} has a function that is not built in and not ` +
        'immutable, which the planner runs for range comparisons',
    );

  const functions = new Set(surface.attribute_functions);
  const suspects = needs.attributes.filter((a) => functions.has(a.name) && !a.proof.names.includes(a.name));
  if (suspects.length === 0) return;

  const cols: Array<[string, string]> = [];
  const fields: Array<[string, string, string]> = [];
  for (const a of suspects) {
    for (const t of a.proof.tables) cols.push([qualified(t), a.name]);
    for (const f of a.proof.fields) fields.push([qualified(f.table), f.column, a.name]);
  }
  const proven = await ask<{ columns: string[]; fields: string[] }>(
    client,
    'rampart_catalog_proof',
    PROOF_SQL,
    [
      cols.map((c) => c[0]),
      cols.map((c) => c[1]),
      fields.map((f) => f[0]),
      fields.map((f) => f[1]),
      fields.map((f) => f[2]),
    ],
  );
  const columnsOk = new Set(proven.columns.map((i) => Number(i) - 1));
  const fieldsOk = new Set(proven.fields.map((i) => Number(i) - 1));
  let ci = 0;
  let fi = 0;
  for (const a of suspects) {
    let ok = false;
    for (let k = 0; k < a.proof.tables.length; k++) if (columnsOk.has(ci++)) ok = true;
    for (let k = 0; k < a.proof.fields.length; k++) if (fieldsOk.has(fi++)) ok = true;
    if (!ok)
      throw notAllowed(
        `${a.text} is not a column there, so PostgreSQL would call the function ${a.name} (attribute notation), ` +
          'or convert to the type of that name, which is not allowed',
      );
  }
}
