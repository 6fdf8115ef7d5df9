import { isUuid } from '../platform/ids.js';
import type { Engine, EngineName, Queryable, TenantContext } from './types.js';

/** The role every request runs as: not the owner, not a superuser, no BYPASSRLS (checked at start). */
export const APP_ROLE = 'rampart_app';

/**
 * The application's handle on the database. Every unit of work is one transaction that first switches to
 * {@link APP_ROLE} and sets the tenant context with SET LOCAL semantics (`set_config(..., true)`), so the
 * context dies with the transaction and can never leak to the next tenant on a pooled connection.
 */
export class Database {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  get engine(): EngineName {
    return this.#engine.name;
  }

  /**
   * Runs `fn` in a transaction as the application role, scoped to `ctx`.
   * @throws TypeError when `ctx.orgId` is not a UUID (never reaches SQL)
   * @example await db.tx({ orgId }, (q) => q.query('SELECT name FROM org_secrets'))
   */
  tx<T>(ctx: TenantContext, fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (ctx.orgId !== null && !isUuid(ctx.orgId)) throw new TypeError('tenant context orgId must be a UUID');
    if (ctx.userId != null && !isUuid(ctx.userId))
      throw new TypeError('tenant context userId must be a UUID');
    const committed: Array<() => unknown> = [];
    return this.#engine
      .transaction(async (q) => {
        await q.query(
          `SELECT set_config('role', $1, true), set_config('app.org_id', $2, true), set_config('app.platform', $3, true),
                set_config('app.user_id', $4, true)`,
          [APP_ROLE, ctx.orgId ?? '', ctx.platform ? 'on' : 'off', ctx.userId ?? ''],
        );
        return fn({
          query: (sql, params) => q.query(sql, params),
          exec: (sql) => q.exec(sql),
          afterCommit: (cb) => void committed.push(cb),
        });
      })
      .then(async (result) => {
        // The change is visible now; a hook that fails must not turn a committed change into an error.
        for (const cb of committed) await Promise.resolve(cb()).catch(() => {});
        return result;
      });
  }

  /** Shorthand for an org-scoped transaction. */
  org<T>(orgId: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.tx({ orgId }, fn);
  }

  /** Platform-level work (no org): sign-up, platform audit chain, operator listings. Still the app role. */
  platform<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.tx({ orgId: null, platform: true }, fn);
  }

  /**
   * Every org id, ascending (`orgs` is a platform table without RLS). Maintenance commands walk tenant data
   * org by org with {@link Database.org} rather than relying on the owner bypassing RLS, which it does not
   * when it is neither superuser nor BYPASSRLS (FORCE ROW LEVEL SECURITY binds the table owner).
   */
  async orgIds(): Promise<string[]> {
    const { rows } = await this.platform((q) =>
      q.query<{ id: string }>('SELECT id::text AS id FROM orgs ORDER BY id'),
    );
    return rows.map((r) => r.id);
  }

  /**
   * Runs as the connecting owner user. Tenant tables FORCE row-level security, so unless that user is a
   * superuser or has BYPASSRLS it sees no tenant row here: tenant-wide maintenance must go org by org through
   * {@link Database.org} (see {@link Database.orgIds}). Only for migrations and owner-level
   * setup run from the CLI or tests; never from a request handler.
   */
  owner<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.#engine.transaction(fn);
  }

  close(): Promise<void> {
    return this.#engine.close();
  }
}
