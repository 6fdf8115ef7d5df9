/**
 * Audit sinks (issue 26 part 2) end to end against local TLS receivers with a certificate made in the test
 * (trusted through RAMPART_OUTBOUND_CA): an HTTPS receiver checks every Standard Webhooks signature by hand and
 * the batches' continuity (no gap, no duplicate row, each batch's prevHash the previous one's chainHash) through a
 * refused delivery and a restart of Rampart on the same database; a TLS syslog listener parses RFC 5425 octet
 * counting and RFC 5424 messages, one per row, in order, and receives the chain anchor. The routes validate,
 * answer 404 across tenants, and never show the signing secret after creation. PGlite only: the SQL is plain.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { type Account, addMemberWithRole, api, createPgDatabase, login, signup } from '@rampart/testing';
import { selfSignedCert } from '@rampart/testing/tls';
import { afterAll, describe, expect, it } from 'vitest';
import { tablesContaining } from './fixtures.js';
import { startTestServer } from './helpers.js';
import { durableStore, type MailServer, startMailServer } from './mail-support.js';

const TLS = selfSignedCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
/** The syslog sink's client certificate: the listener accepts only this sender. */
const CLIENT = selfSignedCert({ dnsNames: ['rampart-sender'], ips: [] });

const SINK_ENV = {
  RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
  RAMPART_OUTBOUND_CA: TLS.cert,
  RAMPART_AUDIT_SINK_POLL_MS: '30',
  RAMPART_AUDIT_SINK_BATCH: '4',
  RAMPART_AUDIT_SINK_RETRY_BASE_MS: '20',
  RAMPART_AUDIT_SINK_RETRY_MAX_MS: '80',
  RAMPART_AUDIT_ANCHOR_MS: '0',
  RAMPART_AUDIT_SINK_WORKER: 'on',
};

interface Status {
  cursorSeq: number;
  headSeq: number;
  lag: number;
  attempts: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  anchoredAt: string | null;
}
interface Sink {
  id: string;
  kind: string;
  config: Record<string, unknown>;
  secret?: string;
  status: Status;
}
interface Line {
  type: string;
  [k: string]: unknown;
}
interface Hit {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  answered: number;
}

