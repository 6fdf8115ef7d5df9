/**
 * Gateway limits and budgets per API key and per org (issue 24 §2): requests per minute (RPM), tokens per minute
 * (TPM, from the upstream's usage) and a monthly spend budget in USD (UTC calendar month). Null: unlimited. When
 * both the key and its org set a limit, both apply, so the tighter one wins.
 *
 * Two calls around every upstream call:
 * - {@link GatewayLimits.admit} before it: refuses with 402 `budget_exceeded` when the month's spend already
 *   reached a budget, 429 `rate_limited` (Retry-After) when the minute's tokens already reached a TPM limit, and
 *   takes one request from each RPM limit atomically (all scopes or none) or refuses with 429.
 * - {@link GatewayLimits.record} after it: queues the call's `gateway_usage` row (tokens, cost, status,
 *   latency) for a group-commit writer per org, which also adds the tokens and cost to the counters. Never throws.
 * TPM and spend are known only after the call, so the check is "already over?": concurrent calls admitted
 * together can each overshoot by their own size. RPM is exact under concurrency.
 *
 * Counters are shared by every node: in Redis when REDIS_URL is set (one Lua script per call, atomic), else in
 * the database (`gateway_counters`, one transaction per call with row locks). Windows are fixed minute windows
 * starting at their first counted call. A month's spend counter is seeded from `gateway_usage` when missing
 * (first call under a budget this month, or Redis restarted), so it survives a lost Redis.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { AppError } from '../platform/errors.js';
import { rateLimited } from '../platform/ratelimit.js';
import { TtlCache } from '../platform/ttl-cache.js';
import { costMicros, type Price, type PriceTable, priceOf } from './prices.js';
import { upsertRollups } from './usage.js';

/** One scope's limits; null: unlimited. */
export interface Limits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  /** Monthly budget in micro-USD. */
  budgetMicros: number | null;
}

type ScopeName = 'key' | 'org';
interface Scope {
  name: ScopeName;
  /** The counter scope: the key id, or 'org'. */
  id: string;
  keyId: string | null;
  limits: Limits;
}

interface Loaded {
  orgId: string;
  org: Limits;
  key: Limits;
  prices: Map<string, PriceTable>;
}

/** What admit hands to record: who, what, at which price, under which limits. */
export interface Ticket {
  orgId: string;
  keyId: string;
  model: string;
  providerId: string | null;
  price: Price | null;
  scopes: Scope[];
}

export interface CallUsage {
  status: number;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
}

/** A call's usage row waiting for the writer. */
interface Pending {
  t: Ticket;
  prompt: number;
  completion: number;
  cost: number;
  status: number;
  latencyMs: number;
  at: Date;
  done: () => void;
}

const MAX_BATCH = 1_000;
/** Queued rows per org above which record() waits for the writer. */
const MAX_QUEUED = 5_000;

type Refusal = { kind: 'rpm' | 'tpm' | 'budget'; scope: ScopeName; retryAfterMs: number; limit: number };

const WINDOW_MS = 60_000;
const limited = (l: Limits) =>
  l.requestsPerMinute !== null || l.tokensPerMinute !== null || l.budgetMicros !== null;

/** The first instant of the UTC calendar month of `now`, and of the next one. */
export function utcMonth(now: number): { start: Date; next: Date; label: string } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return {
    start: new Date(Date.UTC(y, m, 1)),
    next: new Date(Date.UTC(y, m + 1, 1)),
    label: `${y}-${String(m + 1).padStart(2, '0')}`,
  };
}

