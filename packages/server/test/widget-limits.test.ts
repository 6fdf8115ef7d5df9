/**
 * Widget rate limits on both counter stores (memory; Redis when REDIS_URL is set, shared by two nodes), visitor
 * tokens (expiry, binding, key separation), and the raw visitor IP absent from every PGlite data file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hashIp,
  signVisitor,
  VISITOR_TTL_SECONDS,
  verifyVisitor,
  visitorKeys,
} from '../src/widget/visitor.js';
import { startTestServer } from './helpers.js';
import { filesUnder, withFileBackedServer } from './leak-support.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

const SHOP = 'https://shop.example.com';
const ENV = { RAMPART_OUTBOUND_ALLOW: '127.0.0.1', RAMPART_TRUST_PROXY: '127.0.0.1' };

async function widgetFor(baseUrl: string, owner: Account, stubOrigin: string, perIpPerMinute: number) {
  await useStubProvider(baseUrl, owner, stubOrigin, ['chat-model']);
  const w = await api(baseUrl, owner.token).post<{ id: string }>(`/api/orgs/${owner.orgId}/widgets`, {
    name: 'w',
    allowedOrigins: [SHOP],
    model: 'chat-model',
    limits: { perIpPerMinute, perWidgetPerMinute: 1000 },
  });
  if (w.status !== 201) throw new Error(w.text);
  return w.body.id;
}

const STORES = [
  ['memory', {}],
  ...(process.env.REDIS_URL ? [['redis', { REDIS_URL: process.env.REDIS_URL }] as const] : []),
] as const;

describe.each(STORES)('widget per-IP limit on the %s store', (_store, storeEnv) => {
  it('refuses the third message from one IP (429) before the model is called', async () => {
    const stub = await startModelStub();
    const srv = await startTestServer('pglite', { ...ENV, ...storeEnv });
    try {
      const owner = await signup(srv.baseUrl);
      const id = await widgetFor(srv.baseUrl, owner, stub.origin, 2);
      const ip = `198.51.100.${1 + ((randomBytes(1)[0] ?? 0) % 200)}`;
      const v = visitor(srv.baseUrl, id, SHOP, ip);
      const { visitorToken } = (await v.session()).body;
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await v.message(visitorToken, 'hello')).status);
      expect(codes).toEqual([200, 200, 429]);
      expect(stub.calls).toHaveLength(2);
    } finally {
      await srv.close();
      await stub.close();
    }
  });
});

describe.skipIf(!process.env.REDIS_URL || !process.env.TEST_DATABASE_URL)(
  'two nodes share the limit through Redis',
  () => {
    it('a visitor alternating between nodes is limited by the total, not per node', async () => {
      const stub = await startModelStub();
      const env = { ...ENV, REDIS_URL: process.env.REDIS_URL as string };
      const nodeA = await startTestServer('postgres', env);
      const nodeB = await startTestServer('postgres', { ...env, DATABASE_URL: nodeA.url as string });
      try {
        const owner = await signup(nodeA.baseUrl);
        const id = await widgetFor(nodeA.baseUrl, owner, stub.origin, 3);
        const a = visitor(nodeA.baseUrl, id, SHOP, '198.51.100.250');
        const b = visitor(nodeB.baseUrl, id, SHOP, '198.51.100.250');
        const { visitorToken } = (await a.session()).body;
        const codes = [];
        for (let i = 0; i < 6; i++) codes.push((await (i % 2 ? b : a).message(visitorToken, 'hi')).status);
        expect(codes).toEqual([200, 200, 200, 429, 429, 429]);
      } finally {
        await nodeB.close();
        await nodeA.close();
        await stub.close();
      }
    });
  },
);

describe('visitor tokens', () => {
  const keys = visitorKeys(Buffer.alloc(32, 9));
  const widget = '6f9c1d2e-0000-4000-8000-000000000001';
  const now = new Date('2026-11-23T12:00:00Z');

  it('verify for their widget until they expire', () => {
    const { token, expiresAt } = signVisitor(keys, widget, 'visitor-1', now);
    expect(expiresAt.getTime() - now.getTime()).toBe(VISITOR_TTL_SECONDS * 1000);
    expect(verifyVisitor(keys, token, widget, now)).toEqual({ ok: true, visitorId: 'visitor-1' });
    expect(verifyVisitor(keys, token, widget, new Date(expiresAt.getTime() - 1))).toMatchObject({ ok: true });
    expect(verifyVisitor(keys, token, widget, expiresAt)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyVisitor(keys, token, '6f9c1d2e-0000-4000-8000-000000000002', now)).toEqual({
      ok: false,
      reason: 'widget',
    });
  });

  it('may be accepted past expiry within a grace (deleting a conversation), never past it, never forged', () => {
    const { token, expiresAt } = signVisitor(keys, widget, 'visitor-1', now);
    const later = new Date(expiresAt.getTime() + 100 * 86_400_000);
    expect(verifyVisitor(keys, token, widget, later)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyVisitor(keys, token, widget, later, 366 * 86_400)).toEqual({
      ok: true,
      visitorId: 'visitor-1',
    });
    expect(
      verifyVisitor(keys, token, widget, new Date(expiresAt.getTime() + 367 * 86_400_000), 366 * 86_400),
    ).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyVisitor(visitorKeys(Buffer.alloc(32, 8)), token, widget, later, 366 * 86_400)).toEqual({
      ok: false,
      reason: 'signature',
    });
  });

  it('are refused under another server secret, and the IP key is not the token key', () => {
    const { token } = signVisitor(keys, widget, 'v', now);
    expect(verifyVisitor(visitorKeys(Buffer.alloc(32, 8)), token, widget, now)).toEqual({
      ok: false,
      reason: 'signature',
    });
    expect(keys.ip.equals(keys.token)).toBe(false);
    expect(hashIp(keys, '203.0.113.5')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashIp(keys, '203.0.113.5')).not.toBe(hashIp(visitorKeys(Buffer.alloc(32, 8)), '203.0.113.5'));
  });
});

describe('raw visitor IPs in the PGlite data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-widget-ip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appear in no file, while their HMACs and the org data do', async () => {
    const stub = await startModelStub();
    const ips = ['203.0.113.231', '2001:db8::7a:e1'];
    let email: string;
    try {
      ({ result: email } = await withFileBackedServer(dir, ENV, async (base) => {
        const owner = await signup(base);
        const id = await widgetFor(base, owner, stub.origin, 100);
        for (const ip of ips) {
          const v = visitor(base, id, SHOP, ip);
          const { visitorToken } = (await v.session()).body;
          expect((await v.message(visitorToken, 'hello there')).status).toBe(200);
        }
        return owner.email;
      }));
    } finally {
      await stub.close();
    }
    const all = Buffer.concat(filesUnder(dir).map((f) => readFileSync(f)));
    expect(all.includes(Buffer.from(email))).toBe(true); // control: flushed, readable data
    const keys = visitorKeys(Buffer.alloc(32, 9));
    for (const ip of ips) {
      expect(all.includes(Buffer.from(ip)), ip).toBe(false);
      expect(all.includes(Buffer.from(hashIp(keys, ip))), `hash of ${ip}`).toBe(true);
    }
  });
});
