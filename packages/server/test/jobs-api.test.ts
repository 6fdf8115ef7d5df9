/**
 * Scheduled jobs through the HTTP API: validation (cron, time zone, URL, headers, env: references), sealed and
 * masked secrets, partial updates that keep or replace them, deletion, audit. The runner is off here
 * (jobs-runner.test.ts runs jobs); no request leaves the process.
 */
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJobSecrets } from '../src/jobs/store.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string; field?: string };
interface Job {
  id: string;
  name: string;
  schedule: string;
  timezone: string;
  url: string;
  headers: Record<string, string>;
  auth: { type: string; value: string } | null;
  nextRunAt: string | null;
  enabled: boolean;
  upcoming?: string[];
  alertChannelIds: string[];
}

const HEADER_SECRET = 'hdr-secret-PLAINTEXT-9f8e7d6c5b4a';
const BEARER = 'bearer-PLAINTEXT-0123456789abcdef';

describe.each(ENGINES)('scheduled jobs API (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  const o = () => `/api/orgs/${owner.orgId}`;
  const a = () => api(srv.baseUrl, owner.token);
  const valid = {
    name: 'nightly sync',
    schedule: '30 2 * * *',
    timezone: 'Europe/Berlin',
    url: 'https://api.example.com/sync?full=1',
    method: 'POST',
    headers: { 'X-Api-Token': HEADER_SECRET, 'X-From-Env': 'env:JOB_SYNC_TOKEN' },
    auth: { type: 'bearer', value: BEARER },
    body: '{"full":true}',
  };

  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_JOB_ENV_ALLOW: '*:JOB_,*:PUBLIC_' });
    owner = await signup(srv.baseUrl);
  });
  afterAll(() => srv.close());

  it('creates a job: values masked in every answer, env: references shown as written, next runs in its zone', async () => {
    const r = await a().post<Job>(`${o()}/jobs`, valid);
    expect(r.status, r.text).toBe(201);
    expect(r.text).not.toContain(HEADER_SECRET);
    expect(r.text).not.toContain(BEARER);
    expect(r.body.headers).toEqual({ 'X-Api-Token': 'hdr-...5b4a', 'X-From-Env': 'env:JOB_SYNC_TOKEN' });
    expect(r.body.headers['X-Api-Token']).not.toContain('secret');
    expect(r.body.auth).toEqual({ type: 'bearer', value: expect.stringMatching(/^\.\.\.cdef$/) });
    expect(r.body.url).toBe('https://api.example.com/sync?full=1');

    const one = await a().get<Job>(`${o()}/jobs/${r.body.id}`);
    expect(one.status).toBe(200);
    expect(one.text).not.toContain(HEADER_SECRET);
    // 02:30 in Berlin is 00:30 or 01:30 UTC depending on daylight saving time; five consecutive days.
    expect(one.body.upcoming).toHaveLength(5);
    for (const t of one.body.upcoming ?? []) expect(t).toMatch(/T0[01]:30:00\.000Z$/);
    expect(one.body.nextRunAt).toBe(one.body.upcoming?.[0]);
    const list = await a().get<{ jobs: Job[] }>(`${o()}/jobs`);
    expect(list.body.jobs.map((j) => j.id)).toContain(r.body.id);
    expect(list.text).not.toContain(HEADER_SECRET);
    expect(list.text).not.toContain(BEARER);
  });

  it('stores the values sealed: no table holds them in the clear, and the seal opens to the original', async () => {
    const r = await a().post<Job>(`${o()}/jobs`, { ...valid, name: 'sealed check' });
    expect(r.status).toBe(201);
    const { db, ring } = srv.rampart.services;
    expect(await tablesContaining(db, HEADER_SECRET)).toEqual([]);
    expect(await tablesContaining(db, BEARER)).toEqual([]);
    const row = await db.org(owner.orgId, async (q) => {
      const { rows } = await q.query<{
        id: string;
        org_id: string;
        headers_sealed: string;
        auth_sealed: string;
      }>('SELECT id, org_id, headers_sealed, auth_sealed FROM jobs WHERE id = $1', [r.body.id]);
      return rows[0];
    });
    expect(row?.headers_sealed.startsWith('v1.')).toBe(true);
    const opened = openJobSecrets(ring, row as NonNullable<typeof row>);
    expect(opened.headers).toEqual(valid.headers);
    expect(opened.auth).toBe(BEARER);
  });

  it.each([
    ['six fields', { schedule: '0 30 2 * * *' }, 'validation_failed', /5-field/],
    ['a nickname', { schedule: '@hourly' }, 'validation_failed', /./],
    ['an impossible minute', { schedule: '61 * * * *' }, 'validation_failed', /cron/],
    ['a date that never comes', { schedule: '0 0 30 2 *' }, 'validation_failed', /never/],
    ['an unknown time zone', { timezone: 'Mars/Olympus' }, 'validation_failed', /IANA/],
    ['a non-http URL', { url: 'ftp://files.example.com/x' }, 'validation_failed', /http/],
    ['credentials in the URL', { url: 'https://u:p@api.example.com/' }, 'validation_failed', /credentials/],
    ['the metadata address', { url: 'http://169.254.169.254/latest/' }, 'validation_failed', /non-public/],
    ['a private address', { url: 'http://10.0.0.7/' }, 'validation_failed', /non-public/],
    ['loopback IPv6', { url: 'http://[::1]:8080/' }, 'validation_failed', /non-public/],
    ['loopback as a decimal', { url: 'http://2130706434/' }, 'validation_failed', /non-public/],
    ['loopback as hex', { url: 'http://0x7f.0.0.2/' }, 'validation_failed', /non-public/],
    ['IPv4-mapped loopback', { url: 'http://[::ffff:127.0.0.2]/' }, 'validation_failed', /non-public/],
    [
      'an env name outside the allow-list',
      { headers: { 'X-K': 'env:OTHER_TEAM_TOKEN' } },
      'env_not_allowed',
      /JOB_, PUBLIC_/,
    ],
    [
      "the server's own master keys by env name",
      { headers: { 'X-K': 'env:RAMPART_MASTER_KEYS' } },
      'env_not_allowed',
      /setting of the Rampart server itself/,
    ],
    [
      'an env auth outside the allow-list',
      { auth: { type: 'bearer', value: 'env:HOME' } },
      'env_not_allowed',
      /RAMPART_JOB_ENV_ALLOW/,
    ],
    ['a malformed env reference', { headers: { 'X-K': 'env:job_lower' } }, 'validation_failed', /upper case/],
    ['a reserved header', { headers: { Host: 'evil.example.com' } }, 'validation_failed', /host/],
    ['a header with CR LF', { headers: { 'X-A': 'a\r\nX-Injected: 1' } }, 'validation_failed', /control/],
    ['a header name that is not a token', { headers: { 'X A': 'v' } }, 'validation_failed', /token/],
    [
      'auth plus an Authorization header',
      { headers: { Authorization: 'Bearer x' } },
      'validation_failed',
      /either/,
    ],
    [
      'basic auth without a colon',
      { auth: { type: 'basic', value: 'justauser' } },
      'validation_failed',
      /user:password/,
    ],
    ['a GET with a body', { method: 'GET', body: 'x' }, 'validation_failed', /body/],
    [
      'an unknown alert channel',
      { alertChannelIds: ['00000000-0000-4000-8000-000000000000'] },
      'validation_failed',
      /alert channel/,
    ],
    ['an unknown field', { shell: 'rm -rf /' }, 'validation_failed', /./],
    ['a timeout too long', { timeoutMs: 600_000 }, 'validation_failed', /./],
  ])('refuses %s with a clear error and stores nothing', async (_what, change, code, message) => {
    const before = await a().get<{ jobs: Job[] }>(`${o()}/jobs`);
    const r = await a().post<Err>(`${o()}/jobs`, { ...valid, ...change });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe(code);
    expect(r.body.message).toMatch(message);
    expect(r.text).not.toContain(HEADER_SECRET);
    expect(r.text).not.toContain(BEARER);
    const after = await a().get<{ jobs: Job[] }>(`${o()}/jobs`);
    expect(after.body.jobs).toHaveLength(before.body.jobs.length);
  });

  it('an operator who allows no prefix refuses every env: reference', async () => {
    const strict = await startTestServer(engine, { RAMPART_JOB_ENV_ALLOW: '' });
    try {
      const s = await signup(strict.baseUrl);
      const r = await api(strict.baseUrl, s.token).post<Err>(`/api/orgs/${s.orgId}/jobs`, {
        ...valid,
        headers: { 'X-K': 'env:JOB_SYNC_TOKEN' },
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('env_not_allowed');
      expect(r.body.message).toMatch(/may use no env: references/);
      expect(r.body.field).toBe('headers.x-k');
    } finally {
      await strict.close();
    }
  });

  it('caps jobs per org (429 quota_exceeded), also under concurrent creation', async () => {
    const capped = await startTestServer(engine, { RAMPART_JOB_MAX_PER_ORG: '3' });
    try {
      const s = await signup(capped.baseUrl);
      const c = api(capped.baseUrl, s.token);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          c.post<Err>(`/api/orgs/${s.orgId}/jobs`, {
            name: `j${i}`,
            schedule: '0 * * * *',
            url: 'https://x.example.com/',
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 429, 429, 429]);
      expect(results.find((r) => r.status === 429)?.body.error).toBe('quota_exceeded');
      const list = await c.get<{ jobs: Job[] }>(`/api/orgs/${s.orgId}/jobs`);
      expect(list.body.jobs).toHaveLength(3);
    } finally {
      await capped.close();
    }
  });

  it('PATCH keeps sealed values it is not given, replaces those it is, and reschedules on schedule changes', async () => {
    const created = await a().post<Job>(`${o()}/jobs`, { ...valid, name: 'patch me' });
    const id = created.body.id;
    const { db, ring } = srv.rampart.services;
    const secrets = () =>
      db.org(owner.orgId, async (q) => {
        const { rows } = await q.query<{
          id: string;
          org_id: string;
          headers_sealed: string | null;
          auth_sealed: string | null;
        }>('SELECT id, org_id, headers_sealed, auth_sealed FROM jobs WHERE id = $1', [id]);
        return openJobSecrets(ring, rows[0] as NonNullable<(typeof rows)[0]>);
      });

    const renamed = await a().patch<Job>(`${o()}/jobs/${id}`, { name: 'renamed' });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body.name).toBe('renamed');
    expect(renamed.body.headers).toEqual(created.body.headers);
    expect(renamed.body.nextRunAt).toBe(created.body.nextRunAt);
    expect(await secrets()).toEqual({ headers: valid.headers, auth: BEARER });

    const replaced = await a().patch<Job>(`${o()}/jobs/${id}`, {
      headers: { 'X-Other': 'other-value-123456789012' },
      auth: null,
      schedule: '0 12 * * 1',
      timezone: 'UTC',
    });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body.headers).toEqual({ 'X-Other': '...9012' });
    expect(replaced.body.auth).toBeNull();
    expect(new Date(replaced.body.nextRunAt ?? '').getUTCDay()).toBe(1);
    expect(replaced.body.nextRunAt).toMatch(/T12:00:00\.000Z$/);
    expect(await secrets()).toEqual({ headers: { 'X-Other': 'other-value-123456789012' }, auth: null });

    const disabled = await a().patch<Job>(`${o()}/jobs/${id}`, { enabled: false });
    expect(disabled.body.nextRunAt).toBeNull();
    expect(disabled.body.enabled).toBe(false);
    const enabled = await a().patch<Job>(`${o()}/jobs/${id}`, { enabled: true });
    expect(enabled.body.nextRunAt).not.toBeNull();

    const bad = await a().patch<Err>(`${o()}/jobs/${id}`, { schedule: 'every day' });
    expect(bad.status).toBe(400);
    expect((await a().get<Job>(`${o()}/jobs/${id}`)).body.schedule).toBe('0 12 * * 1');
  });

  it('DELETE removes the job and its history; later reads are 404', async () => {
    const created = await a().post<Job>(`${o()}/jobs`, { ...valid, name: 'delete me' });
    const id = created.body.id;
    expect((await a().post(`${o()}/jobs/${id}/run`)).status).toBe(202);
    expect((await a().del(`${o()}/jobs/${id}`)).status).toBe(200);
    for (const r of [
      await a().get<Err>(`${o()}/jobs/${id}`),
      await a().get<Err>(`${o()}/jobs/${id}/runs`),
      await a().post<Err>(`${o()}/jobs/${id}/run`),
      await a().patch<Err>(`${o()}/jobs/${id}`, { name: 'x' }),
      await a().del<Err>(`${o()}/jobs/${id}`),
    ]) {
      expect(r.status).toBe(404);
      expect(r.body.error).toBe('not_found');
    }
    const left = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ n: number }>('SELECT count(*)::int AS n FROM job_runs WHERE job_id = $1', [id]),
    );
    expect(left.rows[0]?.n).toBe(0);
  });

  it('audits create, update, run-now and delete, with names and hosts but never a secret value', async () => {
    const created = await a().post<Job>(`${o()}/jobs`, { ...valid, name: 'audited' });
    const id = created.body.id;
    await a().patch(`${o()}/jobs/${id}`, { auth: { type: 'basic', value: 'user:pass-PLAINTEXT-77' } });
    await a().post(`${o()}/jobs/${id}/run`);
    await a().del(`${o()}/jobs/${id}`);
    const audit = await a().get<{ entries: Array<{ action: string; target: string; meta: unknown }> }>(
      `${o()}/audit?limit=500`,
    );
    const mine = audit.body.entries.filter((e) => e.target === `job:${id}`).map((e) => e.action);
    expect(mine.sort()).toEqual(['job.created', 'job.deleted', 'job.run_requested', 'job.updated']);
    const created_ = audit.body.entries.find((e) => e.target === `job:${id}` && e.action === 'job.created');
    expect(created_?.meta).toMatchObject({
      host: 'api.example.com',
      headerNames: ['X-Api-Token', 'X-From-Env'],
    });
    expect(audit.text).not.toContain(HEADER_SECRET);
    expect(audit.text).not.toContain(BEARER);
    expect(audit.text).not.toContain('pass-PLAINTEXT-77');
  });

  it('alert channels: secrets sealed and masked, a generated webhook secret shown once, email recipients kept', async () => {
    const hook = await a().post<{ id: string; secret?: string; config: Record<string, unknown> }>(
      `${o()}/alert-channels`,
      { type: 'webhook', name: 'ops hook', config: { url: 'https://hooks.example.com/rampart' } },
    );
    expect(hook.status, hook.text).toBe(201);
    expect(hook.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const slackUrl = 'https://hooks.slack.com/services/T000/B000/PLAINTEXTslacktoken0001';
    const slack = await a().post<{ id: string; config: Record<string, unknown> }>(`${o()}/alert-channels`, {
      type: 'slack',
      name: 'ops slack',
      config: { webhookUrl: slackUrl },
    });
    expect(slack.status, slack.text).toBe(201);
    expect(slack.text).not.toContain('PLAINTEXTslacktoken0001');
    const mail = await a().post(`${o()}/alert-channels`, {
      type: 'email',
      name: 'ops mail',
      config: { to: ['Ops@Example.test', 'ops@example.test'] },
    });
    expect(mail.status).toBe(201);
    const list = await a().get<{ channels: Array<{ id: string; config: Record<string, unknown> }> }>(
      `${o()}/alert-channels`,
    );
    expect(list.text).not.toContain(hook.body.secret as string);
    expect(list.text).not.toContain('PLAINTEXTslacktoken0001');
    const byId = new Map(list.body.channels.map((c) => [c.id, c.config]));
    expect(byId.get(hook.body.id)).toEqual({
      url: 'https://hooks.example.com/rampart',
      secret: `...${(hook.body.secret as string).slice(-4)}`,
    });
    expect(byId.get(slack.body.id)).toEqual({ webhookUrl: `...${slackUrl.slice(-4)}` });
    expect(await tablesContaining(srv.rampart.services.db, hook.body.secret as string)).toEqual([]);
    expect(await tablesContaining(srv.rampart.services.db, 'PLAINTEXTslacktoken0001')).toEqual([]);

    // A job uses the channel; deleting the channel detaches it from the job in the same transaction.
    const job = await a().post<Job>(`${o()}/jobs`, {
      ...valid,
      name: 'alerting',
      alertChannelIds: [slack.body.id],
    });
    expect(job.body.alertChannelIds).toEqual([slack.body.id]);
    expect((await a().del(`${o()}/alert-channels/${slack.body.id}`)).status).toBe(200);
    expect((await a().get<Job>(`${o()}/jobs/${job.body.id}`)).body.alertChannelIds).toEqual([]);
    expect((await a().get(`${o()}/alert-channels/${slack.body.id}`)).status).toBe(404);
  });

  it.each([
    [
      'a webhook to the metadata address',
      { type: 'webhook', name: 'x', config: { url: 'http://169.254.169.254/' } },
    ],
    [
      'a malformed webhook secret',
      { type: 'webhook', name: 'x', config: { url: 'https://h.example.com/', secret: 'hunter2' } },
    ],
    [
      'a slack URL on a private address',
      { type: 'slack', name: 'x', config: { webhookUrl: 'http://192.168.1.1/hook' } },
    ],
    ['an invalid e-mail', { type: 'email', name: 'x', config: { to: ['not an email'] } }],
    ['an unknown type', { type: 'pager', name: 'x', config: {} }],
  ])('alert channels refuse %s', async (_what, body) => {
    const r = await a().post<Err>(`${o()}/alert-channels`, body);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe('validation_failed');
    expect(r.text).not.toContain('hunter2');
  });
});