function refusalError(r: Refusal): AppError {
  const whose = r.scope === 'key' ? 'the API key' : 'the org';
  if (r.kind === 'budget') {
    return new AppError(
      'budget_exceeded',
      `The monthly spend budget of ${whose} is used up; it renews at the start of the next UTC month`,
      { details: { limit: 'monthlyBudgetUsd', scope: r.scope } },
    );
  }
  const what =
    r.kind === 'rpm'
      ? `Request rate limit of ${whose} (${r.limit} per minute) reached`
      : `Token rate limit of ${whose} (${r.limit} per minute) reached`;
  // A transaction that waited for the row lock started (now()) before the window did: never past one window.
  const err = rateLimited(Math.min(r.retryAfterMs, WINDOW_MS), what);
  return new AppError('rate_limited', err.message, {
    headers: err.headers,
    details: { limit: r.kind === 'rpm' ? 'requestsPerMinute' : 'tokensPerMinute', scope: r.scope },
  });
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The month's spend of a scope from the usage rows (seeding a missing counter). */
async function spentFromUsage(
  q: Queryable,
  orgId: string,
  keyId: string | null,
  from: Date,
): Promise<number> {
  const { rows } = await q.query<{ spent: number }>(
    `SELECT coalesce(sum(cost_micros), 0)::float8 AS spent FROM gateway_usage
      WHERE org_id = $1 AND at >= $2 AND ($3::uuid IS NULL OR api_key_id = $3::uuid)`,
    [orgId, from, keyId],
  );
  return rows[0]?.spent ?? 0;
}

/** What one batch adds to one scope's counters. */
interface Add {
  id: string;
  tokens: number;
  cost: number;
}

interface CounterStore {
  admit(orgId: string, scopes: Scope[], now: number): Promise<Refusal | null>;
  /**
   * Adds tokens (of scopes with a TPM limit) and cost to the counters: inside the usage rows' transaction
   * (database store) or after it commits (Redis: `q` null). `adds`: keys before 'org', the lock order.
   */
  add(q: Queryable | null, orgId: string, adds: Add[], now: number): Promise<void>;
  close(): Promise<void>;
}

class RefusedInTx extends Error {
  constructor(readonly refusal: Refusal) {
    super('refused');
  }
}

/** Counters in `gateway_counters`, one transaction per call; row locks make the RPM take exact. */
class DbStore implements CounterStore {
  constructor(private readonly db: Database) {}

  async admit(orgId: string, scopes: Scope[], now: number): Promise<Refusal | null> {
    const month = utcMonth(now).start;
    try {
      await this.db.org(orgId, async (q) => {
        for (const sc of scopes) {
          const { budgetMicros, tokensPerMinute } = sc.limits;
          if (budgetMicros !== null) {
            const spent = await this.#spend(q, orgId, sc, month);
            if (spent >= budgetMicros)
              throw new RefusedInTx({ kind: 'budget', scope: sc.name, retryAfterMs: 0, limit: budgetMicros });
          }
          if (tokensPerMinute !== null) {
            const { rows } = await q.query<{ value: number; left_ms: number }>(
              `SELECT value::float8 AS value,
                      (extract(epoch FROM (window_start + interval '60 seconds' - now())) * 1000)::float8 AS left_ms
                 FROM gateway_counters WHERE org_id = $1 AND scope = $2 AND kind = 'tpm'`,
              [orgId, sc.id],
            );
            const r = rows[0];
            if (r && r.left_ms > 0 && r.value >= tokensPerMinute)
              throw new RefusedInTx({
                kind: 'tpm',
                scope: sc.name,
                retryAfterMs: r.left_ms,
                limit: tokensPerMinute,
              });
          }
        }
        // Key before org, always: concurrent calls lock the rows in one order.
        for (const sc of scopes) {
          const rpm = sc.limits.requestsPerMinute;
          if (rpm === null) continue;
          const { rows } = await q.query<{ value: number; left_ms: number }>(
            `INSERT INTO gateway_counters (org_id, scope, kind, window_start, value) VALUES ($1, $2, 'rpm', now(), 1)
             ON CONFLICT (org_id, scope, kind) DO UPDATE SET
               value = CASE WHEN gateway_counters.window_start <= now() - interval '60 seconds' THEN 1
                            ELSE gateway_counters.value + 1 END,
               window_start = CASE WHEN gateway_counters.window_start <= now() - interval '60 seconds' THEN now()
                                   ELSE gateway_counters.window_start END
             RETURNING value::float8 AS value,
                       (extract(epoch FROM (window_start + interval '60 seconds' - now())) * 1000)::float8 AS left_ms`,
            [orgId, sc.id],
          );
          const r = rows[0] as { value: number; left_ms: number };
          // Over: throwing rolls the whole transaction back, so a refused call takes nothing from any scope.
          if (r.value > rpm)
            throw new RefusedInTx({ kind: 'rpm', scope: sc.name, retryAfterMs: r.left_ms, limit: rpm });
        }
      });
    } catch (err) {
      if (err instanceof RefusedInTx) return err.refusal;
      throw err;
    }
    return null;
  }

  /** The month's spend counter; seeded from the usage rows when missing or of an earlier month. */
  async #spend(q: Queryable, orgId: string, sc: Scope, month: Date): Promise<number> {
    const cur = await q.query<{ value: number }>(
      `SELECT value::float8 AS value FROM gateway_counters
        WHERE org_id = $1 AND scope = $2 AND kind = 'spend' AND window_start = $3`,
      [orgId, sc.id, month],
    );
    if (cur.rows[0]) return cur.rows[0].value;
    const seeded = await q.query<{ value: number }>(
      `INSERT INTO gateway_counters (org_id, scope, kind, window_start, value)
       SELECT $1, $2, 'spend', $3, coalesce(sum(cost_micros), 0) FROM gateway_usage
        WHERE org_id = $1 AND at >= $3 AND ($4::uuid IS NULL OR api_key_id = $4::uuid)
       ON CONFLICT (org_id, scope, kind) DO UPDATE SET window_start = EXCLUDED.window_start, value = EXCLUDED.value
        WHERE gateway_counters.window_start < EXCLUDED.window_start
       RETURNING value::float8 AS value`,
      [orgId, sc.id, month, sc.keyId],
    );
    if (seeded.rows[0]) return seeded.rows[0].value;
    // Seeded by a concurrent call a moment ago.
    const again = await q.query<{ value: number }>(
      `SELECT value::float8 AS value FROM gateway_counters WHERE org_id = $1 AND scope = $2 AND kind = 'spend'`,
      [orgId, sc.id],
    );
    return again.rows[0]?.value ?? 0;
  }

  async add(tx: Queryable | null, orgId: string, adds: Add[], now: number) {
    const q = tx as Queryable;
    const month = utcMonth(now).start;
    for (const a of adds) {
      if (a.tokens <= 0) continue;
      await q.query(
        `INSERT INTO gateway_counters (org_id, scope, kind, window_start, value) VALUES ($1, $2, 'tpm', now(), $3)
         ON CONFLICT (org_id, scope, kind) DO UPDATE SET
           value = CASE WHEN gateway_counters.window_start <= now() - interval '60 seconds' THEN EXCLUDED.value
                        ELSE gateway_counters.value + EXCLUDED.value END,
           window_start = CASE WHEN gateway_counters.window_start <= now() - interval '60 seconds' THEN now()
                               ELSE gateway_counters.window_start END`,
        [orgId, a.id, a.tokens],
      );
    }
    // Only counters already seeded this month: a missing one is seeded from the usage rows, these included.
    for (const a of adds) {
      if (a.cost <= 0) continue;
      await q.query(
        `UPDATE gateway_counters SET value = value + $4
          WHERE org_id = $1 AND scope = $2 AND kind = 'spend' AND window_start = $3`,
        [orgId, a.id, month, a.cost],
      );
    }
  }

  async close(): Promise<void> {}
}

