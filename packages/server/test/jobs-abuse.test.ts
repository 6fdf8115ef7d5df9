/**
 * Job abuse from inside and across tenants (issue 19): a member pointing an admin's job at their own collector
 * to take its sealed headers and auth (finding 5), one org resolving another org's `env:` variables
 * (finding 6), and echoed secrets stored in response snippets under another spelling (JSON-escaped,
 * URL-encoded, base64). Every receiver is a local HTTP server on loopback.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Account,
  addMemberWithRole,
  api,
  type Member,
  signup,
  startTarget,
  type Target,
} from '@rampart/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snippetOf } from '../src/jobs/snippet.js';
import { EnvResolutionError, resolveJobValue } from '../src/jobs/values.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string; field?: string };
interface Job {
  id: string;
  url: string;
  headers: Record<string, string>;
  auth: { type: string; value: string } | null;
}
interface Run {
  id: string;
  status: string;
  error: string | null;
  snippet?: string;
}

const HDR_AUTH = 'Bearer adm-PLAINTEXT-authorization-header-41';
const API_KEY = 'adm-PLAINTEXT-x-api-key-5e6f7a8b';
const AUTH_VALUE = 'adm-PLAINTEXT-auth-value-9c8d7e6f';
const ENV_VALUE = 'env-PLAINTEXT-acme-operator-secret';
const KEYS = { token: 'JOB_ABUSE_TOKEN', acme: 'ACME_TOKEN', public: 'PUBLIC_TOKEN' } as const;

const secretsIn = (h: IncomingHttpHeaders): string[] =>
  [HDR_AUTH, API_KEY, AUTH_VALUE, ENV_VALUE, 'adm-PLAINTEXT', 'env-PLAINTEXT'].filter((s) =>
    JSON.stringify(h).includes(s),
  );

describe.each(ENGINES)('a member retargeting an admin job (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  let admin: Member;
  let member: Member;
  let legit: Target;
  let collector: Target;
  const o = () => `/api/orgs/${owner.orgId}`;
  const as = (token: string) => api(srv.baseUrl, token);

  /** The admin's job: an Authorization header, or an auth value, plus an env: reference, at the legit origin. */
  const adminJob = async (creds: Record<string, unknown>): Promise<Job> => {
    const r = await as(admin.token).post<Job>(`${o()}/jobs`, {
      name: 'partner sync',
      schedule: '0 0 1 1 *',
      url: `${legit.origin}/ok/partner`,
      ...creds,
    });
    expect(r.status, r.text).toBe(201);
    return r.body;
  };
  const runNow = async (token: string, jobId: string): Promise<Run> => {
    const q = await as(token).post<{ id: string }>(`${o()}/jobs/${jobId}/run`);
    expect(q.status, q.text).toBe(202);
    await srv.rampart.services.jobRunner.tick();
    const runs = await as(token).get<{ runs: Run[] }>(`${o()}/jobs/${jobId}/runs`);
    const run = runs.body.runs.find((x) => x.id === q.body.id);
    if (!run) throw new Error('run not found');
    return run;
  };

  beforeAll(async () => {
    process.env[KEYS.token] = ENV_VALUE;
    legit = await startTarget('127.0.0.1');
    // Another port on loopback: another origin, the member's collector.
    collector = await startTarget('127.0.0.1');
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_JOB_ENV_ALLOW: '*:JOB_ABUSE_',
    });
    owner = await signup(srv.baseUrl);
    admin = await addMemberWithRole(srv, owner.token, owner.orgId, 'admin');
    member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
  });
  afterAll(async () => {
    delete process.env[KEYS.token];
    await srv.close();
    await legit.close();
    await collector.close();
  });

  it.each([
    ['an Authorization header', { headers: { Authorization: HDR_AUTH, 'X-Api-Key': API_KEY } }],
    [
      'an auth value',
      { auth: { type: 'bearer', value: AUTH_VALUE }, headers: { 'X-Env': `env:${KEYS.token}` } },
    ],
  ])(
    'a member who points a job with %s at their own collector does not receive the secrets',
    async (_what, creds) => {
      const job = await adminJob(creds);
      const path = `/collect/${job.id}`;
      const moved = await as(member.token).patch<Job>(`${o()}/jobs/${job.id}`, {
        url: `${collector.origin}${path}`,
      });
      expect(moved.status, moved.text).toBe(200);
      // The answer says what happened: the credentials stayed behind.
      expect(moved.body.headers).toEqual({});
      expect(moved.body.auth).toBeNull();
      const run = await runNow(member.token, job.id);
      expect(run.status).toBe('succeeded');
      const hits = collector.on(path);
      expect(hits).toHaveLength(1);
      expect(hits[0]?.headers.authorization).toBeUndefined();
      expect(secretsIn(hits[0]?.headers ?? {})).toEqual([]);
      // Moving it back does not bring them back either.
      await as(member.token).patch(`${o()}/jobs/${job.id}`, { url: `${legit.origin}/ok/partner` });
      await runNow(member.token, job.id);
      expect(secretsIn(legit.on('/ok/partner').at(-1)?.headers ?? {})).toEqual([]);
    },
  );

  it('a member cannot re-attach the secrets through env: references; only a role that may write secrets can', async () => {
    const job = await adminJob({ headers: { 'X-Api-Key': API_KEY } });
    for (const patch of [
      { url: `${collector.origin}/env`, headers: { 'X-Api-Key': `env:${KEYS.token}` } },
      { url: `${collector.origin}/env`, auth: { type: 'bearer', value: `env:${KEYS.token}` } },
      { headers: { 'X-Api-Key': `env:${KEYS.token}` } },
    ]) {
      const r = await as(member.token).patch<Err>(`${o()}/jobs/${job.id}`, patch);
      expect(r.status, r.text).toBe(403);
      expect(r.body.error).toBe('forbidden');
      expect(r.body.message).toMatch(/owners and admins \(secrets\.write\) may set env: references/);
    }
    const created = await as(member.token).post<Err>(`${o()}/jobs`, {
      name: 'mine',
      schedule: '0 0 1 1 *',
      url: `${collector.origin}/env-new`,
      headers: { 'X-K': `env:${KEYS.token}` },
    });
    expect(created.status, created.text).toBe(403);
    // The member's own literal values are theirs to send wherever.
    const own = await as(member.token).patch<Job>(`${o()}/jobs/${job.id}`, {
      url: `${collector.origin}/own`,
      headers: { 'X-Own': 'member-typed-value' },
    });
    expect(own.status, own.text).toBe(200);
    await runNow(member.token, job.id);
    expect(collector.on('/own')[0]?.headers['x-own']).toBe('member-typed-value');
    expect(secretsIn(collector.on('/own')[0]?.headers ?? {})).toEqual([]);
    // An admin may set the reference, and moves keep the credentials for an admin.
    const byAdmin = await as(admin.token).patch<Job>(`${o()}/jobs/${job.id}`, {
      url: `${legit.origin}/ok/admin-env`,
      headers: { 'X-Api-Key': `env:${KEYS.token}` },
    });
    expect(byAdmin.status, byAdmin.text).toBe(200);
    const movedByAdmin = await as(admin.token).patch<Job>(`${o()}/jobs/${job.id}`, {
      url: `${collector.origin}/admin-moved`,
    });
    expect(movedByAdmin.body.headers).toEqual({ 'X-Api-Key': `env:${KEYS.token}` });
    await runNow(admin.token, job.id);
    expect(collector.on('/admin-moved')[0]?.headers['x-api-key']).toBe(ENV_VALUE);
  });

  it('a member editing the path, schedule or body at the same origin keeps the admin credentials', async () => {
    const job = await adminJob({
      auth: { type: 'bearer', value: AUTH_VALUE },
      headers: { 'X-Api-Key': API_KEY },
    });
    const edited = await as(member.token).patch<Job>(`${o()}/jobs/${job.id}`, {
      url: `${legit.origin}/ok/same-origin?v=2`,
      schedule: '5 0 1 1 *',
    });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body.auth).toEqual({ type: 'bearer', value: expect.stringMatching(/^adm-\.\.\./) });
    await runNow(member.token, job.id);
    const hit = legit.on('/ok/same-origin').at(-1);
    expect(hit?.headers.authorization).toBe(`Bearer ${AUTH_VALUE}`);
    expect(hit?.headers['x-api-key']).toBe(API_KEY);
  });

  it('a member moving the job to another name for the same address counts as another origin', async () => {
    const job = await adminJob({ headers: { 'X-Api-Key': API_KEY } });
    const r = await as(member.token).patch<Job>(`${o()}/jobs/${job.id}`, {
      url: `http://localhost:${legit.port}/ok/partner`,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.headers).toEqual({});
  });
});

