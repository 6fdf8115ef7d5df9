import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { AppError } from './errors.js';

export interface LimiterFactory {
  /** A counter of `points` per `duration` seconds under a key namespace. */
  create(name: string, points: number, durationSeconds: number): RateLimiterAbstract;
  close(): Promise<void>;
}

/**
 * Rate-limit counters: in process memory by default, in Redis when REDIS_URL is set so every node shares
 * them. Redis failures fail closed for login throttling (an attacker must not get unlimited guesses by
 * knocking Redis over): the limiter's own insurance is not used.
 */
export function createLimiterFactory(redisUrl: string | undefined): LimiterFactory {
  if (!redisUrl) {
    return {
      create: (name, points, duration) => new RateLimiterMemory({ keyPrefix: name, points, duration }),
      close: async () => {},
    };
  }
  const client = new Redis(redisUrl, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 2,
    lazyConnect: false,
  });
  client.on('error', () => {}); // surfaced through failed limiter calls instead
  return {
    create: (name, points, duration) =>
      new RateLimiterRedis({ storeClient: client, keyPrefix: `rampart:${name}`, points, duration }),
    close: async () => {
      client.disconnect();
    },
  };
}

export const rateLimited = (retryAfterMs: number, what = 'Too many requests'): AppError => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError('rate_limited', `${what}; retry in ${seconds} s`, {
    headers: { 'retry-after': String(seconds) },
  });
};

/** Rate-limiter-flexible rejects with a RateLimiterRes (not an Error) when points run out. */
export function isLimiterRejection(err: unknown): err is { msBeforeNext: number } {
  return typeof err === 'object' && err !== null && 'msBeforeNext' in err && !(err instanceof Error);
}

/**
 * Takes one point from `limiter` for `key`. Out of points: 429 `rate_limited` with `message` and Retry-After
 * (`retryAfterMs` when given, else the limiter's own wait). The counter store is down (Redis unreachable: the
 * consume rejects with an Error): 503 `service_unavailable`, never an unmetered pass and never a 500, so every
 * limited route fails closed the same way.
 * @throws AppError rate_limited | service_unavailable
 */
export async function take(
  limiter: RateLimiterAbstract,
  key: string,
  message: string,
  opts: { retryAfterMs?: number } = {},
): Promise<void> {
  try {
    await limiter.consume(key, 1);
  } catch (err) {
    if (isLimiterRejection(err)) throw rateLimited(opts.retryAfterMs ?? err.msBeforeNext, message);
    throw new AppError('service_unavailable', 'Rate limiting is unavailable; try again shortly');
  }
}

/**
 * Exponential back-off on consecutive failures for one key (an account, an IP): `free` failures are allowed
 * back to back; the `free`-th locks the key for 1 s and each further failure doubles that (2^(n - free) s for
 * the n-th), capped at `maxSeconds`. So with `free: 5` the 6th attempt in a row is refused, whatever it holds.
 * Success clears the key.
 */
export class Backoff {
  readonly #failures: RateLimiterAbstract;
  readonly #lock: RateLimiterAbstract;
  readonly #free: number;
  readonly #maxSeconds: number;

  constructor(
    factory: LimiterFactory,
    name: string,
    opts: { free: number; maxSeconds: number; windowSeconds: number },
  ) {
    this.#failures = factory.create(`${name}:fail`, 1_000_000, opts.windowSeconds);
    this.#lock = factory.create(`${name}:lock`, 1, opts.maxSeconds);
    this.#free = opts.free;
    this.#maxSeconds = opts.maxSeconds;
  }

  /** Milliseconds until `key` may try again (0 when not locked). */
  async lockedFor(key: string): Promise<number> {
    const res = await this.#lock.get(key);
    return res && res.consumedPoints > 1 ? res.msBeforeNext : 0;
  }

  async failure(key: string): Promise<void> {
    const res = await this.#failures.penalty(key, 1);
    const over = res.consumedPoints - this.#free;
    if (over >= 0) await this.#lock.block(key, Math.min(2 ** over, this.#maxSeconds));
  }

  async success(key: string): Promise<void> {
    await Promise.all([this.#failures.delete(key), this.#lock.delete(key)]);
  }
}

/**
 * The key a per-IP limit counts under: an IPv4 address as it is, an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`) as its IPv4 address, and any other IPv6 address as its /64 prefix (`2001:db8:1:2::/64`).
 * One host (or one customer line) is routinely given a whole /64, so keying on the full 128-bit address would
 * hand an attacker 2^64 fresh buckets. Anything that is not an IP address is returned unchanged.
 */
export function ipLimitKey(ip: string): string {
  const addr = ip.split('%')[0] ?? '';
  const version = isIP(addr);
  if (version !== 6) return ip;
  let text = addr.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