// KEYS, three per scope: rpm, tpm, spend. ARGV, three per scope: rpm limit, tpm limit, budget (-1: none).
// Checks every scope first, then takes one request from each RPM counter: all or nothing, atomically.
const ADMIT_LUA = `
local n = #KEYS / 3
for i = 1, n do
  local b = tonumber(ARGV[i * 3])
  if b >= 0 then
    local v = redis.call('GET', KEYS[i * 3])
    if not v then return {'seed', i, 0} end
    if tonumber(v) >= b then return {'budget', i, 0} end
  end
  local t = tonumber(ARGV[i * 3 - 1])
  if t >= 0 then
    local v = tonumber(redis.call('GET', KEYS[i * 3 - 1]) or '0')
    if v >= t then return {'tpm', i, redis.call('PTTL', KEYS[i * 3 - 1])} end
  end
  local r = tonumber(ARGV[i * 3 - 2])
  if r >= 0 then
    local v = tonumber(redis.call('GET', KEYS[i * 3 - 2]) or '0')
    if v >= r then return {'rpm', i, redis.call('PTTL', KEYS[i * 3 - 2])} end
  end
end
for i = 1, n do
  if tonumber(ARGV[i * 3 - 2]) >= 0 then
    if redis.call('INCR', KEYS[i * 3 - 2]) == 1 then redis.call('PEXPIRE', KEYS[i * 3 - 2], ${WINDOW_MS}) end
  end
end
return {'ok', 0, 0}
`;

