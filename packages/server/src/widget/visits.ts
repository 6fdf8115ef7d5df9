/**
 * What the public widget surface reads and writes: the widget's public settings (through a SECURITY DEFINER
 * function, before any tenant is known), visitor sessions, and one metadata row per message (never its text).
 */
import type { Database } from '../db/database.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { TtlCache } from '../platform/ttl-cache.js';

/** A widget as its public routes see it: whose it is, where it may be embedded, its rate limits. */
export interface PublicWidget {
  orgId: string;
  allowedOrigins: string[];
  perIp: number;
  perWidget: number;
  /** The org is suspended by an operator: the public routes refuse with org_suspended. */
  suspended: boolean;
}

/** @throws AppError not_found for an unknown or deleted widget */
export async function publicWidget(db: Database, widgetId: string): Promise<PublicWidget> {
  const { rows } = await db.tx({ orgId: null }, (q) =>
    q.query<{
      org_id: string;
      allowed_origins: string[];
      per_ip_per_minute: number;
      per_widget_per_minute: number;
      suspended: boolean;
    }>(
      // orgs has no RLS: the suspension is read with the widget, and cached with it (dropped on the 'org'
      // invalidation that suspending and resuming announce).
      `SELECT w.org_id::text AS org_id, w.allowed_origins, w.per_ip_per_minute, w.per_widget_per_minute,
              coalesce(o.suspended_at IS NOT NULL, false) AS suspended
         FROM rampart_widget_public($1) w LEFT JOIN orgs o ON o.id = w.org_id`,
      [widgetId],
    ),
  );
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Widget not found');
  return {
    orgId: r.org_id,
    allowedOrigins: r.allowed_origins,
    perIp: r.per_ip_per_minute,
    perWidget: r.per_widget_per_minute,
    suspended: r.suspended,
  };
}

/**
 * Per-node cache of {@link publicWidget}, so a visitor's messages cost no lookup round trip. Entries live 5 s at
 * most; an org's entries are dropped when its widgets change (`orgChanged`: at once on this node, on the node
 * bus message on the others, within 5 s if that is lost), as for gateway routes and API keys. An unknown
 * widget is not cached (its 404 costs a lookup each time, like any other miss).
 */
export class PublicWidgetCache {
  readonly #cache = new TtlCache<PublicWidget>(5_000, 10_000);

  async get(db: Database, widgetId: string): Promise<PublicWidget> {
    const hit = this.#cache.get(widgetId);
    if (hit) return hit;
    const generation = this.#cache.generation;
    const fresh = await publicWidget(db, widgetId);
    this.#cache.setIfUnchanged(widgetId, fresh, generation);
    return fresh;
  }

  /** Drops every widget of an org (its widgets changed, or the org was deleted). */
  invalidateOrg(orgId: string): void {
    this.#cache.deleteWhere((w) => w.orgId === orgId);
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** A new visitor session: its id, the widget, the keyed hash of its IP (never the IP) and the page's origin. */
export async function insertVisitor(
  db: Database,
  v: { id: string; orgId: string; widgetId: string; ipHash: string; origin: string },
): Promise<void> {
  await db.org(v.orgId, (q) =>
    q.query(
      'INSERT INTO widget_visitors (id, org_id, widget_id, ip_hash, origin) VALUES ($1, $2, $3, $4, $5)',
      [v.id, v.orgId, v.widgetId, v.ipHash, v.origin],
    ),
  );
}

/**
 * One row per message that got no answer: who (visitor id, IP HMAC), what happened, how long; never the text.
 * An answered message is recorded with its conversation by `recordExchange` (conversations.ts).
 */
export async function recordMessage(
  db: Database,
  orgId: string,
  widgetId: string,
  visitorId: string,
  ipHash: string,
  chunks: number,
  status: number,
  started: number,
): Promise<void> {
  await db.org(orgId, (q) =>
    q.query(
      `INSERT INTO widget_messages (id, org_id, widget_id, visitor_id, ip_hash, chunks, status, latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [newId(), orgId, widgetId, visitorId, ipHash, chunks, status, Math.round(performance.now() - started)],
    ),
  );
}