/** An HTTPS receiver that records every request (answered or refused) and refuses the first `refuse` of them. */
async function startReceiver(): Promise<{
  url: string;
  hits: Hit[];
  refuse: number;
  delayMs: number;
  close(): Promise<void>;
}> {
  const state = { hits: [] as Hit[], refuse: 0, delayMs: 0 };
  const server: HttpsServer = createHttpsServer({ cert: TLS.cert, key: TLS.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = state.refuse > 0 ? 503 : 200;
      if (state.refuse > 0) state.refuse--;
      state.hits.push({
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
        answered: status,
      });
      setTimeout(() => res.writeHead(status).end(), state.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `https://127.0.0.1:${port}/siem/ingest`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}

/** The Standard Webhooks check, written out: v1,base64(HMAC-SHA256(key, id.timestamp.body)). */
function signatureValid(secret: string, h: Hit): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = `v1,${createHmac('sha256', key).update(`${h.id}.${h.timestamp}.${h.body}`).digest('base64')}`;
  return h.signature.split(' ').includes(expected);
}

const lines = (body: string): Line[] =>
  body
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

/**
 * Checks the batches a receiver accepted, deduplicated by id as a receiver would: every re-sent id carried the
 * same body, the batches cover 1..lastSeq without gap or overlap, each one's prevHash is the previous chainHash,
 * and the rows inside chain to each other.
 * @returns the rows in seq order
 */
function checkContinuity(hits: Hit[]): Line[] {
  const byId = new Map<string, string>();
  for (const h of hits) {
    const seen = byId.get(h.id);
    if (seen !== undefined) expect(h.body, `batch ${h.id} re-sent with other content`).toBe(seen);
    else byId.set(h.id, h.body);
  }
  const accepted = new Set(hits.filter((h) => h.answered === 200).map((h) => h.id));
  const batches = [...byId.entries()]
    .filter(([id]) => accepted.has(id))
    .map(([id, body]) => ({ id, lines: lines(body) }))
    .filter((b) => b.lines[0]?.type === 'rampart.audit.batch')
    .sort((a, b) => Number(a.lines[0]?.firstSeq) - Number(b.lines[0]?.firstSeq));
  const rows: Line[] = [];
  let prevHash = '0'.repeat(64);
  let next = 1;
  for (const b of batches) {
    const [head, ...entries] = b.lines as [Line, ...Line[]];
    expect(head.batchId).toBe(b.id);
    expect(head.firstSeq).toBe(next);
    expect(head.prevHash).toBe(prevHash);
    expect(head.count).toBe(entries.length);
    for (const e of entries) {
      expect(e.type).toBe('rampart.audit.entry');
      expect(e.seq).toBe(next);
      expect(e.prevHash).toBe(prevHash);
      prevHash = String(e.hash);
      next++;
      rows.push(e);
    }
    expect(head.lastSeq).toBe(next - 1);
    expect(head.chainHash).toBe(prevHash);
  }
  return rows;
}

const putSecrets = async (baseUrl: string, owner: Account, tag: string, n: number) => {
  for (let i = 0; i < n; i++) {
    const r = await api(baseUrl, owner.token).put(`/api/orgs/${owner.orgId}/secrets/${tag}_${i}`, {
      value: `value-${randomBytes(8).toString('hex')}`,
    });
    expect(r.status).toBe(200);
  }
};

const getSink = async (baseUrl: string, owner: Account, id: string) =>
  (await api(baseUrl, owner.token).get<Sink>(`/api/orgs/${owner.orgId}/audit-sinks/${id}`)).body;

describe('https audit sink', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('delivers signed, gapless, duplicate-free batches through a refusal and a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-sinks-'));
    dirs.push(dir);
    const { store, drop } = await durableStore('pglite', dir);
    const rx = await startReceiver();
    let a: MailServer | undefined;
    let b: MailServer | undefined;
    try {
      a = await startMailServer(SINK_ENV, store);
      const owner = await signup(a.baseUrl);
      // The first two deliveries are refused: the batch is fixed before it is sent, so the retries re-send it
      // whole, with the same id, although rows keep arriving meanwhile.
      rx.refuse = 2;
      rx.delayMs = 15;
      const created = await api(a.baseUrl, owner.token).post<Sink>(`/api/orgs/${owner.orgId}/audit-sinks`, {
        kind: 'https',
        name: 'SIEM',
        config: { url: rx.url },
      });
      expect(created.status).toBe(201);
      const secret = String(created.body.secret);
      expect(secret).toMatch(/^whsec_/);
      expect(created.body.config.secret).not.toContain(secret.slice(10));
      const sinkId = created.body.id;
      await putSecrets(a.baseUrl, owner, 'A', 8);
      await expect.poll(() => rx.hits.filter((h) => h.answered === 503).length).toBe(2);
      const failing = await getSink(a.baseUrl, owner, sinkId);
      expect(failing.status.lastError ?? '').toContain('HTTP 503');
      // Stop mid-stream: a few batches in, rows still behind.
      await expect.poll(() => rx.hits.filter((h) => h.answered === 200).length).toBeGreaterThanOrEqual(2);
      await a.close();
      a = undefined;
      const before = checkContinuity(rx.hits).length;

      b = await startMailServer(SINK_ENV, store);
      const token = await login(b.baseUrl, owner.email);
      const again = { ...owner, token };
      await putSecrets(b.baseUrl, again, 'B', 4);
      const bUrl = b.baseUrl;
      await expect
        .poll(async () => (await getSink(bUrl, again, sinkId)).status, { timeout: 15_000 })
        .toMatchObject({ lag: 0 });
      const status = (await getSink(bUrl, again, sinkId)).status;
      expect(status.cursorSeq).toBe(status.headSeq);
      expect(status.attempts).toBe(0);
      expect(status.lastSuccessAt).not.toBeNull();

      for (const h of rx.hits) expect(signatureValid(secret, h), `signature of ${h.id}`).toBe(true);
      const rows = checkContinuity(rx.hits);
      expect(before).toBeLessThan(rows.length);
      expect(rows.length).toBe(status.headSeq);
      // The rows are the org's log as its own export shows it.
      const log = await api(bUrl, token).get<{
        entries: Array<{ seq: number; hash: string; action: string }>;
      }>(`/api/orgs/${owner.orgId}/audit?limit=500`);
      const logRows = log.body.entries.filter((e) => e.seq <= status.cursorSeq);
      expect(rows.map((r) => [r.seq, r.hash, r.action])).toEqual(
        logRows.map((e) => [e.seq, e.hash, e.action]),
      );
      expect(rows.filter((r) => r.action === 'secret.created')).toHaveLength(12);

      // The secret is shown once: never in a later answer, a log line, the audit log or a table in plaintext.
      const list = await api(bUrl, token).get(`/api/orgs/${owner.orgId}/audit-sinks`);
      expect(list.text).not.toContain(secret);
      expect(log.text).not.toContain(secret);
      expect(b.logs.join('')).not.toContain(secret);
      expect(await tablesContaining(b.db, secret)).toEqual([]);
    } finally {
      await a?.close();
      await b?.close();
      await rx.close();
      await drop();
    }
  });
});