// KEYS, two per scope: tpm, spend. ARGV, two per scope: tokens (0 when the scope has no TPM limit), cost.
// A spend counter is only added to when it exists: a missing one is seeded from the usage rows.
const ADD_LUA = `
for i = 1, #KEYS / 2 do
  local tokens = tonumber(ARGV[i * 2 - 1])
  local cost = tonumber(ARGV[i * 2])
  if tokens > 0 then
    redis.call('INCRBY', KEYS[i * 2 - 1], tokens)
    if redis.call('PTTL', KEYS[i * 2 - 1]) < 0 then redis.call('PEXPIRE', KEYS[i * 2 - 1], ${WINDOW_MS}) end
  end
  if cost > 0 and redis.call('EXISTS', KEYS[i * 2]) == 1 then redis.call('INCRBY', KEYS[i * 2], cost) end
end
return 1
`;

/** Counters in Redis, shared by every node; one script per admit and per record. */
class RedisStore implements CounterStore {
  readonly #redis: Redis;

  constructor(
    url: string,
    private readonly db: Database,
  ) {
    this.#redis = new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 2, lazyConnect: false });
    this.#redis.on('error', () => {}); // surfaced through failed calls (503) instead
  }

  #key = (orgId: string, scope: string, kind: string, now: number) =>
    `rampart:gw:${orgId}:${scope}:${kind === 'spend' ? `spend:${utcMonth(now).label}` : kind}`;

