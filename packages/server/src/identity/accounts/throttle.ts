import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { Backoff, ipLimitKey, type LimiterFactory, rateLimited, take } from '../../platform/ratelimit.js';

/**
 * Login throttling per account and per IP with exponential back-off: 5 failures per account (20 per IP) in
 * 24 h, then the key is locked: 1 s after the 5th (20th), doubling with each further failure (2, 4 … s), capped
 * at 15 minutes, so the 6th attempt in a row is refused even with the right password. Keys are hashed
 * account ids and IPs (an IPv6 address counts as its /64, see ipLimitKey). The same answer (429 rate_limited + Retry-After) whether or not the account exists.
 */
export class LoginThrottle {
  readonly #account: Backoff;
  readonly #ip: Backoff;
  readonly #inflightAccount: RateLimiterAbstract;
  readonly #inflightIp: RateLimiterAbstract;

  constructor(factory: LimiterFactory) {
    this.#account = new Backoff(factory, 'login:acct', { free: 5, maxSeconds: 900, windowSeconds: 86_400 });
    this.#ip = new Backoff(factory, 'login:ip', { free: 20, maxSeconds: 900, windowSeconds: 86_400 });
    // Slots expire after 30 s even if a process dies holding one.
    this.#inflightAccount = factory.create('login:busy:acct', 1, 30);
    this.#inflightIp = factory.create('login:busy:ip', 4, 30);
  }

  /**
   * Takes the account's single in-flight slot (and one of the IP's four) before any work, atomically (memory or
   * Redis). Without it, parallel guesses all pass {@link check} before any failure is recorded, which turns
   * "5 tries then back off" into "as many tries as you can send at once". Returns the release function.
   * @throws AppError rate_limited
   */
  async enter(accountKey: string, clientIp: string): Promise<() => Promise<void>> {
    const ip = ipLimitKey(clientIp);
    await take(this.#inflightAccount, accountKey, 'Another sign-in for this account is in progress', {
      retryAfterMs: 1000,
    });
    try {
      await take(this.#inflightIp, ip, 'Too many sign-ins in progress from this address', {
        retryAfterMs: 1000,
      });
    } catch (err) {
      await this.#inflightAccount.reward(accountKey, 1);
      throw err;
    }
    return async () => {
      await Promise.all([this.#inflightAccount.reward(accountKey, 1), this.#inflightIp.reward(ip, 1)]);
    };
  }

  /** @throws AppError rate_limited */
  async check(accountKey: string, ip: string): Promise<void> {
    const [a, i] = await Promise.all([
      this.#account.lockedFor(accountKey),
      this.#ip.lockedFor(ipLimitKey(ip)),
    ]);
    const wait = Math.max(a, i);
    if (wait > 0) throw rateLimited(wait, 'Too many failed sign-in attempts');
  }

  async failure(accountKey: string, ip: string): Promise<void> {
    await Promise.all([this.#account.failure(accountKey), this.#ip.failure(ipLimitKey(ip))]);
  }

  async success(accountKey: string, ip: string): Promise<void> {
    await this.#account.success(accountKey);
    // The IP's count is not cleared by one success: one valid account must not launder a spraying IP.
    void ip;
  }
}
