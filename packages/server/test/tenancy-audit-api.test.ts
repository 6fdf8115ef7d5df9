import { randomUUID } from 'node:crypto';
import {
  type Account,
  type Api,
  addMemberWithRole,
  api,
  login,
  type Member,
  PASSWORD,
  signup,
  totpCode,
  uniqueEmail,
} from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../src/platform/audit/verify.js';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string };
interface Entry {
  id: string;
  seq: number;
  at: string;
  orgId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  action: string;
  target: string | null;
  meta: Record<string, unknown>;
  hash: string;
}
type Page = { entries: Entry[]; nextCursor: string | null };

const FIELDS = [
  'id',
  'at',
  'orgId',
  'userId',
  'apiKeyId',
  'ip',
  'userAgent',
  'requestId',
  'action',
  'target',
  'meta',
];
/** A user agent that needs RFC 4180 quoting (comma and double quotes). */
const ODD_UA = 'Mozilla/5.0 (X11, "Quoted" edition)';

/** Strict RFC 4180: CRLF records, quoted fields with doubled quotes; a bare LF or stray quote is an error. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '' && !wasQuoted) quoted = wasQuoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
      wasQuoted = false;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      wasQuoted = false;
      i++;
    } else if (c === '\n' || c === '"' || wasQuoted) throw new Error(`not RFC 4180 at ${i}`);
    else field += c;
  }
  if (quoted || field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

describe.each(ENGINES)('audit API (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  let member: Member;
  let a: Api;
  let o: string;
  let settingsRequestId: string | null;
  let all: Entry[];

  beforeAll(async () => {
    srv = await startTestServer(engine);
    owner = await signup(srv.baseUrl, { orgName: 'Audited Org' });
    a = api(srv.baseUrl, owner.token);
    o = `/api/orgs/${owner.orgId}`;
    expect(
      (await api(srv.baseUrl).post('/api/auth/login', { email: owner.email, password: 'wrong password 000' }))
        .status,
    ).toBe(401);
    await login(srv.baseUrl, owner.email);
    const key = await a.post<{ id: string }>(`${o}/api-keys`, { name: 'audited' });
    expect((await a.del(`${o}/api-keys/${key.body.id}`)).status).toBe(200);
    member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
    const extra = await addMemberWithRole(srv, owner.token, owner.orgId, 'viewer', uniqueEmail('extra'));
    expect((await a.patch(`${o}/members/${extra.userId}`, { role: 'admin' })).status).toBe(200);
    expect((await a.del(`${o}/members/${extra.userId}`)).status).toBe(200);
    const settings = await a.request(
      'PATCH',
      `${o}/settings`,
      { retentionDays: 99 },
      { 'user-agent': ODD_UA },
    );
    settingsRequestId = settings.headers.get('x-request-id');
    await a.put(`${o}/secrets/AUDITED`, { value: 'sk-audited-secret-value-1' });
    await a.put(`${o}/secrets/AUDITED`, { value: 'sk-audited-secret-value-2' });
    await a.post(`${o}/runtime-tokens`, { name: 'audited' });
    all = (await a.get<Page>(`${o}/audit?limit=500`)).body.entries;
  });
  afterAll(() => srv.close());

  it('every mutating action of the issue is in the org log under its name', () => {
    const actions = new Set(all.map((e) => e.action));
    for (const name of [
      'user.signed_up',
      'org.created',
      'api_key.created',
      'api_key.revoked',
      'member.added',
      'member.role_changed',
      'member.removed',
      'settings.updated',
      'secret.created',
      'secret.updated',
      'runtime_token.created',
    ])
      expect(actions, name).toContain(name);
    // Sign-ins are the person's, not the org's: in the owner's own stream, never in the org log (finding 8).
    expect(actions).not.toContain('auth.login');
    expect(actions).not.toContain('auth.login_failed');
  });

  it("the owner's sign-ins and failed sign-ins are in their own account events", async () => {
    const mine = await a.get<{ events: Array<{ action: string; target: string; meta: unknown }> }>(
      '/api/me/events',
    );
    const failed = mine.body.events.find((e) => e.action === 'auth.login_failed');
    expect(failed).toMatchObject({ target: `user:${owner.userId}`, meta: { reason: 'credentials' } });
    expect(mine.body.events.map((e) => e.action)).toContain('auth.login');
    expect(all.find((e) => e.action === 'member.role_changed')?.meta).toEqual({
      from: 'viewer',
      to: 'admin',
    });
  });

  it('each entry has {id, at, orgId, userId, apiKeyId, ip, userAgent, requestId, action, target, meta}', () => {
    for (const e of all) {
      for (const f of FIELDS) expect(e, `${e.action} lacks ${f}`).toHaveProperty(f);
      expect(e.orgId).toBe(owner.orgId);
      expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(e.at).toISOString()).toBe(e.at);
      expect(e.ip).toBe('127.0.0.1');
      expect(e.requestId).toBeTruthy();
      expect(e.apiKeyId).toBeNull();
      expect(typeof e.meta).toBe('object');
    }
    const s = all.find((e) => e.action === 'settings.updated');
    expect(s).toMatchObject({ userId: owner.userId, userAgent: ODD_UA, requestId: settingsRequestId });
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  });

  it('filters: action, since (inclusive) and until (exclusive)', async () => {
    const keys = await a.get<Page>(`${o}/audit?action=api_key.created`);
    expect(keys.body.entries.length).toBeGreaterThan(0);
    expect(keys.body.entries.every((e) => e.action === 'api_key.created')).toBe(true);
    const pivot = all[Math.floor(all.length / 2)]?.at ?? '';
    const since = (await a.get<Page>(`${o}/audit?limit=500&since=${encodeURIComponent(pivot)}`)).body.entries;
    const until = (await a.get<Page>(`${o}/audit?limit=500&until=${encodeURIComponent(pivot)}`)).body.entries;
    expect(since.every((e) => e.at >= pivot)).toBe(true);
    expect(until.every((e) => e.at < pivot)).toBe(true);
    expect([...until, ...since].map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(until.length).toBeGreaterThan(0);
    for (const bad of [
      'action=DROP%20TABLE',
      'since=yesterday',
      'limit=0',
      'limit=501',
      'cursor=-1',
      'format=xml',
      'x=1',
    ]) {
      const r = await a.get<Err>(`${o}/audit?${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
  });

  it('cursor pagination (limit 2) is complete, ordered and without duplicates', async () => {
    const got: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page: Page = (await a.get<Page>(`${o}/audit?limit=2${q}`)).body;
      expect(page.entries.length).toBeLessThanOrEqual(2);
      got.push(...page.entries);
      cursor = page.nextCursor;
      pages++;
      expect(pages).toBeLessThan(100);
    } while (cursor !== null);
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    // Later requests may have added entries (reading the log is not a mutation, so none here).
    expect(got.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(all.length / 2));
  });

  it('format=csv streams the same entries as RFC 4180 with a header row', async () => {
    const r = await fetch(`${srv.baseUrl}${o}/audit?format=csv`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toContain('attachment');
    const rows = parseCsv(await r.text());
    const header = rows[0] ?? [];
    expect(header).toEqual(expect.arrayContaining([...FIELDS, 'seq']));
    expect(rows.slice(1)).toHaveLength(all.length);
    rows.slice(1).forEach((row, i) => {
      const e = all[i] as Entry;
      const rec = Object.fromEntries(header.map((h, j) => [h, row[j]]));
      expect(rec.id).toBe(e.id);
      expect(rec.seq).toBe(String(e.seq));
      expect(rec.at).toBe(e.at);
      for (const f of ['userId', 'apiKeyId', 'ip', 'userAgent', 'requestId', 'action', 'target'] as const)
        expect(rec[f], f).toBe(e[f] ?? '');
      expect(JSON.parse(rec.meta ?? '')).toEqual(e.meta);
    });
    const filtered = await fetch(`${srv.baseUrl}${o}/audit?format=csv&action=secret.updated`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(parseCsv(await filtered.text())).toHaveLength(2);
  });

  it('format=ndjson streams the same entries, one JSON object per line', async () => {
    const r = await fetch(`${srv.baseUrl}${o}/audit?format=ndjson`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await r.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(lines).toEqual(all);
  });

  it('verify → {ok: true, count, head} matching the log', async () => {
    const v = await a.get<{ ok: boolean; count: number; head: string }>(`${o}/audit/verify`);
    expect(v.body).toEqual({ ok: true, count: all.length, head: all.at(-1)?.hash });
    expect(v.body.head).toMatch(/^[0-9a-f]{64}$/);
  });

  it('audit.read is owner/admin only: a member gets 403 on the log, its exports and verify', async () => {
    const m = api(srv.baseUrl, member.token);
    for (const path of ['/audit', '/audit?format=csv', '/audit?format=ndjson', '/audit/verify']) {
      const r = await m.get<Err>(`${o}${path}`);
      expect(r.status, path).toBe(403);
      expect(r.body.error).toBe('forbidden');
    }
  });

  describe('platform operators', () => {
    let op: Account;
    let opToken: string;
    const platformRows = (action: string) =>
      srv.rampart.services.db.owner(async (q) => {
        const { rows } = await q.query<{ user_id: string; target: string | null }>(
          'SELECT user_id, target FROM audit_log WHERE org_id IS NULL AND action = $1 ORDER BY seq',
          [action],
        );
        return rows;
      });

    beforeAll(async () => {
      op = await signup(srv.baseUrl, { email: uniqueEmail('operator'), orgName: 'Support Desk' });
      // What `rampart admin create-operator` does for an existing account, without the CLI.
      await srv.rampart.services.db.owner((q) =>
        q.query('UPDATE users SET is_operator = true WHERE id = $1', [op.userId]),
      );
    });

    it('without TOTP every admin route is 403', async () => {
      for (const path of ['/api/admin/orgs', `/api/admin/orgs/${owner.orgId}/members`]) {
        const r = await api(srv.baseUrl, op.token).get<Err>(path);
        expect(r.status, path).toBe(403);
        expect(r.body.error).toBe('forbidden');
      }
    });

    it('after enrolling TOTP, a session signed in without the code is still refused', async () => {
      const s = api(srv.baseUrl, op.token);
      const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: op.password });
      expect(enroll.status).toBe(200);
      const confirm = await s.post<{ recoveryCodes: string[] }>('/api/auth/totp/confirm', {
        code: totpCode(enroll.body.secret),
      });
      expect(confirm.status, confirm.text).toBe(200);
      expect((await s.get('/api/admin/orgs')).status).toBe(403);
      const noCode = await api(srv.baseUrl).post<Err>('/api/auth/login', {
        email: op.email,
        password: PASSWORD,
      });
      expect(noCode.body.error).toBe('totp_required');
      // The confirm consumed this step; the next one is inside the ±1 window and not yet used.
      opToken = await login(srv.baseUrl, op.email, PASSWORD, { totp: totpCode(enroll.body.secret, 1) });
    });

    it('with a TOTP session: lists orgs (audited on the platform chain)', async () => {
      const before = (await platformRows('operator.orgs_listed')).length;
      const r = await api(srv.baseUrl, opToken).get<{
        orgs: Array<{ orgId: string; name: string; members: number }>;
      }>('/api/admin/orgs');
      expect(r.status).toBe(200);
      expect(r.body.orgs).toContainEqual(
        expect.objectContaining({ orgId: owner.orgId, name: 'Audited Org', members: 2 }),
      );
      const after = await platformRows('operator.orgs_listed');
      expect(after).toHaveLength(before + 1);
      expect(after.at(-1)?.user_id).toBe(op.userId);
    });

    it("opening an org's members is audited on the platform chain and in that org's own chain", async () => {
      const r = await api(srv.baseUrl, opToken).get<{ members: Array<{ userId: string }> }>(
        `/api/admin/orgs/${owner.orgId}/members`,
      );
      expect(r.status, r.text).toBe(200);
      expect(r.body.members.map((m) => m.userId).sort()).toEqual([owner.userId, member.userId].sort());
      expect(await platformRows('operator.org_accessed')).toContainEqual({
        user_id: op.userId,
        target: `org:${owner.orgId}`,
      });
      const seen = await a.get<Page>(`${o}/audit?action=operator.org_accessed`);
      expect(seen.body.entries).toEqual([
        expect.objectContaining({
          userId: op.userId,
          target: `org:${owner.orgId}`,
          meta: { what: 'members' },
        }),
      ]);
      expect((await a.get<{ ok: boolean }>(`${o}/audit/verify`)).body.ok).toBe(true);
      const platform = await srv.rampart.services.db.owner((q) => verifyChain(q, null));
      expect(platform.ok).toBe(true);
      const missing = await api(srv.baseUrl, opToken).get<Err>(`/api/admin/orgs/${randomUUID()}/members`);
      expect(missing.status).toBe(404);
    });
  });
});