  async admit(orgId: string, scopes: Scope[], now: number): Promise<Refusal | null> {
    const keys = scopes.flatMap((sc) => ['rpm', 'tpm', 'spend'].map((k) => this.#key(orgId, sc.id, k, now)));
    const args = scopes.flatMap((sc) =>
      [sc.limits.requestsPerMinute, sc.limits.tokensPerMinute, sc.limits.budgetMicros].map((v) =>
        String(v ?? -1),
      ),
    );
    for (let attempt = 0; attempt < 3; attempt++) {
      const [kind, i, ms] = (await this.#redis.eval(ADMIT_LUA, keys.length, ...keys, ...args)) as [
        string,
        number,
        number,
      ];
      if (kind === 'ok') return null;
      const sc = scopes[i - 1] as Scope;
      if (kind === 'seed') {
        await this.#seed(orgId, sc, now);
        continue;
      }
      const limit =
        kind === 'rpm'
          ? sc.limits.requestsPerMinute
          : kind === 'tpm'
            ? sc.limits.tokensPerMinute
            : sc.limits.budgetMicros;
      return {
        kind: kind as Refusal['kind'],
        scope: sc.name,
        retryAfterMs: ms > 0 ? ms : WINDOW_MS,
        limit: limit ?? 0,
      };
    }
    throw new AppError('service_unavailable', 'Gateway limits are unavailable; try again shortly');
  }

  /** A month's spend counter missing from Redis (first call under a budget, or Redis lost it): from the rows. */
  async #seed(orgId: string, sc: Scope, now: number) {
    const month = utcMonth(now);
    const spent = await this.db.org(orgId, (q) => spentFromUsage(q, orgId, sc.keyId, month.start));
    // Kept a week past the month's end; NX: a concurrent seed or add that landed first stays.
    const ttl = month.next.getTime() - now + 7 * 86_400_000;
    await this.#redis.set(this.#key(orgId, sc.id, 'spend', now), String(spent), 'PX', ttl, 'NX');
  }

  async add(_q: Queryable | null, orgId: string, adds: Add[], now: number) {
    const keys = adds.flatMap((a) => [
      this.#key(orgId, a.id, 'tpm', now),
      this.#key(orgId, a.id, 'spend', now),
    ]);
    const args = adds.flatMap((a) => [String(a.tokens), String(a.cost)]);
    if (keys.length) await this.#redis.eval(ADD_LUA, keys.length, ...keys, ...args);
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

/** Per-node cache of an org's and a key's limits and the org's provider prices (5 s, dropped on change). */
export class GatewayLimits {
  readonly #db: Database;
  readonly #store: CounterStore;
  readonly #redis: boolean;
  readonly #log: Logger;
  readonly #cache = new TtlCache<Loaded>(5_000, 10_000);
  readonly #queues = new Map<string, Pending[]>();
  readonly #writers = new Map<string, Promise<void>>();
  /** Clock, for tests of the month boundary. */
  now: () => number = Date.now;

  constructor(opts: { db: Database; redisUrl?: string | undefined; logger: Logger }) {
    this.#db = opts.db;
    this.#log = opts.logger;
    this.#redis = Boolean(opts.redisUrl);
    this.#store = opts.redisUrl ? new RedisStore(opts.redisUrl, opts.db) : new DbStore(opts.db);
  }

  /** Where the counters live: `redis` or `database`. */
  get store(): 'redis' | 'database' {
    return this.#redis ? 'redis' : 'database';
  }

  /** Drops an org's cached limits and prices (settings, key or provider change: on the 'routing' announce). */
  invalidate(orgId: string): void {
    this.#cache.deleteWhere((v) => v.orgId === orgId);
  }

  clear(): void {
    this.#cache.clear();
  }

  async #load(orgId: string, keyId: string): Promise<Loaded> {
    const cacheKey = `${orgId}:${keyId}`;
    const hit = this.#cache.get(cacheKey);
    if (hit) return hit;
    const loaded = await this.#db.org(orgId, async (q) => {
      const { rows } = await q.query<Record<string, unknown>>(
        `SELECT o.gw_rpm, o.gw_tpm::float8 AS gw_tpm, o.gw_budget_micros::float8 AS gw_budget_micros,
                k.gw_rpm AS k_rpm, k.gw_tpm::float8 AS k_tpm, k.gw_budget_micros::float8 AS k_budget
           FROM orgs o LEFT JOIN api_keys k ON k.id = $2 AND k.org_id = o.id WHERE o.id = $1`,
        [orgId, keyId],
      );
      const p = await q.query<{ id: string; prices: PriceTable | null }>(
        'SELECT id, prices FROM llm_providers WHERE org_id = $1',
        [orgId],
      );
      const r = rows[0] ?? {};
      return {
        orgId,
        org: {
          requestsPerMinute: num(r.gw_rpm),
          tokensPerMinute: num(r.gw_tpm),
          budgetMicros: num(r.gw_budget_micros),
        },
        key: {
          requestsPerMinute: num(r.k_rpm),
          tokensPerMinute: num(r.k_tpm),
          budgetMicros: num(r.k_budget),
        },
        prices: new Map(p.rows.map((x) => [x.id, x.prices ?? {}])),
      } satisfies Loaded;
    });
    this.#cache.set(cacheKey, loaded);
    return loaded;
  }

  /**
   * Before the upstream call: refuses over a budget (402 budget_exceeded), over a rate (429 rate_limited with
   * Retry-After), or when a budget applies to a model without a price (400 validation_failed); else takes one
   * request from each RPM limit and returns the ticket for {@link record}.
   * @throws AppError budget_exceeded | rate_limited | validation_failed | service_unavailable
   */
  async admit(
    key: Pick<ApiKeyPrincipal, 'orgId' | 'keyId'>,
    model: string,
    providerId: string | null,
  ): Promise<Ticket> {
    const l = await this.#load(key.orgId, key.keyId);
    const price = priceOf(model, providerId ? l.prices.get(providerId) : undefined);
    const scopes: Scope[] = [
      { name: 'key' as const, id: key.keyId, keyId: key.keyId, limits: l.key },
      { name: 'org' as const, id: 'org', keyId: null, limits: l.org },
    ];
    const ticket: Ticket = { orgId: key.orgId, keyId: key.keyId, model, providerId, price, scopes };
    const active = scopes.filter((s) => limited(s.limits));
    if (active.length === 0) return ticket;
    if (!price && active.some((s) => s.limits.budgetMicros !== null))
      throw new AppError(
        'validation_failed',
        'A spend budget applies but this model has no price: set its price on the provider (prices) first',
      );
    let refusal: Refusal | null;
    try {
      refusal = await this.#store.admit(key.orgId, active, this.now());
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.#log.error({ err }, 'gateway limits: the counter store failed');
      throw new AppError('service_unavailable', 'Gateway limits are unavailable; try again shortly');
    }
    if (refusal) throw refusalError(refusal);
    return ticket;
  }

