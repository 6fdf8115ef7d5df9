/** Rows returned by a statement, normalised across PGlite and node-postgres. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Anything that runs parameterised SQL: a transaction handle on either engine. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a multi-statement script without parameters (migrations only). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` once the transaction has committed (never on rollback): for telling caches and other nodes about
   * a change, which must not happen before the change is visible. Present on {@link Database} transactions.
   */
  afterCommit?(fn: () => unknown): void;
}

/**
 * Whose data a transaction may touch. `orgId` becomes `app.org_id` for row-level security; `platform`
 * unlocks platform-level rows (org_id NULL) such as the platform audit chain. Neither bypasses RLS.
 */
export interface TenantContext {
  orgId: string | null;
  platform?: boolean;
  /** The signed-in user: lets them read their own memberships across orgs (`app.user_id`). */
  userId?: string | null;
}

export type EngineName = 'pglite' | 'postgres';

/** A raw engine connection: runs a callback in one transaction as the connecting (owner) user. */
export interface Engine {
  readonly name: EngineName;
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
