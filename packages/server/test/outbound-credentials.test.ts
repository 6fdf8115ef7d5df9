/**
 * Credentials over plain http (issue 19, finding 10): provider base URLs (BYO keys), job URLs with sealed
 * headers or auth, and signed or secret-URL alert channels must use https unless the host is loopback or on
 * RAMPART_OUTBOUND_ALLOW. Refused at save with 400 validation_failed, and again at send time for rows saved
 * before the rule (simulated by writing the old URL into the row). No request ever leaves this machine: the
 * non-loopback hosts are under `.test`, and the refusals come before any lookup.
 */
import { type Account, api, signup, startTarget, type Target } from '@rampart/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../src/platform/outbound/policy.js';
import { credentialTransport } from '../src/platform/outbound/transport.js';
import { ENGINES, startTestServer } from './helpers.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
interface Err {
  error: string;
  message: string;
}
interface Run {
  id: string;
  status: string;
  error: string | null;
}

const API_KEY = 'sk-PLAINTEXT-provider-key-0123456789';
const HEADER_SECRET = 'hdr-PLAINTEXT-credential-over-http';

describe.each(ENGINES)('credentials never travel over plain http (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  let target: Target;
  const o = () => `/api/orgs/${owner.orgId}`;
  const a = () => api(srv.baseUrl, owner.token);

  beforeAll(async () => {
    target = await startTarget();
    // 10.20.30.40 is allow-listed: an operator's private network may use http.
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1,10.20.30.40,intranet.example.test',
    });
    owner = await signup(srv.baseUrl);
  });
  afterAll(async () => {
    await srv.close();
    await target.close();
  });

  it('a provider base URL over plain http to a public host is refused at save: the API key would travel in the clear', async () => {
    const r = await a().put<Err>(`${o()}/providers/cleartext`, {
      baseUrl: 'http://llm.example.test/v1',
      apiKey: API_KEY,
      models: ['m'],
    });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe('validation_failed');
    expect(r.body.message).toMatch(/baseUrl carries a credential: plain http:\/\/ .*use https/);
    expect(r.text).not.toContain(API_KEY);
    expect((await a().get<{ providers: unknown[] }>(`${o()}/providers`)).body.providers).toHaveLength(0);
    // https, loopback and the operator's allow-list are fine.
    for (const [name, baseUrl] of [
      ['tls', 'https://llm.example.test/v1'],
      ['loop', 'http://127.0.0.1:9/v1'],
      ['intranet', 'http://intranet.example.test/v1'],
      ['private', 'http://10.20.30.40/v1'],
    ]) {
      const ok = await a().put(`${o()}/providers/${name}`, {
        baseUrl,
        apiKey: API_KEY,
        models: [`m-${name}`],
      });
      expect(ok.status, `${baseUrl}: ${ok.text}`).toBe(200);
    }
  });

  it('a provider saved with a plain http base URL before the rule is refused at send time; the key never leaves', async () => {
    const put = await a().put(`${o()}/providers/legacy`, {
      baseUrl: 'https://legacy.example.test/v1',
      apiKey: API_KEY,
      models: ['legacy-model'],
    });
    expect(put.status, put.text).toBe(200);
    await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query(
        `UPDATE llm_providers SET base_url = 'http://legacy.example.test/v1' WHERE org_id = $1 AND name = $2`,
        [owner.orgId, 'legacy'],
      ),
    );
    srv.rampart.services.routing.invalidate(owner.orgId);
    const key = await a().post<{ key: string }>(`${o()}/api-keys`, { name: 'http-check' });
    expect(key.status, key.text).toBe(201);
    const r = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.body.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'legacy-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await r.json()) as Err;
    expect(r.status).toBe(400);
    expect(body.error).toBe('validation_failed');
    expect(body.message).toMatch(/plain http:\/\/ baseUrl .*API key in the clear/);
  });

  it('a job with sealed headers or auth to a plain http public URL is refused at save; without credentials it is accepted', async () => {
    for (const creds of [
      { headers: { 'X-Api-Key': HEADER_SECRET } },
      { auth: { type: 'bearer', value: HEADER_SECRET } },
    ]) {
      const r = await a().post<Err>(`${o()}/jobs`, {
        name: 'cleartext',
        schedule: '0 * * * *',
        url: 'http://hooks.example.test/ping',
        ...creds,
      });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(r.body.message).toMatch(/url carries a credential: plain http:\/\//);
      expect(r.text).not.toContain(HEADER_SECRET);
    }
    const plain = await a().post<{ id: string }>(`${o()}/jobs`, {
      name: 'no credentials',
      schedule: '0 * * * *',
      url: 'http://hooks.example.test/ping',
    });
    expect(plain.status, plain.text).toBe(201);
    // Adding credentials later to that plain-http job is refused too.
    const patched = await a().patch<Err>(`${o()}/jobs/${plain.body.id}`, {
      headers: { 'X-Api-Key': HEADER_SECRET },
    });
    expect(patched.status, patched.text).toBe(400);
    expect(patched.body.message).toMatch(/carries a credential/);
    const allowed = await a().post(`${o()}/jobs`, {
      name: 'intranet',
      schedule: '0 * * * *',
      url: 'http://10.20.30.40/ping',
      auth: { type: 'bearer', value: HEADER_SECRET },
    });
    expect(allowed.status, allowed.text).toBe(201);
  });

  it('a job moved to plain http before the rule is refused at send time; nothing is sent', async () => {
    const job = await a().post<{ id: string }>(`${o()}/jobs`, {
      name: 'legacy job',
      schedule: '0 0 1 1 *',
      url: `${target.origin}/ok/legacy`,
      headers: { 'X-Api-Key': HEADER_SECRET },
    });
    expect(job.status, job.text).toBe(201);
    await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query(`UPDATE jobs SET url = 'http://hooks.example.test/legacy' WHERE org_id = $1 AND id = $2`, [
        owner.orgId,
        job.body.id,
      ]),
    );
    const q = await a().post<{ id: string }>(`${o()}/jobs/${job.body.id}/run`);
    expect(q.status, q.text).toBe(202);
    await srv.rampart.services.jobRunner.tick();
    const runs = await a().get<{ runs: Run[] }>(`${o()}/jobs/${job.body.id}/runs`);
    const run = runs.body.runs.find((x) => x.id === q.body.id);
    expect(run?.status).toBe('failed');
    expect(run?.error).toMatch(/^refused: plain http:\/\/ would send a credential in the clear/);
    expect(run?.error).not.toContain(HEADER_SECRET);
    expect(target.on('/ok/legacy')).toHaveLength(0);
  });

  it('a signed webhook or a Slack alert channel over plain http to a public host is refused at save', async () => {
    for (const body of [
      { type: 'webhook', name: 'hook', config: { url: 'http://alerts.example.test/in' } },
      {
        type: 'slack',
        name: 'slack',
        config: { webhookUrl: 'http://hooks.slack.example.test/services/T/B/x' },
      },
    ]) {
      const r = await a().post<Err>(`${o()}/alert-channels`, body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe('validation_failed');
      expect(r.body.message).toMatch(/carries a credential: plain http:\/\//);
    }
    const tls = await a().post(`${o()}/alert-channels`, {
      type: 'webhook',
      name: 'tls',
      config: { url: 'https://alerts.example.test/in' },
    });
    expect(tls.status, tls.text).toBe(201);
  });
});