  /**
   * After the upstream call (any outcome): queues the call's usage row and its tokens and cost for the writer.
   * Resolves at once for a call under no TPM limit and no budget (the row is written off the response path);
   * else once the row and the counters are committed, so the caller's next call meets them. Never rejects: a
   * failed write is logged (the call has already happened).
   */
  record(t: Ticket, u: CallUsage): Promise<void> {
    const written = new Promise<void>((done) => {
      const queue = this.#queues.get(t.orgId) ?? [];
      this.#queues.set(t.orgId, queue);
      queue.push({
        t,
        prompt: u.promptTokens,
        completion: u.completionTokens,
        cost: costMicros(t.price, u.promptTokens, u.completionTokens),
        status: u.status,
        latencyMs: Math.max(0, Math.round(u.latencyMs)),
        at: new Date(this.now()),
        done,
      });
      this.#kick(t.orgId);
    });
    const counted = t.scopes.some((s) => s.limits.tokensPerMinute !== null || s.limits.budgetMicros !== null);
    // A writer falling behind slows its callers down rather than queueing without bound.
    const behind = (this.#queues.get(t.orgId)?.length ?? 0) > MAX_QUEUED;
    return counted || behind ? written : Promise.resolve();
  }

  /** One writer per org: each transaction takes every row queued meanwhile (group commit), in order. */
  #kick(orgId: string): void {
    if (this.#writers.has(orgId)) return;
    const run = async () => {
      await new Promise<void>((r) => setImmediate(r)); // let the calls of this tick join the first batch
      for (;;) {
        const queue = this.#queues.get(orgId);
        if (!queue?.length) {
          this.#queues.delete(orgId);
          return;
        }
        const batch = queue.splice(0, MAX_BATCH);
        try {
          await this.#write(orgId, batch);
        } catch (err) {
          this.#log.error({ err, orgId, rows: batch.length }, 'gateway limits: could not record calls');
        }
        for (const p of batch) p.done();
      }
    };
    const w = run().finally(() => this.#writers.delete(orgId));
    this.#writers.set(orgId, w);
  }

  async #write(orgId: string, batch: Pending[]): Promise<void> {
    const now = this.now();
    const byScope = new Map<string, Add>();
    for (const p of batch) {
      for (const sc of p.t.scopes) {
        const a = byScope.get(sc.id) ?? { id: sc.id, tokens: 0, cost: 0 };
        byScope.set(sc.id, a);
        if (sc.limits.tokensPerMinute !== null) a.tokens += p.prompt + p.completion;
        a.cost += p.cost;
      }
    }
    // The lock order of admit: keys (by id), then the org.
    const adds = [...byScope.values()].sort((x, y) =>
      x.id === 'org' ? 1 : y.id === 'org' ? -1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0,
    );
    await this.#db.org(orgId, async (q) => {
      await q.query(
        `INSERT INTO gateway_usage (org_id, api_key_id, model, provider_id, prompt_tokens, completion_tokens,
                                    cost_micros, status, latency_ms, at)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::bigint[], $6::bigint[], $7::bigint[],
                                  $8::int[], $9::int[], $10::timestamptz[])`,
        [
          orgId,
          batch.map((p) => p.t.keyId),
          batch.map((p) => p.t.model.slice(0, 200)),
          batch.map((p) => p.t.providerId),
          batch.map((p) => p.prompt),
          batch.map((p) => p.completion),
          batch.map((p) => p.cost),
          batch.map((p) => p.status),
          batch.map((p) => p.latencyMs),
          batch.map((p) => p.at),
        ],
      );
      await upsertRollups(
        q,
        orgId,
        batch.map((p) => ({ ...p, keyId: p.t.keyId, model: p.t.model, providerId: p.t.providerId })),
      );
      if (!this.#redis) await this.#store.add(q, orgId, adds, now);
    });
    if (this.#redis) await this.#store.add(null, orgId, adds, now);
  }

  /** Waits until every queued row is written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#writers.size) await Promise.all(this.#writers.values());
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#store.close();
  }
}
