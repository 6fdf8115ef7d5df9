/**
 * Issue 7, "Done means": job header and auth values, env: values and alert-channel secrets never reach the
 * database files or the logs, even after runs that fail, retry, alert, and hit a target that echoes every
 * header back with storeResponse on. PGlite runs on a real data directory (closed first, so everything is
 * flushed) and every file is searched as bytes; PostgreSQL has every row of every table dumped. Logs are
 * captured at trace level.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, signup, startTarget, type Target } from '@rampart/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';
import { dumpTables, filesUnder, withFileBackedServer } from './leak-support.js';

const canary = (tag: string) => `${tag}-${randomBytes(12).toString('base64url')}`;
const ENV_NAME = 'JOB_LEAK_TOKEN';

/** Creates jobs and channels carrying secrets, runs them (success, failure + alert, echo); returns them. */
async function exercise(baseUrl: string, runner: { tick(): Promise<number> }, target: Target) {
  const secrets = {
    header: canary('hdr'),
    bearer: canary('bearer'),
    basic: `robot:${canary('basicpw')}`,
    env: canary('envval'),
    slackUrlPart: canary('slackpath'),
    teamsUrlPart: canary('teamspath'),
    teamsSig: canary('teamssig'),
    patchedHeader: canary('patched'),
  };
  process.env[ENV_NAME] = secrets.env;
  const owner = await signup(baseUrl);
  const a = api(baseUrl, owner.token);
  const o = `/api/orgs/${owner.orgId}`;
  const hook = await a.post<{ id: string; secret: string }>(`${o}/alert-channels`, {
    type: 'webhook',
    name: 'hook',
    config: { url: `${target.origin}/alerts/webhook` },
  });
  const slack = await a.post<{ id: string }>(`${o}/alert-channels`, {
    type: 'slack',
    name: 'slack',
    config: { webhookUrl: `${target.origin}/alerts/slack/${secrets.slackUrlPart}` },
  });
  const teams = await a.post<{ id: string }>(`${o}/alert-channels`, {
    type: 'teams',
    name: 'teams',
    config: {
      webhookUrl: `${target.origin}/alerts/teams/${secrets.teamsUrlPart}?api-version=1&sig=${secrets.teamsSig}`,
    },
  });
  expect([hook.status, slack.status, teams.status]).toEqual([201, 201, 201]);
  const echo = await a.post<{ id: string }>(`${o}/jobs`, {
    name: 'echo',
    schedule: '* * * * *',
    url: `${target.origin}/echo/leak`,
    method: 'POST',
    storeResponse: true,
    headers: { 'X-Api-Token': secrets.header, 'X-Env': `env:${ENV_NAME}` },
    auth: { type: 'bearer', value: secrets.bearer },
  });
  const failing = await a.post<{ id: string }>(`${o}/jobs`, {
    name: 'failing',
    schedule: '* * * * *',
    url: `${target.origin}/status/500`,
    retries: 1,
    storeResponse: true,
    auth: { type: 'basic', value: secrets.basic },
    alertChannelIds: [hook.body.id, slack.body.id, teams.body.id],
  });
  expect([echo.status, failing.status]).toEqual([201, 201]);
  const patched = await a.patch(`${o}/jobs/${echo.body.id}`, {
    headers: { 'X-Api-Token': secrets.patchedHeader, 'X-Env': `env:${ENV_NAME}` },
  });
  expect(patched.status).toBe(200);
  for (const id of [echo.body.id, failing.body.id])
    expect((await a.post(`${o}/jobs/${id}/run`)).status).toBe(202);
  await runner.tick();
  const snippet = await a.get<{ runs: Array<{ status: string; snippet?: string }> }>(
    `${o}/jobs/${echo.body.id}/runs`,
  );
  expect(snippet.body.runs[0]?.status).toBe('succeeded');
  expect(snippet.body.runs[0]?.snippet).toContain('[SECRET]');
  // Controls: the values really went out (so their absence at rest means something).
  const echoed = target.on('/echo/leak').at(-1);
  expect(echoed?.headers['x-api-token']).toBe(secrets.patchedHeader);
  expect(echoed?.headers['x-env']).toBe(secrets.env);
  expect(target.on('/alerts/webhook')).toHaveLength(1);
  expect(target.on(`/alerts/slack/${secrets.slackUrlPart}`)).toHaveLength(1);
  expect(target.on(`/alerts/teams/${secrets.teamsUrlPart}`)).toHaveLength(1);
  const basicB64 = Buffer.from(secrets.basic).toString('base64');
  const needles: Record<string, string> = {
    ...secrets,
    'webhook secret': hook.body.secret,
    'webhook key (base64 part)': hook.body.secret.slice('whsec_'.length),
    'basic (base64)': basicB64,
  };
  return { needles, email: owner.email };
}

function expectAbsent(haystack: Buffer, where: string, needles: Record<string, string>) {
  const found = Object.entries(needles)
    .filter(([, v]) => haystack.includes(Buffer.from(v)))
    .map(([k]) => `${k} in ${where}`);
  expect(found).toEqual([]);
}

describe('job secrets: nothing in the PGlite data directory or the logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-jobs-leak-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    delete process.env[ENV_NAME];
  });

  it('jobs, runs, alerts, then every file and log line searched byte for byte', async () => {
    const target = await startTarget();
    let run: Awaited<
      ReturnType<
        typeof withFileBackedServer<{ exercised: Awaited<ReturnType<typeof exercise>>; tables: string }>
      >
    >;
    try {
      run = await withFileBackedServer(
        dir,
        {
          RAMPART_JOB_ENV_ALLOW: '*:JOB_LEAK_',
          RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
          RAMPART_JOB_RETRY_BASE_MS: '5',
        },
        async (baseUrl, rampart) => ({
          exercised: await exercise(baseUrl, rampart.services.jobRunner, target),
          tables: (await dumpTables(rampart.services.db)).text,
        }),
      );
    } finally {
      await target.close();
    }
    const { logs } = run;
    const { exercised: result, tables } = run.result;
    const files = filesUnder(dir);
    const all = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(all.includes(Buffer.from(result.email))).toBe(true); // control: real, flushed data
    for (const f of files) expectAbsent(readFileSync(f), f.slice(dir.length), result.needles);
    expect(tables).toContain(result.email);
    expectAbsent(Buffer.from(tables), 'the table dump', result.needles);
    expect(logs.join('')).toContain('job run failed'); // control: the runner's failure lines are captured
    for (const [i, line] of logs.entries()) expectAbsent(Buffer.from(line), `log line ${i}`, result.needles);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('job secrets: nothing in PostgreSQL rows or the logs', () => {
  it('jobs, runs, alerts, then every row of every table dumped and searched', async () => {
    const target = await startTarget();
    const srv = await startTestServer('postgres', {
      LOG_LEVEL: 'trace',
      RAMPART_JOB_ENV_ALLOW: '*:JOB_LEAK_',
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_JOB_RETRY_BASE_MS: '5',
    });
    try {
      const result = await exercise(srv.baseUrl, srv.rampart.services.jobRunner, target);
      const { text } = await dumpTables(srv.rampart.services.db);
      expect(text).toContain(result.email);
      expectAbsent(Buffer.from(text), 'the table dump', result.needles);
      expect(srv.logs.join('')).toContain('job run failed');
      for (const [i, line] of srv.logs.entries())
        expectAbsent(Buffer.from(line), `log line ${i}`, result.needles);
    } finally {
      await srv.close();
      await target.close();
      delete process.env[ENV_NAME];
    }
  });
});
