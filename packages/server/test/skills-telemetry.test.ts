/**
 * Runtime telemetry: the compact schema only (numbers, enums, short identifiers), runtime tokens only, strict
 * refusal of unknown fields and oversize batches with nothing stored, a per-token rate limit, and the
 * retention sweep.
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepTelemetry } from '../src/skills/telemetry.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string; issues?: Array<{ path: string; message: string }> };

const event = (over: Record<string, unknown> = {}) => ({
  skill: 'invoices',
  version: 3,
  stepsTotal: 12,
  stepsOk: 11,
  stepsFailed: 1,
  durationMs: 4_250,
  outcome: 'failed',
  errorCode: 'selector_timeout',
  runtimeVersion: '0.1.0',
  ...over,
});

describe.each(ENGINES)('runtime telemetry (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  let token: string;
  const o = () => `/api/orgs/${owner.orgId}`;
  const send = (body: unknown, credential = token) =>
    api(srv.baseUrl, credential).post<Err & { accepted: number }>('/api/runtime/telemetry', body);
  const stored = async () =>
    srv.rampart.services.db.org(owner.orgId, async (q) =>
      Number((await q.query<{ n: string }>('SELECT count(*) AS n FROM runtime_telemetry')).rows[0]?.n),
    );

  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_TELEMETRY_PER_MINUTE: '8' });
    owner = await signup(srv.baseUrl);
    token = (
      await api(srv.baseUrl, owner.token).post<{ token: string }>(`${o()}/runtime-tokens`, { name: 'rt' })
    ).body.token;
  });
  afterAll(() => srv?.close());

  it('accepts a compact batch (202) and the dashboard lists it, newest first, filterable by skill', async () => {
    const r = await send({
      events: [event(), event({ skill: 'reports', outcome: 'succeeded', errorCode: null, stepsFailed: 0 })],
    });
    expect(r.status, r.text).toBe(202);
    expect(r.body.accepted).toBe(2);
    const list = await api(srv.baseUrl, owner.token).get<{ events: Array<Record<string, unknown>> }>(
      `${o()}/runtime-telemetry?skill=invoices`,
    );
    expect(list.status).toBe(200);
    expect(list.body.events).toEqual([
      expect.objectContaining({
        skill: 'invoices',
        version: 3,
        stepsTotal: 12,
        outcome: 'failed',
        errorCode: 'selector_timeout',
      }),
    ]);
  });

  it('refuses, storing nothing: unknown fields, page content, URLs, free-text errors, inconsistent counts', async () => {
    const before = await stored();
    const bad: Array<[string, unknown]> = [
      ['unknown field (a URL)', { events: [event({ url: 'https://bank.example.com/account?id=42' })] }],
      ['unknown field (page text)', { events: [event({ pageText: 'Balance: $12,000' })] }],
      ['unknown top-level field', { events: [event()], html: '<html>' }],
      ['URL as error code', { events: [event({ errorCode: 'https://x.example.com/?q=secret' })] }],
      [
        'message as error code',
        { events: [event({ errorCode: 'Element "#pay" not found on Checkout page' })] },
      ],
      ['URL as skill', { events: [event({ skill: 'https://x.example.com' })] }],
      ['counts do not add up', { events: [event({ stepsOk: 12, stepsFailed: 1 })] }],
      ['negative duration', { events: [event({ durationMs: -1 })] }],
      ['unknown outcome', { events: [event({ outcome: 'exploded' })] }],
      ['string number', { events: [event({ version: '3' })] }],
      ['empty batch', { events: [] }],
      ['101 events', { events: Array.from({ length: 101 }, () => event()) }],
      [
        'prototype pollution key',
        JSON.parse(`{"events":[${JSON.stringify(event()).slice(0, -1)},"__proto__":{"x":1}}]}`),
      ],
      ['one bad event spoils the batch', { events: [event(), event({ extra: 1 })] }],
    ];
    for (const [what, body] of bad) {
      const r = await send(body);
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(r.text.includes('bank.example.com')).toBe(false);
    }
    expect(await stored()).toBe(before);
  });

  it('a body over 64 KiB is 413 before validation; only runtime tokens may send (sessions and API keys: 401)', async () => {
    const big = { events: [event({ errorCode: 'x'.repeat(70 * 1024) })] };
    const r = await send(big);
    expect(r.status).toBe(413);
    expect(r.body.error).toBe('payload_too_large');
    const key = (await api(srv.baseUrl, owner.token).post<{ key: string }>(`${o()}/api-keys`, { name: 'k' }))
      .body.key;
    for (const cred of [owner.token, key]) expect((await send({ events: [event()] }, cred)).status).toBe(401);
    const anon = await api(srv.baseUrl).post<Err>('/api/runtime/telemetry', {
      events: [event({ bogus: 1 })],
    });
    expect(anon.status).toBe(401);
  });

  it('rate-limits per runtime token with 429 and Retry-After', async () => {
    const other = (
      await api(srv.baseUrl, owner.token).post<{ token: string }>(`${o()}/runtime-tokens`, { name: 'busy' })
    ).body.token;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await send({ events: [event()] }, other);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses.slice(0, 8)).toEqual(Array(8).fill(202));
    expect(statuses.slice(8)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it('the retention sweep deletes events older than the window and keeps the rest', async () => {
    const { db } = srv.rampart.services;
    const n = await stored();
    expect(n).toBeGreaterThan(0);
    expect(await sweepTelemetry(db, 30, new Date(Date.now() + 29 * 86_400_000))).toBe(0);
    expect(await stored()).toBe(n);
    expect(await sweepTelemetry(db, 30, new Date(Date.now() + 31 * 86_400_000))).toBeGreaterThanOrEqual(n);
    expect(await stored()).toBe(0);
  });
});