describe('the widget path to a provider', () => {
  it('a widget whose provider was saved with a plain http base URL answers 502 and sends the key nowhere', async () => {
    const stub = await startModelStub();
    const srv = await startTestServer('pglite', {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_TRUST_PROXY: '127.0.0.1',
    });
    try {
      const owner = await signup(srv.baseUrl);
      await useStubProvider(srv.baseUrl, owner, stub.origin, ['chat-model']);
      const w = await api(srv.baseUrl, owner.token).post<{ id: string }>(`/api/orgs/${owner.orgId}/widgets`, {
        name: 'w',
        allowedOrigins: ['https://shop.example.com'],
        model: 'chat-model',
      });
      expect(w.status, w.text).toBe(201);
      await srv.rampart.services.db.org(owner.orgId, (q) =>
        q.query(`UPDATE llm_providers SET base_url = 'http://llm-legacy.example.test/v1' WHERE org_id = $1`, [
          owner.orgId,
        ]),
      );
      srv.rampart.services.routing.invalidate(owner.orgId);
      const v = visitor(srv.baseUrl, w.body.id, 'https://shop.example.com');
      const { visitorToken } = (await v.session()).body;
      const r = await v.message(visitorToken, 'hello');
      expect(r.status, r.text).toBe(502);
      expect(r.body.error).toBe('bad_gateway');
      expect(r.text).toMatch(/misconfigured \(plain http base URL\)/);
      expect(stub.calls).toHaveLength(0);
    } finally {
      await srv.close();
      await stub.close();
    }
  });
});

describe('the credential transport rule (property)', () => {
  const policy = parsePolicy(['10.0.0.0/8', 'allowed.example.test']);
  const publicV4 = fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255))
    .filter(([a]) => a !== 10 && a !== 127)
    .map((p) => p.join('.'));
  const name = fc
    .array(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { minLength: 1, maxLength: 3 })
    .map((l) => `${l.join('.')}.example.com`);

  it('plain http to any host that is neither loopback nor allow-listed is refused; https always passes', () => {
    fc.assert(
      fc.property(fc.oneof(publicV4, name), fc.option(fc.integer({ min: 1, max: 65535 })), (host, port) => {
        const hostPort = port ? `${host}:${port}` : host;
        expect(credentialTransport(new URL(`http://${hostPort}/p`), policy).ok).toBe(false);
        expect(credentialTransport(new URL(`https://${hostPort}/p`), policy).ok).toBe(true);
      }),
    );
  });

  it('loopback in every spelling, allow-listed names and addresses inside allowed CIDRs may use http', () => {
    for (const u of [
      'http://127.0.0.1/',
      'http://127.9.8.7:8080/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost:3000/',
      'http://allowed.example.test/',
      'http://10.1.2.3/',
    ])
      expect(credentialTransport(new URL(u), policy).ok, u).toBe(true);
    for (const u of [
      'http://allowed.example.test.evil.com/',
      'http://11.1.2.3/',
      'http://[::ffff:11.1.2.3]/',
    ])
      expect(credentialTransport(new URL(u), policy).ok, u).toBe(false);
  });

  it('a *.localhost name over http (resolved by DNS, not pinned to loopback) may not carry a credential', () => {
    for (const u of [
      'http://api.localhost/',
      'http://evil.localhost:8080/',
      'http://a.b.LOCALHOST/',
      'http://localhost.evil.com/',
    ])
      expect(credentialTransport(new URL(u), policy).ok, u).toBe(false);
  });
});