describe.each(ENGINES)('env: references scoped per org (%s)', (engine) => {
  let srv: Srv;
  let acme: Account;
  let other: Account;
  let target: Target;
  /**
   * Org ids exist only after sign-up, so the running server's allow-list is replaced in place by what a restart
   * with `RAMPART_JOB_ENV_ALLOW=<acme>:ACME_,*:PUBLIC_` would load (parsed by the real config loader; the store
   * and the runner read that same list).
   */
  const scope = (value: string) => {
    const live = srv.rampart.services.config.RAMPART_JOB_ENV_ALLOW;
    live.splice(0, live.length, ...loadConfig({ RAMPART_JOB_ENV_ALLOW: value }).RAMPART_JOB_ENV_ALLOW);
  };
  const create = (who: Account, body: Record<string, unknown>) =>
    api(srv.baseUrl, who.token).post<Job & Err>(`/api/orgs/${who.orgId}/jobs`, {
      name: 'env job',
      schedule: '0 0 1 1 *',
      url: `${target.origin}/ok/env`,
      ...body,
    });
  const runNow = async (who: Account, jobId: string): Promise<Run> => {
    const a = api(srv.baseUrl, who.token);
    const q = await a.post<{ id: string }>(`/api/orgs/${who.orgId}/jobs/${jobId}/run`);
    await srv.rampart.services.jobRunner.tick();
    const runs = await a.get<{ runs: Run[] }>(`/api/orgs/${who.orgId}/jobs/${jobId}/runs`);
    return runs.body.runs.find((x) => x.id === q.body.id) as Run;
  };

  beforeAll(async () => {
    process.env[KEYS.acme] = ENV_VALUE;
    process.env[KEYS.public] = 'public-value';
    target = await startTarget();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_JOB_ENV_ALLOW: '*:PUBLIC_',
    });
    acme = await signup(srv.baseUrl);
    other = await signup(srv.baseUrl);
    scope(`${acme.orgId}:ACME_,*:PUBLIC_`);
  });
  afterAll(async () => {
    delete process.env[KEYS.acme];
    delete process.env[KEYS.public];
    await srv.close();
    await target.close();
  });

  it("another org referencing an org-scoped env: variable is refused at save, without learning the owner's scope", async () => {
    const r = await create(other, { headers: { 'X-K': `env:${KEYS.acme}` } });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe('env_not_allowed');
    expect(r.body.message).toMatch(/this org may use only names starting with PUBLIC_\b/);
    expect(r.text).not.toContain(acme.orgId);
    expect(r.text).not.toContain('ACME_,');
    const auth = await create(other, { auth: { type: 'bearer', value: `env:${KEYS.acme}` } });
    expect(auth.status).toBe(400);
    expect(auth.body.error).toBe('env_not_allowed');
    // The owner org and the shared prefix work.
    expect((await create(acme, { headers: { 'X-K': `env:${KEYS.acme}` } })).status).toBe(201);
    expect((await create(other, { headers: { 'X-K': `env:${KEYS.public}` } })).status).toBe(201);
  });

  it('a reference saved while the variable was shared is refused at send once the operator scopes it to another org', async () => {
    scope('*:ACME_,*:PUBLIC_');
    const stolen = await create(other, {
      url: `${target.origin}/ok/stolen`,
      headers: { 'X-K': `env:${KEYS.acme}` },
    });
    expect(stolen.status, stolen.text).toBe(201);
    scope(`${acme.orgId}:ACME_,*:PUBLIC_`);
    const run = await runNow(other, stolen.body.id);
    expect(run.status).toBe('failed');
    expect(run.error).toBe(`env:${KEYS.acme} is not allowed for this org by RAMPART_JOB_ENV_ALLOW`);
    expect(target.on('/ok/stolen')).toHaveLength(0);
    const mine = await create(acme, {
      url: `${target.origin}/ok/mine`,
      headers: { 'X-K': `env:${KEYS.acme}` },
    });
    expect((await runNow(acme, mine.body.id)).status).toBe('succeeded');
    expect(target.on('/ok/mine')[0]?.headers['x-k']).toBe(ENV_VALUE);
  });

  it('a prefix wide enough to cover the server settings (*:RAMPART_, *:D) never resolves RAMPART_MASTER_KEYS or DATABASE_URL', async () => {
    scope('*:RAMPART_,*:D,*:PUBLIC_');
    try {
      for (const name of ['RAMPART_MASTER_KEYS', 'RAMPART_JWT_SECRET', 'DATABASE_URL']) {
        const h = await create(acme, { headers: { 'X-K': `env:${name}` } });
        expect(h.status, h.text).toBe(400);
        expect(h.body.error).toBe('env_not_allowed');
        expect(h.body.message).toMatch(/setting of the Rampart server/);
        const a = await create(acme, { auth: { type: 'bearer', value: `env:${name}` } });
        expect(a.status, a.text).toBe(400);
        // At send too (a reference stored by other means, or before this rule).
        const live = srv.rampart.services.config.RAMPART_JOB_ENV_ALLOW;
        expect(() => resolveJobValue(`env:${name}`, live, acme.orgId, { [name]: 'x' })).toThrow(
          EnvResolutionError,
        );
      }
      // Other names under the same wide prefix still resolve.
      const live = srv.rampart.services.config.RAMPART_JOB_ENV_ALLOW;
      expect(resolveJobValue('env:RAMPART_JOB_TOKEN_X', live, acme.orgId, { RAMPART_JOB_TOKEN_X: 'v' })).toBe(
        'v',
      );
    } finally {
      scope(`${acme.orgId}:ACME_,*:PUBLIC_`);
    }
  });
});

