/**
 * Microsoft Teams alert channels: the incoming-webhook URL is the credential, so it is sealed whole and masked in
 * every answer, and never appears in audit rows or logs; only https URLs on Teams / Power Automate hosts are
 * accepted (an operator allow-list entry is the one override, which is how the local stub is reached); failure and
 * recovery alerts go out as a Teams message with one Adaptive Card, and a receiver answering non-2xx is a failed
 * delivery, audited as such. Nothing outside 127.0.0.1 is contacted.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Account, api, signup, startTarget, type Target } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChannels } from '../src/jobs/channels.js';
import { newId } from '../src/platform/ids.js';
import { tablesContaining } from './fixtures.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string; field?: string };
interface Channel {
  id: string;
  type: string;
  name: string;
  config: Record<string, unknown>;
}
interface AuditEntry {
  action: string;
  target: string;
  meta: Record<string, unknown>;
}
interface TextBlock {
  type: string;
  text: string;
}
interface TeamsPayload {
  type: string;
  attachments: Array<{
    contentType: string;
    content: { $schema: string; type: string; version: string; body: TextBlock[] };
  }>;
}

const canary = (tag: string) => `${tag}${randomBytes(12).toString('hex')}`;

interface TeamsHit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A local stand-in for Teams. `/webhookb2/...` answers like a classic connector (200, body `1`), `/workflows/...`
 * like a Workflows trigger (202, no body), `/broken/...` like a connector refusing the payload (400). A payload
 * that is not a message with exactly one Adaptive Card is refused with 400, as Teams does.
 */
