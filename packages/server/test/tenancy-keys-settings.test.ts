import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type Account, type Api, api, signup } from '@rampart/testing';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string };
interface Listed {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  redaction?: string;
  region?: string | null;
  scopes?: string[];
}
interface AuditEntry {
  action: string;
  target: string | null;
  meta: Record<string, unknown>;
}

const BASE58 = '[1-9A-HJ-NP-Za-km-z]';
/** The stored form, computed independently: SHA-256 over a domain label, NUL, then the whole key. */
const labelledSha256 = (key: string) =>
  createHash('sha256').update(`rampart.apikey.v1\0${key}`).digest('hex');
const fake = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;

describe.each(ENGINES)('API keys, runtime tokens, settings, secrets (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  let a: Api;
  let o: string;
  /** Every response body seen in this suite, for "the plaintext never comes back" checks. */
  const seen: string[] = [];
  const audit = async (action: string) => {
    const r = await a.get<{ entries: AuditEntry[] }>(`${o}/audit?action=${action}&limit=500`);
    return r.body.entries;
  };
  const row = (table: 'api_keys' | 'runtime_tokens', id: string) =>
    srv.rampart.services.db.owner(async (q) => {
      const { rows } = await q.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
      return rows[0] ?? {};
    });

  beforeAll(async () => {
    srv = await startTestServer(engine);
    owner = await signup(srv.baseUrl, { orgName: 'Keys Org' });
    const raw = api(srv.baseUrl, owner.token);
    const record =
      (f: (path: string, body?: unknown) => ReturnType<Api['get']>) =>
      async (path: string, body?: unknown) => {
        const r = await f(path, body);
        seen.push(r.text);
        return r;
      };
    a = {
      request: raw.request,
      get: record(raw.get) as Api['get'],
      post: record(raw.post) as Api['post'],
      put: record(raw.put) as Api['put'],
      patch: record(raw.patch) as Api['patch'],
      del: record(raw.del) as Api['del'],
    };
    o = `/api/orgs/${owner.orgId}`;
  });
  afterAll(() => srv.close());

  describe('API keys', () => {
    let id: string;
    let key: string;

    it('create → 201 {id, key, prefix}: rk_live_ + base58 of 32 bytes, prefix = 8 chars after rk_live_', async () => {
      const r = await a.post<{ id: string; key: string; prefix: string }>(`${o}/api-keys`, {
        name: 'ci',
        redaction: 'off',
        region: 'eu',
      });
      expect(r.status).toBe(201);
      expect(Object.keys(r.body).sort()).toEqual(['id', 'key', 'prefix']);
      ({ id, key } = r.body);
      expect(key).toMatch(new RegExp(`^rk_live_${BASE58}{32,44}$`));
      expect(r.body.prefix).toBe(key.slice('rk_live_'.length, 'rk_live_'.length + 8));
    });

    it('listing never contains `key` or the key string; it shows redaction and region', async () => {
      const r = await a.get<{ keys: Listed[] }>(`${o}/api-keys`);
      expect(r.text).not.toContain(key);
      expect(r.text).not.toContain('"key"');
      const k = r.body.keys.find((x) => x.id === id);
      expect(k).toMatchObject({
        name: 'ci',
        prefix: key.slice(8, 16),
        lastUsedAt: null,
        redaction: 'off',
        region: 'eu',
      });
      expect(Object.keys(k ?? {}).sort()).toEqual([
        'createdAt',
        'fallbacks',
        'id',
        'lastUsedAt',
        'monthlyBudgetUsd',
        'name',
        'prefix',
        'redactCompletions',
        'redaction',
        'redactionMode',
        'region',
        'requestsPerMinute',
        'scopes',
        'tokensPerMinute',
      ]);
      // Omitted at creation: the default scopes, what every key could do before scopes existed.
      expect(k?.scopes).toEqual(['gateway', 'db.query', 'skills.publish']);
    });

    it('the database holds only the labelled SHA-256 and the prefix, never the key', async () => {
      const r = await row('api_keys', id);
      expect(r.key_hash).toBe(labelledSha256(key));
      expect(r.key_hash).not.toBe(createHash('sha256').update(key).digest('hex'));
      expect(r).toMatchObject({
        prefix: key.slice(8, 16),
        redaction: 'off',
        region: 'eu',
        created_by: owner.userId,
      });
      expect(await tablesContaining(srv.rampart.services.db, key)).toEqual([]);
      expect(await tablesContaining(srv.rampart.services.db, key.slice(8))).toEqual([]);
    });

    it('defaults: redaction inherit, region null (the org region)', async () => {
      const r = await a.post<{ id: string }>(`${o}/api-keys`, { name: 'defaults' });
      const list = await a.get<{ keys: Listed[] }>(`${o}/api-keys`);
      expect(list.body.keys.find((x) => x.id === r.body.id)).toMatchObject({
        redaction: 'inherit',
        redactionMode: null,
        redactCompletions: null,
        region: null,
      });
    });

    it('using the key yields its org, redaction and region, and lastUsedAt gets set', async () => {
      const p = await srv.rampart.services.auth.apiKey(fake(key));
      expect(p).toEqual({
        kind: 'api_key',
        keyId: id,
        orgId: owner.orgId,
        redaction: 'off',
        redactionMode: null,
        redactCompletions: null,
        region: 'eu',
        scopes: ['gateway', 'db.query', 'skills.publish'],
        createdBy: owner.userId,
      });
      await expect
        .poll(
          async () =>
            (await a.get<{ keys: Listed[] }>(`${o}/api-keys`)).body.keys.find((x) => x.id === id)?.lastUsedAt,
        )
        .toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('an API key is not a dashboard credential, nor a runtime one (401)', async () => {
      const k = api(srv.baseUrl, key);
      for (const path of [`${o}/members`, `${o}/api-keys`, '/api/me', '/api/runtime/whoami']) {
        const r = await k.get<Err>(path);
        expect(r.status, path).toBe(401);
        expect(r.body.error).toBe('unauthorized');
      }
    });

    it('bad input is 400 validation_failed', async () => {
      for (const body of [
        {},
        { name: '' },
        { name: 'x'.repeat(101) },
        { name: 'ok', redaction: 'maybe' },
        { name: 'ok', redactionMode: 'encrypt' },
        { name: 'ok', redactCompletions: 1 },
        { name: 'ok', region: 'mars' },
        { name: 'ok', scopes: ['all'] },
      ]) {
        const r = await a.post<Err>(`${o}/api-keys`, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
    });

    it('revoke → 200, gone from the listing, refused at once; a second revoke is 404', async () => {
      const r = await a.del(`${o}/api-keys/${id}`);
      expect(r.status).toBe(200);
      const list = await a.get<{ keys: Listed[] }>(`${o}/api-keys`);
      expect(list.body.keys.map((x) => x.id)).not.toContain(id);
      // It was cached by the use above: revocation must evict it on this node.
      await expect(srv.rampart.services.auth.apiKey(fake(key))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      const again = await a.del<Err>(`${o}/api-keys/${id}`);
      expect(again.status).toBe(404);
      expect(again.body.error).toBe('not_found');
      expect((await a.del<Err>(`${o}/api-keys/${randomUUID()}`)).status).toBe(404);
    });

    it('creation and revocation are audited with name and prefix, never the key', async () => {
      const created = (await audit('api_key.created')).find((e) => e.target === `api_key:${id}`);
      expect(created?.meta).toEqual({
        name: 'ci',
        prefix: key.slice(8, 16),
        redaction: 'off',
        region: 'eu',
        scopes: ['gateway', 'db.query', 'skills.publish'],
      });
      expect((await audit('api_key.revoked')).map((e) => e.target)).toContain(`api_key:${id}`);
    });
  });

  describe('runtime tokens', () => {
    let id: string;
    let token: string;

    it('create → 201 {id, token, prefix}, rt_live_...; listing never shows the token', async () => {
      const r = await a.post<{ id: string; token: string; prefix: string }>(`${o}/runtime-tokens`, {
        name: 'runner',
      });
      expect(r.status).toBe(201);
      expect(Object.keys(r.body).sort()).toEqual(['id', 'prefix', 'token']);
      ({ id, token } = r.body);
      expect(token).toMatch(new RegExp(`^rt_live_${BASE58}{32,44}$`));
      expect(r.body.prefix).toBe(token.slice(8, 16));
      const list = await a.get<{ tokens: Listed[] }>(`${o}/runtime-tokens`);
      expect(list.text).not.toContain(token);
      expect(list.body.tokens.find((x) => x.id === id)).toMatchObject({
        name: 'runner',
        prefix: r.body.prefix,
      });
      const stored = await row('runtime_tokens', id);
      expect(stored.token_hash).toBe(labelledSha256(token));
      expect(await tablesContaining(srv.rampart.services.db, token)).toEqual([]);
      expect((await audit('runtime_token.created')).map((e) => e.target)).toContain(`runtime_token:${id}`);
    });

    it('a runtime token works on the runtime surface only; a session does not work there', async () => {
      const whoami = await api(srv.baseUrl, token).get(`/api/runtime/whoami`);
      expect(whoami.status).toBe(200);
      expect(whoami.body).toEqual({ orgId: owner.orgId, tokenId: id, scopes: ['sync', 'telemetry'] });
      for (const path of [`${o}/members`, `${o}/runtime-tokens`, '/api/me']) {
        expect((await api(srv.baseUrl, token).get(path)).status, path).toBe(401);
      }
      expect((await a.get('/api/runtime/whoami')).status).toBe(401);
    });

    it('revoke → 200, gone, refused at once; second revoke 404', async () => {
      expect((await a.del(`${o}/runtime-tokens/${id}`)).status).toBe(200);
      const list = await a.get<{ tokens: Listed[] }>(`${o}/runtime-tokens`);
      expect(list.body.tokens.map((x) => x.id)).not.toContain(id);
      await expect(srv.rampart.services.auth.runtime(fake(token))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      expect((await api(srv.baseUrl, token).get('/api/runtime/whoami')).status).toBe(401);
      expect((await a.del(`${o}/runtime-tokens/${id}`)).status).toBe(404);
    });
  });

  describe('settings', () => {
    it('defaults: PII redaction on, region us, 365 days', async () => {
      const r = await a.get(`${o}/settings`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        piiRedaction: true,
        redactionMode: 'mask',
        redactCompletions: false,
        region: 'us',
        retentionDays: 365,
        // Gateway limits (gateway-limits.test.ts): unlimited by default.
        requestsPerMinute: null,
        tokensPerMinute: null,
        monthlyBudgetUsd: null,
        fallbacks: {},
      });
    });

    it('PATCH changes only what is sent, and each change is audited as settings.updated', async () => {
      const before = (await audit('settings.updated')).length;
      const one = await a.patch(`${o}/settings`, { piiRedaction: false });
      const defaults = {
        redactionMode: 'mask',
        redactCompletions: false,
        requestsPerMinute: null,
        tokensPerMinute: null,
        monthlyBudgetUsd: null,
        fallbacks: {},
      };
      expect(one.body).toEqual({ piiRedaction: false, ...defaults, region: 'us', retentionDays: 365 });
      const two = await a.patch(`${o}/settings`, { region: 'eu', retentionDays: 30 });
      expect(two.body).toEqual({ piiRedaction: false, ...defaults, region: 'eu', retentionDays: 30 });
      expect((await a.get(`${o}/settings`)).body).toEqual(two.body);
      expect((await a.get<{ region: string }>(o)).body.region).toBe('eu');
      const entries = await audit('settings.updated');
      expect(entries).toHaveLength(before + 2);
      expect(entries.slice(-2).map((e) => e.meta)).toEqual([
        { changes: { piiRedaction: false } },
        { changes: { region: 'eu', retentionDays: 30 } },
      ]);
      expect(entries.at(-1)?.target).toBe(`org:${owner.orgId}`);
    });

    it('invalid settings are 400 validation_failed and change nothing', async () => {
      const before = (await a.get(`${o}/settings`)).body;
      const count = (await audit('settings.updated')).length;
      for (const body of [
        { retentionDays: 0 },
        { retentionDays: 3651 },
        { retentionDays: 1.5 },
        { retentionDays: '30' },
        { region: 'mars' },
        { piiRedaction: 'yes' },
        { redactionMode: 'hash' },
        { redactCompletions: 'on' },
        {},
        { theme: 'dark' },
        { region: 'us', unknown: true },
        { fallbacks: { m: ['no-such-provider'] } },
        { fallbacks: { m: [] } },
      ]) {
        const r = await a.patch<Err>(`${o}/settings`, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
      expect((await a.get(`${o}/settings`)).body).toEqual(before);
      expect(await audit('settings.updated')).toHaveLength(count);
    });
    it('redactionMode and redactCompletions: changed alone, audited, and a key may override them', async () => {
      const before = (await audit('settings.updated')).length;
      const r = await a.patch<Record<string, unknown>>(`${o}/settings`, {
        redactionMode: 'reversible',
        redactCompletions: true,
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ redactionMode: 'reversible', redactCompletions: true });
      expect((await a.get(`${o}/settings`)).body).toEqual(r.body);
      const entries = await audit('settings.updated');
      expect(entries).toHaveLength(before + 1);
      expect(entries.at(-1)?.meta).toEqual({
        changes: { redactionMode: 'reversible', redactCompletions: true },
      });
      const back = await a.patch(`${o}/settings`, { redactionMode: 'mask', redactCompletions: false });
      expect(back.body).toMatchObject({ redactionMode: 'mask', redactCompletions: false });

      const k = await a.post<{ id: string; key: string }>(`${o}/api-keys`, {
        name: 'reversible-key',
        redactionMode: 'reversible',
        redactCompletions: false,
      });
      expect(k.status).toBe(201);
      const listed = (await a.get<{ keys: Listed[] }>(`${o}/api-keys`)).body.keys.find(
        (x) => x.id === k.body.id,
      );
      expect(listed).toMatchObject({ redactionMode: 'reversible', redactCompletions: false });
      const created = (await audit('api_key.created')).find((e) => e.target === `api_key:${k.body.id}`);
      expect(created?.meta).toMatchObject({ redactionMode: 'reversible', redactCompletions: false });
      const p = await srv.rampart.services.auth.apiKey(fake(k.body.key));
      expect(p).toMatchObject({ redactionMode: 'reversible', redactCompletions: false });
    });
  });

  describe('secrets', () => {
    const value = `sk-proj-${randomBytes(16).toString('hex')}wxyz`;
    const value2 = `sk-proj-${randomBytes(16).toString('hex')}abcd`;

    it('PUT → {name, masked}; the mask shows a vendor prefix and the last 4 characters only', async () => {
      const r = await a.put<{ name: string; masked: string; updatedAt: string }>(`${o}/secrets/OPENAI_KEY`, {
        value,
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'OPENAI_KEY', masked: 'sk-...wxyz' });
      expect(Object.keys(r.body).sort()).toEqual(['masked', 'name', 'updatedAt']);
      const again = await a.put<{ masked: string }>(`${o}/secrets/OPENAI_KEY`, { value: value2 });
      expect(again.body.masked).toBe('sk-...abcd');
      expect((await a.put(`${o}/secrets/short.one-2`, { value: 'tiny' })).body).toMatchObject({
        masked: '****',
      });
      const actions = (await a.get<{ entries: AuditEntry[] }>(`${o}/audit?limit=500`)).body.entries
        .filter((e) => e.action.startsWith('secret.'))
        .map((e) => [e.action, e.target]);
      expect(actions).toEqual([
        ['secret.created', 'secret:OPENAI_KEY'],
        ['secret.updated', 'secret:OPENAI_KEY'],
        ['secret.created', 'secret:short.one-2'],
      ]);
    });

    it('GET lists masked values only', async () => {
      const r = await a.get<{ secrets: Array<Record<string, unknown>> }>(`${o}/secrets`);
      expect(r.body.secrets.map((s) => [s.name, s.masked])).toEqual([
        ['OPENAI_KEY', 'sk-...abcd'],
        ['short.one-2', '****'],
      ]);
      for (const s of r.body.secrets) expect(Object.keys(s).sort()).toEqual(['masked', 'name', 'updatedAt']);
    });

    it('bad names and values are 400', async () => {
      for (const name of ['has%20space', 'semi%3Bcolon', 'x'.repeat(101), '%C3%BCmlaut', 'a%2Fb']) {
        const r = await a.put<Err>(`${o}/secrets/${name}`, { value: 'sk-some-long-value-000' });
        expect(r.status, name).toBe(400);
        expect(r.body.error).toBe('validation_failed');
      }
      for (const body of [
        {},
        { value: '' },
        { value: 42 },
        { value: 'x'.repeat(16_385) },
        { value: 'v', extra: 1 },
      ]) {
        expect((await a.put(`${o}/secrets/FINE`, body)).status, JSON.stringify(body).slice(0, 40)).toBe(400);
      }
      const names = (await a.get<{ secrets: Array<{ name: string }> }>(`${o}/secrets`)).body.secrets.map(
        (s) => s.name,
      );
      expect(names).toEqual(['OPENAI_KEY', 'short.one-2']);
    });

    it('the plaintext never appears in any response, nor anywhere in the database', async () => {
      for (const v of [value, value2]) {
        expect(seen.some((t) => t.includes(v))).toBe(false);
        expect(seen.some((t) => t.includes(v.slice(8, 40)))).toBe(false);
        expect(await tablesContaining(srv.rampart.services.db, v)).toEqual([]);
        expect(await tablesContaining(srv.rampart.services.db, v.slice(8, 40))).toEqual([]);
      }
      const rows = await srv.rampart.services.db.owner(async (q) => {
        const r = await q.query<{ value_sealed: string; masked: string }>(
          'SELECT value_sealed, masked FROM org_secrets WHERE org_id = $1',
          [owner.orgId],
        );
        return r.rows;
      });
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(r.value_sealed).toMatch(/^v1\./);
      expect(seen.length).toBeGreaterThan(20);
    });
  });
});