describe('RAMPART_JOB_ENV_ALLOW syntax', () => {
  const load = (v: string) => loadConfig({ RAMPART_JOB_ENV_ALLOW: v }).RAMPART_JOB_ENV_ALLOW;

  it('an unscoped prefix (the old global syntax) is refused at start with a message to scope it', () => {
    expect(() => load('ACME_')).toThrow(ConfigError);
    expect(() => load('ACME_')).toThrow(/entry 1 has no org scope: write <orgId>:PREFIX .* or \*:PREFIX/);
    expect(() => load('*:PUBLIC_,ACME_')).toThrow(/entry 2 has no org scope/);
  });

  it('parses org-scoped and shared entries; refuses bad scopes and prefixes without echoing them', () => {
    const org = '0b7e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
    expect(load(` ${org.toUpperCase()}:ACME_ , *:PUBLIC_ `)).toEqual([
      { org, prefix: 'ACME_' },
      { org: '*', prefix: 'PUBLIC_' },
    ]);
    expect(load('')).toEqual([]);
    expect(() => load('acme:ACME_')).toThrow(/entry 1: the scope must be an org id or \*/);
    expect(() => load('*:lower')).toThrow(/entry 1: the prefix must be upper case/);
    expect(() => load('*:')).toThrow(/entry 1: the prefix/);
    try {
      load('secretish-value');
    } catch (err) {
      expect(String(err)).not.toContain('secretish-value');
    }
  });
});