async function startTeamsStub(): Promise<{
  origin: string;
  hits: TeamsHit[];
  on(prefix: string): TeamsHit[];
  close(): Promise<void>;
}> {
  const hits: TeamsHit[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits.push({ path, headers: req.headers, body });
      let payload: TeamsPayload | undefined;
      try {
        payload = JSON.parse(body) as TeamsPayload;
      } catch {
        payload = undefined;
      }
      const wellFormed =
        req.method === 'POST' &&
        (req.headers['content-type'] ?? '').startsWith('application/json') &&
        payload?.type === 'message' &&
        payload.attachments?.length === 1 &&
        payload.attachments[0]?.contentType === 'application/vnd.microsoft.card.adaptive' &&
        payload.attachments[0]?.content?.type === 'AdaptiveCard';
      if (!wellFormed || path.startsWith('/broken/')) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('Bad payload received by generic incoming webhook.');
      } else if (path.startsWith('/workflows/')) {
        res.writeHead(202);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    on: (prefix) => hits.filter((h) => h.path.startsWith(prefix)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const texts = (hit: TeamsHit | undefined): string[] =>
  (JSON.parse(hit?.body ?? '{}') as TeamsPayload).attachments[0]?.content.body.map((b) => b.text) ?? [];

describe.each(ENGINES)('Microsoft Teams alert channels (%s)', (engine) => {
  let srv: Srv;
  let teams: Awaited<ReturnType<typeof startTeamsStub>>;
  let target: Target;
  let owner: Account;
  const o = () => `/api/orgs/${owner.orgId}`;
  const a = () => api(srv.baseUrl, owner.token);
  const runner = () => srv.rampart.services.jobRunner;
  /** Every secret URL (or its distinctive part) created in this suite, for the audit and log searches. */
  const needles: string[] = [];

  const createTeams = async (name: string, webhookUrl: string) => {
    const r = await a().post<Channel>(`${o()}/alert-channels`, {
      type: 'teams',
      name,
      config: { webhookUrl },
    });
    expect(r.status, r.text).toBe(201);
    return r;
  };
  const runNow = async (jobId: string): Promise<string> => {
    const q = await a().post<{ id: string }>(`${o()}/jobs/${jobId}/run`);
    expect(q.status, q.text).toBe(202);
    await runner().tick();
    return q.body.id;
  };
  const audit = async () => {
    const r = await a().get<{ entries: AuditEntry[] }>(`${o()}/audit?limit=500`);
    expect(r.status, r.text).toBe(200);
    return r;
  };

  beforeAll(async () => {
    teams = await startTeamsStub();
    target = await startTarget();
    srv = await startTestServer(engine, {
      LOG_LEVEL: 'trace',
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      RAMPART_JOB_RETRY_BASE_MS: '5',
      RAMPART_JOB_RETRY_MAX_MS: '20',
    });
    owner = await signup(srv.baseUrl);
  });
  afterAll(async () => {
    // Whatever the tests did, no secret URL reached a log line or the audit log.
    try {
      const log = srv.logs.join('');
      const auditText = (await audit()).text;
      for (const n of needles) {
        expect(log).not.toContain(n);
        expect(auditText).not.toContain(n);
      }
    } finally {
      await srv.close();
      await teams.close();
      await target.close();
    }
  });

  it('creates a teams channel: the URL sealed whole, masked in every answer, in no audit row or log line', async () => {
    const token = canary('IncomingWebhookPLAINTEXT');
    const sig = canary('sigPLAINTEXT');
    const local = `${teams.origin}/webhookb2/${newId()}@${newId()}/IncomingWebhook/${token}/${newId()}`;
    const realistic = [
      `https://contoso.webhook.office.com/webhookb2/${newId()}@${newId()}/IncomingWebhook/${token}/${newId()}`,
      `https://prod-27.westeurope.logic.azure.com:443/workflows/${token}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`,
      `https://default0a1b2c3d.4e.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/${token}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`,
    ];
    needles.push(token, sig, local);
    const created = await createTeams('ops teams', local);
    expect(created.body.type).toBe('teams');
    expect(created.body.config).toEqual({ webhookUrl: `...${local.slice(-4)}` });
    expect(created.text).not.toContain(token);
    expect(created.text).not.toContain(teams.origin);
    const others: string[] = [];
    for (const [i, url] of realistic.entries()) {
      const r = await createTeams(`teams ${i}`, url);
      expect(r.text).not.toContain(token);
      expect(r.text).not.toContain(sig);
      expect(r.body.config).toEqual({ webhookUrl: `...${url.slice(-4)}` });
      others.push(r.body.id);
    }

    const one = await a().get<Channel>(`${o()}/alert-channels/${created.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      type: 'teams',
      name: 'ops teams',
      config: { webhookUrl: `...${local.slice(-4)}` },
    });
    expect(one.text).not.toContain(token);
    expect(one.text).not.toContain('webhookb2');
    const list = await a().get<{ channels: Channel[] }>(`${o()}/alert-channels`);
    expect(list.status).toBe(200);
    expect(list.body.channels.filter((c) => c.type === 'teams').map((c) => c.id)).toEqual(
      expect.arrayContaining([created.body.id, ...others]),
    );
    for (const n of [token, sig, 'webhookb2', 'logic.azure.com', 'powerplatform.com', teams.origin])
      expect(list.text).not.toContain(n);

    // At rest: no table holds any part of it in the clear, and the seal (bound to this row) opens to the URL.
    const { db, ring } = srv.rampart.services;
    expect(await tablesContaining(db, token)).toEqual([]);
    expect(await tablesContaining(db, sig)).toEqual([]);
    const opened = await db.org(owner.orgId, (q) => openChannels(q, ring, owner.orgId, [created.body.id]));
    expect(opened).toEqual([{ id: created.body.id, type: 'teams', name: 'ops teams', webhookUrl: local }]);

    const auditRes = await audit();
    const mine = auditRes.body.entries.find(
      (e) => e.action === 'alert_channel.created' && e.target === `alert_channel:${created.body.id}`,
    );
    expect(mine?.meta).toEqual({ type: 'teams', name: 'ops teams' });
    for (const n of [token, sig, 'webhookb2', teams.origin]) expect(auditRes.text).not.toContain(n);
    const log = srv.logs.join('');
    expect(log).toContain('alert-channels'); // control: request lines are captured
    for (const n of [token, sig]) expect(log).not.toContain(n);
  });

  it.each([
    [
      'plain http on a Teams host',
      'http://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d',
      /https/,
    ],
    ['a Slack host', 'https://hooks.slack.com/services/T000/B000/XXXX', /Teams/],
    ['an arbitrary host', 'https://example.com/webhookb2/a@b/IncomingWebhook/c/d', /Teams/],
    ['a look-alike host', 'https://contoso.webhook.office.com.evil.example/webhookb2/x', /Teams/],
    ['a suffix without its dot', 'https://evilwebhook.office.com/webhookb2/x', /Teams/],
    ['the bare suffix', 'https://webhook.office.com/webhookb2/x', /Teams/],
    ['a loopback address the allow-list does not name', 'http://127.0.0.2:8080/webhookb2/x', /non-public/],
    ['a private address', 'http://192.168.1.1/webhookb2/x', /non-public/],
    ['credentials in the URL', 'https://robot:hunter2@contoso.webhook.office.com/webhookb2/x', /credentials/],
    ['not a URL', 'contoso.webhook.office.com/webhookb2/x', /absolute/],
  ])('refuses %s with 400 validation_failed naming config.webhookUrl', async (_what, webhookUrl, why) => {
    const r = await a().post<Err>(`${o()}/alert-channels`, {
      type: 'teams',
      name: 'x',
      config: { webhookUrl },
    });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe('validation_failed');
    expect(r.body.message).toContain('config.webhookUrl');
    expect(r.body.message).toMatch(why);
    expect(r.text).not.toContain('hunter2');
  });

  it('refuses unknown config fields and a missing URL (schema)', async () => {
    for (const config of [{}, { webhookUrl: 'https://contoso.webhook.office.com/x', url: 'x' }]) {
      const r = await a().post<Err>(`${o()}/alert-channels`, { type: 'teams', name: 'x', config });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
  });

  it('delivers failure and recovery alerts as Teams Adaptive Cards, audited as job.alert_sent', async () => {
    const token = canary('DeliverPLAINTEXT');
    const sig = canary('sigDeliverPLAINTEXT');
    const classicUrl = `${teams.origin}/webhookb2/${newId()}/IncomingWebhook/${token}`;
    const workflowUrl = `${teams.origin}/workflows/${token}/triggers/manual/paths/invoke?api-version=1&sv=1.0&sig=${sig}`;
    needles.push(token, sig, classicUrl, workflowUrl);
    const classic = await createTeams('classic', classicUrl);
    const workflow = await createTeams('workflow', workflowUrl);
    const key = newId();
    // 503 for the first 2 calls (no retries), then 200: alert at the second failure, recovery at the success.
    const job = await a().post<{ id: string }>(`${o()}/jobs`, {
      name: 'payroll export',
      schedule: '* * * * *',
      url: `${target.origin}/flaky/${key}/2`,
      retries: 0,
      alertAfter: 2,
      alertChannelIds: [classic.body.id, workflow.body.id],
    });
    expect(job.status, job.text).toBe(201);
    const classicHits = () => teams.on(`/webhookb2/`).filter((h) => h.path.includes(token));
    const workflowHits = () => teams.on(`/workflows/${token}/`);

    await runNow(job.body.id); // failure 1: below the threshold
    expect(classicHits()).toHaveLength(0);
    const second = await runNow(job.body.id); // failure 2: the failure alert
    expect(classicHits()).toHaveLength(1);
    expect(workflowHits()).toHaveLength(1);
    const third = await runNow(job.body.id); // success: the recovery alert
    expect(third).not.toBe(second);
    expect(classicHits()).toHaveLength(2);
    expect(workflowHits()).toHaveLength(2);

    for (const hit of [...classicHits(), ...workflowHits()]) {
      expect(hit.headers['content-type']).toBe('application/json');
      const p = JSON.parse(hit.body) as TeamsPayload;
      expect(p.type).toBe('message');
      expect(p.attachments).toHaveLength(1);
      expect(p.attachments[0]).toMatchObject({
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
        },
      });
      const blocks = p.attachments[0]?.content.body ?? [];
      expect(blocks.length).toBeGreaterThan(0);
      for (const b of blocks) expect(b.type).toBe('TextBlock');
      const shown = blocks.map((b) => b.text).join('\n');
      expect(shown).toContain('payroll export');
      // Nothing of the channel's URL or the job's target travels in the card.
      for (const n of [token, sig, target.origin, teams.origin]) expect(hit.body).not.toContain(n);
      for (const n of ['://', '?']) expect(shown).not.toContain(n);
    }
    const [failed, recovered] = classicHits();
    expect(texts(failed)).toEqual(
      expect.arrayContaining([
        'Rampart job failing',
        'Job: payroll export',
        'Consecutive failures: 2',
        'Last run: HTTP 503',
      ]),
    );
    expect(texts(failed).join('\n')).toContain(second);
    expect(texts(recovered)).toEqual(
      expect.arrayContaining([
        'Rampart job recovered',
        'Job: payroll export',
        'Last run: succeeded (HTTP 200)',
      ]),
    );
    expect(texts(recovered).join('\n')).toContain(third);
    expect(workflowHits().map((h) => h.body)).toEqual(classicHits().map((h) => h.body));

    const auditRes = await audit();
    const sent = auditRes.body.entries.filter(
      (e) => e.action === 'job.alert_sent' && e.target === `job:${job.body.id}`,
    );
    expect(sent).toHaveLength(4);
    for (const e of sent) expect(e.meta.channelType).toBe('teams');
    expect(new Set(sent.map((e) => e.meta.channelId))).toEqual(new Set([classic.body.id, workflow.body.id]));
    expect(sent.map((e) => e.meta.alert).sort()).toEqual([
      'job.failed',
      'job.failed',
      'job.recovered',
      'job.recovered',
    ]);
    expect(
      auditRes.body.entries.some((e) => e.action === 'job.alert_failed' && e.target === `job:${job.body.id}`),
    ).toBe(false);
    for (const n of [token, sig]) expect(auditRes.text).not.toContain(n);
    for (const n of [token, sig]) expect(srv.logs.join('')).not.toContain(n);
  });

  it('a Teams receiver answering 400 is a failed delivery, audited as job.alert_failed and logged without the URL', async () => {
    const token = canary('BrokenPLAINTEXT');
    const brokenUrl = `${teams.origin}/broken/webhookb2/${newId()}/IncomingWebhook/${token}`;
    needles.push(token, brokenUrl);
    const broken = await createTeams('broken', brokenUrl);
    const job = await a().post<{ id: string }>(`${o()}/jobs`, {
      name: 'always failing',
      schedule: '* * * * *',
      url: `${target.origin}/status/500`,
      retries: 0,
      alertChannelIds: [broken.body.id],
    });
    expect(job.status, job.text).toBe(201);
    const runId = await runNow(job.body.id);
    const hits = teams.on('/broken/').filter((h) => h.path.includes(token));
    expect(hits).toHaveLength(1); // control: it was tried, and the payload itself was well formed
    expect(JSON.parse(hits[0]?.body ?? '{}')).toMatchObject({ type: 'message' });

    const run = await a().get<{ runs: Array<{ id: string; status: string }> }>(
      `${o()}/jobs/${job.body.id}/runs`,
    );
    expect(run.body.runs.find((r) => r.id === runId)?.status).toBe('failed'); // the alert does not change the run

    const auditRes = await audit();
    const mine = auditRes.body.entries.filter((e) => e.target === `job:${job.body.id}`);
    const failedDelivery = mine.filter((e) => e.action === 'job.alert_failed');
    expect(failedDelivery).toHaveLength(1);
    expect(failedDelivery[0]?.meta).toEqual({
      channelId: broken.body.id,
      channelType: 'teams',
      alert: 'job.failed',
      runId,
    });
    expect(mine.some((e) => e.action === 'job.alert_sent')).toBe(false);
    expect(auditRes.text).not.toContain(token);

    const lines = srv.logs.filter((l) => l.includes('alert delivery failed') && l.includes(broken.body.id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('HTTP 400');
    expect(lines[0]).not.toContain(token);
    expect(lines[0]).not.toContain(teams.origin);
    expect(srv.logs.join('')).not.toContain(token);
  });
});
