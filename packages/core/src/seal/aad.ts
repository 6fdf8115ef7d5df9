/**
 * Where a sealed value lives. It is bound into the ciphertext as AAD, so a value copied to another org, table,
 * column or row (by a bug, a bad migration, or an attacker with write access to the database) fails to open
 * instead of silently decrypting in the wrong place.
 */
export interface SealContext {
  /** The owning tenant; `null` for platform-level rows that belong to no org. */
  orgId: string | null;
  table: string;
  column: string;
  /** The row's stable primary key (not a position or a mutable natural key, or rows could not be re-keyed). */
  rowId: string;
}

const DOMAIN = 'rampart.seal';

function requireNonEmpty(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`SealContext.${field} must be a non-empty string`);
  }
}

/**
 * Encodes the additional authenticated data for one envelope: UTF-8 of
 * `JSON.stringify(['rampart.seal', version, keyId, orgId, table, column, rowId])`.
 *
 * A JSON array, not a joined string, because joining is ambiguous (`a.b` + `c` vs `a` + `b.c`) and would let a
 * value move between contexts whose fields happen to concatenate to the same text. JSON quotes and escapes each
 * field (including lone surrogates, since ES2019), so distinct contexts always give distinct bytes. The domain
 * string stops AAD from ever colliding with another Rampart feature that uses the same keys; the version and
 * key id authenticate the envelope header.
 *
 * @throws {TypeError} if the context is malformed (a programmer error, not a data error).
 * @example encodeAad('v1', 'k1', { orgId: 'org_1', table: 'integrations', column: 'api_key', rowId: '42' })
 */
export function encodeAad(version: 'v1', keyId: string, ctx: SealContext): Buffer {
  if (version !== 'v1') throw new TypeError('encodeAad: unsupported version');
  requireNonEmpty(keyId, 'keyId');
  if (typeof ctx !== 'object' || ctx === null) throw new TypeError('SealContext must be an object');
  // An empty orgId is almost certainly a missing value; platform rows must say so explicitly with null.
  if (ctx.orgId !== null) requireNonEmpty(ctx.orgId, 'orgId');
  requireNonEmpty(ctx.table, 'table');
  requireNonEmpty(ctx.column, 'column');
  requireNonEmpty(ctx.rowId, 'rowId');
  return Buffer.from(
    JSON.stringify([DOMAIN, version, keyId, ctx.orgId, ctx.table, ctx.column, ctx.rowId]),
    'utf8',
  );
}