describe('https audit sink after a crash between send and commit', () => {
  it('re-sends the batch in flight whole, with its id, before anything newer', async () => {
    const rx = await startReceiver();
    // Worker off: the test drives it with tick() once the crash state is in place.
    const srv = await startTestServer('pglite', { ...SINK_ENV, RAMPART_AUDIT_SINK_WORKER: 'off' });
    try {
      const owner = await signup(srv.baseUrl);
      const created = await api(srv.baseUrl, owner.token).post<Sink>(`/api/orgs/${owner.orgId}/audit-sinks`, {
        kind: 'https',
        name: 'SIEM',
        config: { url: rx.url },
      });
      await putSecrets(srv.baseUrl, owner, 'C', 6);
      // A node fixed batch 1..2 (batch size was smaller then), sent it, and died before recording success.
      await srv.rampart.services.db.owner((q) =>
        q.query('UPDATE audit_sinks SET batch_last_seq = 2 WHERE id = $1', [created.body.id]),
      );
      await srv.rampart.services.auditSinkWorker.tick();
      const first = rx.hits[0] as Hit;
      expect(first.id).toBe(`rsb_${created.body.id.replaceAll('-', '')}_1_2`);
      expect(lines(first.body)).toHaveLength(3);
      const status = (await getSink(srv.baseUrl, owner, created.body.id)).status;
      expect(status.lag).toBe(0);
      expect(checkContinuity(rx.hits)).toHaveLength(status.headSeq);
      for (const h of rx.hits) expect(signatureValid(String(created.body.secret), h)).toBe(true);
    } finally {
      await srv.close();
      await rx.close();
    }
  });
});

describe('https audit sink on two nodes', () => {
  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'two Rampart nodes on one PostgreSQL deliver each batch once, in order (lease)',
    async () => {
      const d = await createPgDatabase();
      const rx = await startReceiver();
      const a = await startMailServer(SINK_ENV, { databaseUrl: d.url });
      const b = await startMailServer(SINK_ENV, { databaseUrl: d.url });
      try {
        const owner = await signup(a.baseUrl);
        rx.delayMs = 5;
        const created = await api(a.baseUrl, owner.token).post<Sink>(`/api/orgs/${owner.orgId}/audit-sinks`, {
          kind: 'https',
          name: 'SIEM',
          config: { url: rx.url },
        });
        expect(created.status).toBe(201);
        // Rows written through both nodes while both workers race for the sink.
        await Promise.all([putSecrets(a.baseUrl, owner, 'A', 8), putSecrets(b.baseUrl, owner, 'B', 8)]);
        await expect
          .poll(async () => (await getSink(b.baseUrl, owner, created.body.id)).status.lag, {
            timeout: 15_000,
          })
          .toBe(0);
        const status = (await getSink(a.baseUrl, owner, created.body.id)).status;
        for (const h of rx.hits) expect(signatureValid(String(created.body.secret), h)).toBe(true);
        // Nothing was refused, so nothing may arrive twice: one node delivered each batch.
        const ids = rx.hits.map((h) => h.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(checkContinuity(rx.hits)).toHaveLength(status.headSeq);
      } finally {
        await a.close();
        await b.close();
        await rx.close();
        await d.drop();
      }
    },
  );
});