/** A receiver that answers with the request's header values in other spellings. */
async function startEncodingEcho(): Promise<{ origin: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const values = Object.values(req.headers).map(String);
    const asciiJson = JSON.stringify(values).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(
      [
        `json=${JSON.stringify({ values })}`,
        `php=${JSON.stringify(values).replaceAll('/', '\\/')}`,
        `ascii=${asciiJson}`,
        `form=${new URLSearchParams(values.map((v, i): [string, string] => [`v${i}`, v])).toString()}`,
        `uri=${values.map(encodeURIComponent).join('&')}`,
        `b64=${values.map((v) => Buffer.from(v).toString('base64')).join(',')}`,
        `b64url=${values.map((v) => Buffer.from(v).toString('base64url')).join(',')}`,
      ].join('\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('echoed secrets in other spellings', () => {
  // Quotes, slashes, spaces, non-ASCII: each spelling differs from the raw value.
  const TRICKY = 'tr/ck "quoted" \\ sp ace %-PLAINTEXT+=&?(!)';

  it('a response echoing the sent secrets JSON-escaped, URL-encoded or base64 stores none of them in the snippet', async () => {
    const echo = await startEncodingEcho();
    const srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    try {
      const owner = await signup(srv.baseUrl);
      const a = api(srv.baseUrl, owner.token);
      const job = await a.post<Job>(`/api/orgs/${owner.orgId}/jobs`, {
        name: 'echo',
        schedule: '0 0 1 1 *',
        url: `${echo.origin}/`,
        storeResponse: true,
        headers: { 'X-Tricky': TRICKY },
        auth: { type: 'basic', value: `user:${API_KEY}` },
      });
      expect(job.status, job.text).toBe(201);
      const q = await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/jobs/${job.body.id}/run`);
      await srv.rampart.services.jobRunner.tick();
      const runs = await a.get<{ runs: Run[] }>(`/api/orgs/${owner.orgId}/jobs/${job.body.id}/runs`);
      const snippet = runs.body.runs.find((r) => r.id === q.body.id)?.snippet ?? '';
      expect(snippet).toMatch(/^json=/);
      for (const v of [TRICKY, `user:${API_KEY}`, API_KEY]) {
        const forms = [
          v,
          JSON.stringify(v).slice(1, -1),
          encodeURIComponent(v),
          new URLSearchParams({ v }).toString().slice(2),
          Buffer.from(v).toString('base64'),
          Buffer.from(v).toString('base64url'),
        ];
        for (const f of forms) expect(snippet, f).not.toContain(f);
      }
      expect(snippet).not.toContain('PLAINTEXT');
    } finally {
      await srv.close();
      await echo.close();
    }
  });

  it('a server that decodes Basic auth and echoes the password alone does not get it stored in the snippet', async () => {
    const server: Server = createServer((req, res) => {
      const decoded = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64');
      const [user, ...rest] = decoded.toString('utf8').split(':');
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `wrong password ${rest.join(':')} for ${user}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    try {
      const owner = await signup(srv.baseUrl);
      const a = api(srv.baseUrl, owner.token);
      const job = await a.post<Job>(`/api/orgs/${owner.orgId}/jobs`, {
        name: 'basic echo',
        schedule: '0 0 1 1 *',
        url: `${origin}/`,
        storeResponse: true,
        retries: 0,
        auth: { type: 'basic', value: `svc:${AUTH_VALUE}` },
      });
      expect(job.status, job.text).toBe(201);
      const q = await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/jobs/${job.body.id}/run`);
      await srv.rampart.services.jobRunner.tick();
      const runs = await a.get<{ runs: Run[] }>(`/api/orgs/${owner.orgId}/jobs/${job.body.id}/runs`);
      const snippet = runs.body.runs.find((r) => r.id === q.body.id)?.snippet ?? '';
      expect(snippet).toMatch(/wrong password/);
      expect(snippet).not.toContain('PLAINTEXT');
    } finally {
      await srv.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a server echoing the token of an Authorization header (set as a header, not auth) alone does not get it stored', async () => {
    const BASIC_PW = 'hdr-PLAINTEXT-basic-password-77';
    const server: Server = createServer((req, res) => {
      const [, bearer] = String(req.headers.authorization ?? '').split(' ');
      const basic = Buffer.from(String(req.headers['x-upstream-auth'] ?? '').split(' ')[1] ?? '', 'base64');
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`invalid token ${bearer}; upstream ${basic.toString('utf8').split(':')[1]}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const srv = await startTestServer('pglite', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    try {
      const owner = await signup(srv.baseUrl);
      const a = api(srv.baseUrl, owner.token);
      const job = await a.post<Job>(`/api/orgs/${owner.orgId}/jobs`, {
        name: 'token echo',
        schedule: '0 0 1 1 *',
        url: `${origin}/`,
        storeResponse: true,
        retries: 0,
        headers: {
          Authorization: HDR_AUTH,
          'X-Upstream-Auth': `Basic ${Buffer.from(`svc:${BASIC_PW}`).toString('base64')}`,
        },
      });
      expect(job.status, job.text).toBe(201);
      const q = await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/jobs/${job.body.id}/run`);
      await srv.rampart.services.jobRunner.tick();
      const runs = await a.get<{ runs: Run[] }>(`/api/orgs/${owner.orgId}/jobs/${job.body.id}/runs`);
      const snippet = runs.body.runs.find((r) => r.id === q.body.id)?.snippet ?? '';
      expect(snippet).toMatch(/^invalid token/);
      expect(snippet).not.toContain('PLAINTEXT');
    } finally {
      await srv.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('property: no spelling of any sent secret survives snippetOf', () => {
    const secretArb = fc
      .string({ minLength: 4, maxLength: 64, unit: 'grapheme' })
      .filter((s) => !/[[\]|]/.test(s));
    fc.assert(
      fc.property(secretArb, fc.nat(300), (secret, pad) => {
        const spellings = [
          secret,
          JSON.stringify(secret).slice(1, -1),
          encodeURIComponent(secret),
          new URLSearchParams({ v: secret }).toString().slice(2),
          Buffer.from(secret).toString('base64'),
          Buffer.from(secret).toString('base64').replace(/=+$/, ''),
          Buffer.from(secret).toString('base64url'),
        ].filter((f) => f.length >= 4);
        // The replacement marker itself is not a leak.
        fc.pre(spellings.every((f) => !'[SECRET]'.includes(f)));
        const body = Buffer.from(`${'.'.repeat(pad)}${spellings.join(' | ')}`);
        const out = snippetOf(body, [secret]);
        for (const f of spellings) expect(out).not.toContain(f);
      }),
      { numRuns: 300 },
    );
  });
});
