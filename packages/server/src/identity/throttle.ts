import { Backoff, type LimiterFactory, rateLimited } from '../platform/ratelimit.js';

/**
 * Login throttling per account and per IP with exponential back-off: 5 free failures per account (20 per
 * IP) in 24 h, then each failure locks that key for 1, 2, 4 … seconds, capped at 15 minutes. Keys are hashed
 * account ids and IPs. The same answer (429 rate_limited + Retry-After) whether or not the account exists.
 */
export class LoginThrottle {
  readonly #account: Backoff;
  readonly #ip: Backoff;

  constructor(factory: LimiterFactory) {
    this.#account = new Backoff(factory, 'login:acct', { free: 5, maxSeconds: 900, windowSeconds: 86_400 });
    this.#ip = new Backoff(factory, 'login:ip', { free: 20, maxSeconds: 900, windowSeconds: 86_400 });
  }

  /** @throws AppError rate_limited */
  async check(accountKey: string, ip: string): Promise<void> {
    const [a, i] = await Promise.all([this.#account.lockedFor(accountKey), this.#ip.lockedFor(ip)]);
    const wait = Math.max(a, i);
    if (wait > 0) throw rateLimited(wait, 'Too many failed sign-in attempts');
  }

  async failure(accountKey: string, ip: string): Promise<void> {
    await Promise.all([this.#account.failure(accountKey), this.#ip.failure(ip)]);
  }

  async success(accountKey: string, ip: string): Promise<void> {
    await this.#account.success(accountKey);
    // The IP's count is not cleared by one success: one valid account must not launder a spraying IP.
    void ip;
  }
}
