/**
 * take(): the one consume-then-429 helper. Out of points is 429 rate_limited with the caller's message and a
 * Retry-After; the counter store down (Redis unreachable) is 503 service_unavailable on every limited route,
 * where most routes used to rethrow the raw error as a 500 and the widget alone answered 503.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/platform/errors.js';
import { createLimiterFactory, type LimiterFactory, take } from '../src/platform/ratelimit.js';

const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('take', () => {
  let closed: Server;
  let down: LimiterFactory;
  beforeAll(async () => {
    // A port that accepts and at once drops connections: a Redis that is down, without waiting on timeouts.
    closed = createServer((sock) => sock.destroy());
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as { port: number };
    down = createLimiterFactory(`redis://127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await down.close();
    await new Promise((r) => closed.close(r));
  });

  it('passes within the budget, then 429 rate_limited with the message and Retry-After', async () => {
    const limiter = createLimiterFactory(undefined).create('take-test', 2, 60);
    await take(limiter, 'k', 'Too many things');
    await take(limiter, 'k', 'Too many things');
    const err = await caught(take(limiter, 'k', 'Too many things'));
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    expect([e.code, e.status]).toEqual(['rate_limited', 429]);
    expect(e.message).toMatch(/^Too many things; retry in \d+ s$/);
    expect(Number(e.headers?.['retry-after'])).toBeGreaterThanOrEqual(59);
    const fixed = (await caught(take(limiter, 'k', 'Busy', { retryAfterMs: 1000 }))) as AppError;
    expect(fixed.headers?.['retry-after']).toBe('1');
  });

  it('the counter store down is 503 service_unavailable, never a pass or a 500', async () => {
    const err = await caught(take(down.create('take-down', 5, 60), 'k', 'Too many things'));
    expect(err).toBeInstanceOf(AppError);
    expect([(err as AppError).code, (err as AppError).status]).toEqual(['service_unavailable', 503]);
  });
});