interface SyslogMessage {
  raw: string;
  msgId: string;
  sd: Record<string, string>;
  json: Line;
}

/** A TLS syslog listener: RFC 5425 octet counting (`LEN SP MSG`), then an RFC 5424 header, SD and JSON MSG. */
async function startSyslog(): Promise<{
  port: number;
  messages: SyslogMessage[];
  /** Whether each connection presented the trusted client certificate. */
  authorized: boolean[];
  close(): Promise<void>;
}> {
  const messages: SyslogMessage[] = [];
  const authorized: boolean[] = [];
  const tlsOptions = {
    cert: TLS.cert,
    key: TLS.key,
    requestCert: true,
    rejectUnauthorized: true,
    ca: [CLIENT.cert],
  };
  const server: TlsServer = createTlsServer(tlsOptions, (socket) => {
    authorized.push(socket.authorized);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) return;
        const lenText = buf.subarray(0, sp).toString('ascii');
        expect(lenText).toMatch(/^[1-9][0-9]*$/);
        const len = Number(lenText);
        if (buf.length < sp + 1 + len) return;
        const raw = buf.subarray(sp + 1, sp + 1 + len).toString('utf8');
        buf = buf.subarray(sp + 1 + len);
        const m =
          /^<134>1 (\S+) (\S+) rampart - (\S+) \[rampart@32473((?: [a-zA-Z]+="[^"]*")*)\] \uFEFF(.*)$/s.exec(
            raw,
          );
        expect(m, raw).not.toBeNull();
        const [, at, , msgId, params, json] = m as RegExpExecArray;
        expect(Number.isNaN(Date.parse(String(at)))).toBe(false);
        const sd = Object.fromEntries(
          [...String(params).matchAll(/ ([a-zA-Z]+)="([^"]*)"/g)].map((p) => [p[1], p[2]]),
        );
        messages.push({ raw, msgId: String(msgId), sd, json: JSON.parse(String(json)) as Line });
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    authorized,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('syslog audit sink and the chain anchor', () => {
  it('sends one RFC 5424 message per row in order over TLS, and anchors the platform chain', async () => {
    const syslog = await startSyslog();
    const srv = await startTestServer('pglite', { ...SINK_ENV, RAMPART_AUDIT_ANCHOR_MS: '150' });
    try {
      const owner = await signup(srv.baseUrl);
      const created = await api(srv.baseUrl, owner.token).post<Sink>(`/api/orgs/${owner.orgId}/audit-sinks`, {
        kind: 'syslog',
        name: 'syslog',
        config: { host: '127.0.0.1', port: syslog.port, clientCert: CLIENT.cert, clientKey: CLIENT.key },
      });
      expect(created.status).toBe(201);
      expect(created.body).not.toHaveProperty('secret');
      expect(created.body.config.clientKey).toBe('****');
      expect(String(created.body.config.clientCert)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      await putSecrets(srv.baseUrl, owner, 'S', 9);
      await expect
        .poll(async () => (await getSink(srv.baseUrl, owner, created.body.id)).status.lag, {
          timeout: 10_000,
        })
        .toBe(0);
      const head = (await getSink(srv.baseUrl, owner, created.body.id)).status.headSeq;
      const audit = syslog.messages.filter((m) => m.msgId === 'audit');
      expect(audit.map((m) => Number(m.sd.seq))).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      let prev = '0'.repeat(64);
      for (const m of audit) {
        expect(m.json.seq).toBe(Number(m.sd.seq));
        expect(m.sd.org).toBe(owner.orgId);
        expect(m.sd.prev).toBe(prev);
        expect(m.json.hash).toBe(m.sd.hash);
        expect(Number(m.sd.first)).toBeLessThanOrEqual(Number(m.sd.seq));
        expect(Number(m.sd.last)).toBeGreaterThanOrEqual(Number(m.sd.seq));
        prev = m.sd.hash as string;
      }
      // The anchor: the platform chain's head, sent to the sink and written to the log.
      await expect
        .poll(() => syslog.messages.filter((m) => m.msgId === 'anchor').length)
        .toBeGreaterThanOrEqual(2);
      const anchor = syslog.messages.find((m) => m.msgId === 'anchor') as SyslogMessage;
      expect(anchor.json).toMatchObject({ type: 'rampart.audit.anchor', orgId: owner.orgId });
      expect(anchor.json.platformHead).toMatch(/^[0-9a-f]{64}$/);
      const logged = srv.logs.filter((l) => l.includes('audit chain anchor sent'));
      expect(logged.some((l) => l.includes(String(anchor.json.platformHead)))).toBe(true);
      expect((await getSink(srv.baseUrl, owner, created.body.id)).status.anchoredAt).not.toBeNull();
      // Every connection was the authenticated sender; its key is in no answer, log line or table.
      expect(syslog.authorized.length).toBeGreaterThan(0);
      expect(syslog.authorized.every(Boolean)).toBe(true);
      const keyBody = CLIENT.key.split('\n')[1] as string;
      const list = await api(srv.baseUrl, owner.token).get(`/api/orgs/${owner.orgId}/audit-sinks`);
      expect(list.text).not.toContain(keyBody);
      expect(srv.logs.join('')).not.toContain(keyBody);
      expect(await tablesContaining(srv.rampart.services.db, keyBody)).toEqual([]);
    } finally {
      await srv.close();
      await syslog.close();
    }
  });
});

describe('syslog audit sink through a restart', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('delivers every row once in order across a stop and a start on the same database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-syslog-'));
    dirs.push(dir);
    const { store, drop } = await durableStore('pglite', dir);
    const syslog = await startSyslog();
    let a: MailServer | undefined;
    let b: MailServer | undefined;
    try {
      a = await startMailServer(SINK_ENV, store);
      const owner = await signup(a.baseUrl);
      const created = await api(a.baseUrl, owner.token).post<Sink>(`/api/orgs/${owner.orgId}/audit-sinks`, {
        kind: 'syslog',
        name: 'syslog',
        config: { host: '127.0.0.1', port: syslog.port, clientCert: CLIENT.cert, clientKey: CLIENT.key },
      });
      expect(created.status).toBe(201);
      await putSecrets(a.baseUrl, owner, 'A', 6);
      await expect.poll(() => syslog.messages.filter((m) => m.msgId === 'audit').length).toBeGreaterThan(2);
      await a.close();
      a = undefined;

      b = await startMailServer(SINK_ENV, store);
      const again = { ...owner, token: await login(b.baseUrl, owner.email) };
      await putSecrets(b.baseUrl, again, 'B', 5);
      const bUrl = b.baseUrl;
      await expect
        .poll(async () => (await getSink(bUrl, again, created.body.id)).status.lag, { timeout: 15_000 })
        .toBe(0);
      const head = (await getSink(bUrl, again, created.body.id)).status.headSeq;
      // At least once, with ids: a batch in flight at the stop may come again, whole, under its batch id. Each
      // sequence number arrives with one hash, and together they are exactly 1..head, each linked to the last.
      const audit = syslog.messages.filter((m) => m.msgId === 'audit');
      const bySeq = new Map<number, Set<string>>();
      for (const m of audit)
        bySeq.set(Number(m.sd.seq), (bySeq.get(Number(m.sd.seq)) ?? new Set()).add(String(m.sd.hash)));
      expect([...bySeq.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect([...bySeq.values()].every((h) => h.size === 1)).toBe(true);
      const seen = new Set<number>();
      let prev = '0'.repeat(64);
      for (const m of audit) {
        const seq = Number(m.sd.seq);
        if (seen.has(seq)) continue;
        expect(seq).toBe(seen.size + 1); // in order: no row before the one it follows
        expect(m.sd.prev).toBe(prev);
        seen.add(seq);
        prev = String(m.sd.hash);
      }
    } finally {
      await a?.close();
      await b?.close();
      await syslog.close();
      await drop();
    }
  });
});

describe('audit sink routes', () => {
  it('validate input, are for owners and admins, answer 404 across tenants, and hide the secret', async () => {
    const srv = await startTestServer('pglite', SINK_ENV);
    try {
      const owner = await signup(srv.baseUrl);
      const other = await signup(srv.baseUrl);
      const as = (t: string) => api(srv.baseUrl, t);
      const path = (o: Account, rest = '') => `/api/orgs/${o.orgId}/audit-sinks${rest}`;
      const given = `whsec_${randomBytes(32).toString('base64')}`;

      for (const [body, field] of [
        [{ kind: 'https', name: 'x', config: { url: 'http://127.0.0.1:9/x' } }, 'config.url'],
        [
          { kind: 'https', name: 'x', config: { url: 'https://127.0.0.1:9/x', secret: 'nope' } },
          'config.secret',
        ],
        [{ kind: 'syslog', name: 'x', config: { host: 'bad host!' } }, 'config.host'],
        [{ kind: 'syslog', name: 'x', config: { host: '10.0.0.1' } }, 'config.host'],
        [
          { kind: 'syslog', name: 'x', config: { host: 'siem.example.com', clientCert: CLIENT.cert } },
          'config.clientKey',
        ],
        [
          {
            kind: 'syslog',
            name: 'x',
            config: { host: 'siem.example.com', clientCert: CLIENT.cert, clientKey: TLS.key },
          },
          'config.clientKey',
        ],
        [
          {
            kind: 'syslog',
            name: 'x',
            config: { host: 'siem.example.com', clientCert: 'nope', clientKey: TLS.key },
          },
          'config.clientCert',
        ],
      ] as const) {
        const r = await as(owner.token).post<{ error: string; details?: { field?: string } }>(
          path(owner),
          body,
        );
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error).toBe('validation_failed');
        expect(r.text).toContain(field);
      }
      expect((await as(owner.token).post(path(owner), { kind: 'ftp', name: 'x', config: {} })).status).toBe(
        400,
      );

      const created = await as(owner.token).post<Sink>(path(owner), {
        kind: 'https',
        name: 'given secret',
        config: { url: 'https://127.0.0.1:9/ingest', secret: given },
      });
      expect(created.status).toBe(201);
      expect(created.text).not.toContain(given);
      const id = created.body.id;

      // Another org's owner: 404 through their own org and on ours.
      expect((await as(other.token).get(path(other, `/${id}`))).status).toBe(404);
      expect((await as(other.token).del(path(other, `/${id}`))).status).toBe(404);
      expect((await as(other.token).get(path(owner, `/${id}`))).status).toBe(404);
      expect((await as(other.token).del(path(owner, `/${id}`))).status).toBe(404);
      expect((await as(other.token).get<{ sinks: Sink[] }>(path(other))).body.sinks).toEqual([]);

      const member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
      expect((await as(member.token).get(path(owner))).status).toBe(403);
      const admin = await addMemberWithRole(srv, owner.token, owner.orgId, 'admin');
      const listed = await as(admin.token).get<{ sinks: Sink[] }>(path(owner));
      expect(listed.status).toBe(200);
      expect(listed.body.sinks.map((s) => s.id)).toEqual([id]);
      expect(listed.text).not.toContain(given);

      const log = await as(owner.token).get<{ entries: Array<{ action: string; target: string }> }>(
        `/api/orgs/${owner.orgId}/audit?limit=500`,
      );
      expect(
        log.body.entries.some((e) => e.action === 'audit_sink.created' && e.target === `audit_sink:${id}`),
      ).toBe(true);
      expect(log.text).not.toContain(given);
      expect(await tablesContaining(srv.rampart.services.db, given)).toEqual([]);

      expect((await as(owner.token).del(path(owner, `/${id}`))).status).toBe(200);
      expect((await as(owner.token).get(path(owner, `/${id}`))).status).toBe(404);
      expect(srv.logs.join('')).not.toContain(given);
    } finally {
      await srv.close();
    }
  });
});
