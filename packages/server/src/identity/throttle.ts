import { Backoff, type LimiterFactory, rateLimited } from '../platform/ratelimit.js';

/**
 * Login throttling per account and per IP with exponential back-off: 5 failures per account (20 per IP) in
 * 24 h, then the key is locked: 1 s after the 5th (20th), doubling with each further failure (2, 4 … s), capped
 * at 15 minutes, so the 6th attempt in a row is refused even with the right password. Keys are hashed
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
