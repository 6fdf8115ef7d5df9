/**
 * Incident notices (issue 27 part 3) end to end through a real SMTP server on loopback: an operator's notice
 * reaches every owner and admin of the chosen orgs (one mail per org for a person who is admin of two) and no
 * member or viewer; its HTML part escapes the operator's text; delivery status goes queued -> sent; "all" covers
 * every org; each org's chain gets one `operator.notice_sent` row (and the platform chain one) without the text or
 * an address; non-operators are refused; bad input is a 400, an unknown org a 404 with nothing queued. Then
 * `rampart admin notify` and `rampart admin notices` against the same database while the server is down (the
 * notice waits as queued), and the restarted server delivers it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Account,
  addExistingMember,
  addMemberWithRole,
  api,
  cleanEnv,
  login,
  type Member,
  PASSWORD,
  runCli,
  signup,
  totpCode,
  uniqueEmail,
} from '@rampart/testing';
import { type SmtpSink, startSmtpSink } from '@rampart/testing/smtp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendNotice } from '../src/mail/notices.js';
import { verifyChain } from '../src/platform/audit/verify.js';
import { durableStore, FAST_MAIL, MASTER_KEYS, type MailServer, startMailServer } from './mail-support.js';

const BODY =
  'We detected an incident affecting <script>alert("x")</script> & "quotes".\n' +
  'Second line of the first paragraph.\n\nWhat to do: rotate your API keys.';
const SUBJECT = 'Security incident: action needed';

interface Status {
  queued: number;
  sent: number;
  failed: number;
  expired: number;
}
interface NoticeBody {
  noticeId: string;
  subject: string;
  orgs: number;
  recipients: number;
  allOrgs: boolean;
  createdBy: string | null;
  status: Status;
  body: string;
  perOrg: Array<{ orgId: string; name: string; recipients: number; queued: number; sent: number }>;
}

describe('incident notices', () => {
  let sink: SmtpSink;
  let srv: MailServer;
  let dir: string;
  let store: { dataDir?: string; databaseUrl?: string };
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  let opToken: string;
  let opUserId: string;
  let a: Account;
  let b: Account;
  let c: Account;
  let adminAB: Member;
  let memberA: Member;
  let viewerA: Member;
  let noticeId: string;

  const op = () => api(srv.baseUrl, opToken);
  const notices = (to: string) => sink.mails.filter((m) => m.to.includes(to) && m.subject === SUBJECT);
  const count = async (sql: string, params: unknown[] = []) =>
    Number(
      (await srv.db.owner((q) => q.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) x`, params)))
        .rows[0]?.n,
    );

  beforeAll(async () => {
    sink = await startSmtpSink();
    dir = mkdtempSync(join(tmpdir(), 'rampart-notices-'));
    ({ store, drop } = await durableStore('pglite', dir));
    env = { ...FAST_MAIL, RAMPART_SMTP_URL: sink.url, RAMPART_PUBLIC_URL: 'https://rampart.test' };
    srv = await startMailServer(env, store);
    // Invitations travel through the SMTP server too: the account helpers read them from what it caught.
    const box = {
      get sent() {
        return sink.mails.flatMap((m) => m.to.map((to) => ({ to, text: m.text })));
      },
    };
    const via = { baseUrl: srv.baseUrl, mailer: box };

    const o = await signup(srv.baseUrl, { email: uniqueEmail('operator') });
    opUserId = o.userId;
    await srv.db.owner((q) => q.query('UPDATE users SET is_operator = true WHERE id = $1', [o.userId]));
    const s = api(srv.baseUrl, o.token);
    const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: o.password });
    await s.post('/api/auth/totp/confirm', { code: totpCode(enroll.body.secret) });
    opToken = await login(srv.baseUrl, o.email, PASSWORD, { totp: totpCode(enroll.body.secret, 1) });

    a = await signup(srv.baseUrl, { orgName: 'Acme <A> & Co' });
    b = await signup(srv.baseUrl, { orgName: 'Beta Org' });
    c = await signup(srv.baseUrl, { orgName: 'Gamma Org' });
    adminAB = await addMemberWithRole(via, a.token, a.orgId, 'admin');
    memberA = await addMemberWithRole(via, a.token, a.orgId, 'member');
    viewerA = await addMemberWithRole(via, a.token, a.orgId, 'viewer');
    await addExistingMember(via, b.token, b.orgId, adminAB, 'admin');
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await sink?.close();
    await drop?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reaches every owner and admin of the chosen orgs over SMTP, never a member or viewer', async () => {
    const r = await op().post<{ noticeId: string; orgs: number; recipients: number }>('/api/admin/notices', {
      orgIds: [a.orgId, b.orgId, a.orgId],
      subject: `  ${SUBJECT} `,
      body: BODY,
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ orgs: 2, recipients: 4 });
    noticeId = r.body.noticeId;

    await expect.poll(() => notices(adminAB.email).length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => notices(a.email).length).toBe(1);
    await expect.poll(() => notices(b.email).length).toBe(1);
    expect(notices(a.email)).toHaveLength(1);
    expect(notices(b.email)).toHaveLength(1);
    const both = notices(adminAB.email);
    expect(both).toHaveLength(2);
    expect(both.map((m) => m.text.match(/as admin of the org "([^"]+)"/)?.[1]).sort()).toEqual([
      'Acme <A> & Co',
      'Beta Org',
    ]);
    const m = notices(a.email)[0];
    expect(m?.subject).toBe(SUBJECT);
    expect(m?.text).toContain('We detected an incident affecting <script>alert("x")</script> & "quotes".');
    expect(m?.text).toContain('What to do: rotate your API keys.');
    expect(m?.text).toContain('as owner of the org "Acme <A> & Co"');
    // The operator's text is escaped in the HTML part: no markup of theirs survives.
    expect(m?.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(m?.html).not.toContain('<script>');
    expect(m?.html).toContain('Acme &lt;A&gt; &amp; Co');

    // Nobody else got it: not the member, not the viewer, not the owner of an org that was not chosen.
    await new Promise((res) => setTimeout(res, 200));
    for (const who of [memberA.email, viewerA.email, c.email]) expect(notices(who), who).toEqual([]);
  });

  it('shows delivery status per notice and per org, counted from the outbox', async () => {
    await expect
      .poll(
        async () =>
          (await op().get<{ notice: NoticeBody }>(`/api/admin/notices/${noticeId}`)).body.notice?.status,
        { timeout: 10_000 },
      )
      .toEqual({ queued: 0, sent: 4, failed: 0, expired: 0 });
    const d = (await op().get<{ notice: NoticeBody }>(`/api/admin/notices/${noticeId}`)).body.notice;
    expect(d).toMatchObject({
      noticeId,
      subject: SUBJECT,
      body: BODY,
      orgs: 2,
      recipients: 4,
      allOrgs: false,
      createdBy: opUserId,
    });
    expect(d.perOrg.map((p) => [p.orgId, p.name, p.recipients, p.queued, p.sent]).sort()).toEqual(
      [
        [a.orgId, 'Acme <A> & Co', 2, 0, 2],
        [b.orgId, 'Beta Org', 2, 0, 2],
      ].sort(),
    );
    const list = await op().get<{ notices: NoticeBody[] }>('/api/admin/notices');
    expect(list.status).toBe(200);
    expect(list.body.notices[0]).toMatchObject({ noticeId, orgs: 2, recipients: 4, status: { sent: 4 } });
    expect(list.text).not.toContain('rotate your API keys');
    expect(list.text).not.toContain(a.email);
    // The outbox rows carry the notice, the org and the person; the text and address are sealed, then dropped.
    expect(
      await count(
        `SELECT 1 FROM mail_outbox WHERE kind = 'incident_notice' AND ref->>'noticeId' = $1
            AND status = 'sent' AND payload_sealed IS NULL AND user_id IS NOT NULL`,
        [noticeId],
      ),
    ).toBe(4);
  });

  it('audits one row per org chain and one on the platform chain, without the text or any address', async () => {
    const rows = await srv.db.owner((q) =>
      q.query<{ org_id: string | null; user_id: string | null; target: string; meta: string }>(
        `SELECT org_id::text AS org_id, user_id::text AS user_id, target, meta FROM audit_log
          WHERE action = 'operator.notice_sent' ORDER BY org_id NULLS FIRST`,
      ),
    );
    expect(rows.rows.map((r) => r.org_id).sort()).toEqual([null, a.orgId, b.orgId].sort());
    for (const r of rows.rows) {
      expect(r.user_id).toBe(opUserId);
      expect(r.target).toBe(`notice:${noticeId}`);
      expect(r.meta).not.toMatch(/@|rotate|incident|script/i);
      const meta = JSON.parse(r.meta) as Record<string, unknown>;
      expect(meta.noticeId).toBe(noticeId);
      expect(meta.recipients).toBe(r.org_id ? 2 : 4);
    }
    for (const chain of [null, a.orgId, b.orgId]) {
      const v = await srv.db.owner((q) => verifyChain(q, chain));
      expect(v.ok, String(chain)).toBe(true);
    }
    // The org's own admins can read it in their audit log.
    const log = await api(srv.baseUrl, a.token).get<{ entries?: unknown[] }>(
      `/api/orgs/${a.orgId}/audit?limit=500`,
    );
    expect(log.text).toContain('operator.notice_sent');
  });

  it('"all" reaches the owners and admins of every org', async () => {
    const orgs = await count('SELECT 1 FROM orgs');
    const people = await count(`SELECT 1 FROM memberships WHERE role IN ('owner', 'admin')`);
    const r = await op().post<{ noticeId: string; orgs: number; recipients: number }>('/api/admin/notices', {
      orgIds: 'all',
      subject: SUBJECT,
      body: 'Maintenance is over.',
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ orgs, recipients: people });
    expect(orgs).toBe(4);
    await expect.poll(() => notices(c.email).length, { timeout: 10_000 }).toBe(1);
    const last = (who: string) => notices(who).filter((m) => m.text.includes('Maintenance is over.'));
    await expect.poll(() => last(adminAB.email).length).toBe(2);
    for (const who of [a.email, b.email, c.email]) expect(last(who), who).toHaveLength(1);
    for (const who of [memberA.email, viewerA.email]) expect(notices(who), who).toEqual([]);
    const d = await op().get<{ notice: NoticeBody }>(`/api/admin/notices/${r.body.noticeId}`);
    expect(d.body.notice.allOrgs).toBe(true);
    expect(d.body.notice.perOrg).toHaveLength(4);
    expect(await count(`SELECT 1 FROM audit_log WHERE action = 'operator.notice_sent'`)).toBe(3 + 5);
  });

  it('refuses bad input with 400, an unknown org with 404, and queues nothing', async () => {
    const before = await count('SELECT 1 FROM mail_outbox');
    const notes = await count('SELECT 1 FROM operator_notices');
    const send = (body: unknown) =>
      op().post<{ error: string; details?: unknown }>('/api/admin/notices', body);
    const ok = { orgIds: [a.orgId], subject: 'x', body: 'y' };
    for (const bad of [
      { ...ok, orgIds: [] },
      { ...ok, orgIds: ['not-a-uuid'] },
      { ...ok, orgIds: 'some' },
      { ...ok, subject: '' },
      { ...ok, subject: '   ' },
      { ...ok, subject: 'two\r\nBcc: x@example.test' },
      { ...ok, subject: 's'.repeat(201) },
      { ...ok, body: ' \n ' },
      { ...ok, body: 'b'.repeat(20_001) },
      { ...ok, extra: true },
      { subject: 'x', body: 'y' },
    ]) {
      const r = await send(bad);
      expect(r.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
    const ghost = randomUUID();
    const r = await send({ ...ok, orgIds: [a.orgId, ghost] });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: 'not_found', orgIds: [ghost] });
    expect(await count('SELECT 1 FROM mail_outbox')).toBe(before);
    expect(await count('SELECT 1 FROM operator_notices')).toBe(notes);

    expect((await op().get(`/api/admin/notices/${randomUUID()}`)).body).toMatchObject({ error: 'not_found' });
    expect((await op().get('/api/admin/notices/nope')).status).toBe(400);
    expect((await op().get('/api/admin/notices?limit=0')).status).toBe(400);
  });

  it('a failure part-way through leaves no half notice: no row, no mail, no audit row', async () => {
    const tables = ['operator_notices', 'operator_notice_orgs', 'mail_outbox', 'audit_log', 'audit_heads'];
    const snapshot = async () => Promise.all(tables.map((t) => count(`SELECT 1 FROM ${t}`)));
    const heads = () =>
      srv.db
        .owner((q) => q.query('SELECT chain, seq, head FROM audit_heads ORDER BY chain'))
        .then((r) => r.rows);
    const before = await snapshot();
    const headsBefore = await heads();
    // The notice row and the first three orgs' records and mail are written when the "crash" comes.
    await expect(
      sendNotice(
        srv.db,
        srv.rampart.services.ring,
        { userId: opUserId },
        { orgIds: 'all', subject: SUBJECT, body: 'Never sent.' },
        (done) => {
          if (done === 3) throw new Error('simulated crash');
        },
      ),
    ).rejects.toThrow('simulated crash');
    expect(await snapshot()).toEqual(before);
    expect(await heads()).toEqual(headsBefore);
    await new Promise((res) => setTimeout(res, 300));
    expect(sink.mails.filter((m) => m.text.includes('Never sent.'))).toEqual([]);
  });

  it('is for operators only: 403 for an org owner, 401 without a session', async () => {
    const before = await count('SELECT 1 FROM operator_notices');
    for (const token of [a.token, adminAB.token]) {
      const u = api(srv.baseUrl, token);
      const post = await u.post<{ error: string }>('/api/admin/notices', {
        orgIds: [a.orgId],
        subject: 'phish',
        body: 'click here',
      });
      expect(post.status).toBe(403);
      expect(post.body.error).toBe('forbidden');
      expect((await u.get('/api/admin/notices')).status).toBe(403);
      expect((await u.get(`/api/admin/notices/${noticeId}`)).status).toBe(403);
    }
    expect((await api(srv.baseUrl).get('/api/admin/notices')).status).toBe(401);
    expect(await count('SELECT 1 FROM operator_notices')).toBe(before);
  });

  it('rampart admin notify and notices work on the database; the notice waits queued until a server runs', async () => {
    await srv.close();
    const cli = cleanEnv({ RAMPART_DATA_DIR: dir, RAMPART_MASTER_KEYS: MASTER_KEYS });
    const file = join(dir, 'notice.txt');
    writeFileSync(file, 'Planned maintenance tonight.\n');
    const notify = (orgs: string, f = file) =>
      runCli(['admin', 'notify', '--orgs', orgs, '--subject', SUBJECT, '--body-file', f, '--json'], {
        env: cli,
      });

    const sent = await notify(`${c.orgId},${b.orgId}`);
    expect(sent.code, sent.stderr).toBe(0);
    const out = JSON.parse(sent.stdout) as { noticeId: string; orgs: number; recipients: number };
    expect(out).toMatchObject({ orgs: 2, recipients: 3 });
    expect(sent.stderr).toMatch(/queueing the notice for the owners and admins of 2 org\(s\)/);
    expect(sent.stderr).toMatch(/org 2\/2 queued/);

    const shown = await runCli(['admin', 'notices', out.noticeId, '--json'], { env: cli });
    expect(shown.code, shown.stderr).toBe(0);
    const n = (JSON.parse(shown.stdout) as { notice: NoticeBody }).notice;
    expect(n).toMatchObject({ createdBy: null, status: { queued: 3, sent: 0, failed: 0 } });
    expect(n.perOrg.map((o) => [o.orgId, o.recipients, o.queued]).sort()).toEqual(
      [
        [b.orgId, 2, 2],
        [c.orgId, 1, 1],
      ].sort(),
    );
    const listed = await runCli(['admin', 'notices'], { env: cli });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(
      new RegExp(`^${out.noticeId} {2}\\S+ {2}orgs 2 {2}recipients 3 {2}queued 3 {2}sent 0 {2}failed 0$`),
    );
    expect(listed.stdout).toMatch(/orgs 4 \(all\) {2}recipients 6 {2}queued 0 {2}sent 6 {2}failed 0/);
    expect(listed.stdout).toContain(`  ${SUBJECT}`);

    const missing = await notify(c.orgId, join(dir, 'no-such-file.txt'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--body-file .*no-such-file\.txt: cannot read it \(ENOENT\)/);
    writeFileSync(join(dir, 'empty.txt'), '  \n');
    const empty = await notify(c.orgId, join(dir, 'empty.txt'));
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/the file is empty/);
    const ghost = randomUUID();
    const unknown = await notify(`${c.orgId},${ghost}`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no org with id ${ghost}: nothing was queued`);
    for (const r of [missing, empty, unknown]) expect(r.stderr).not.toMatch(/^\s+at /m);

    // The restarted server's outbox worker delivers the notice the CLI queued.
    srv = await startMailServer(env, store);
    await expect
      .poll(() => notices(c.email).filter((m) => m.text.includes('Planned maintenance')).length, {
        timeout: 10_000,
      })
      .toBe(1);
    await expect
      .poll(
        async () =>
          (await op().get<{ notice: NoticeBody }>(`/api/admin/notices/${out.noticeId}`)).body.notice?.status,
        { timeout: 10_000 },
      )
      .toEqual({ queued: 0, sent: 3, failed: 0, expired: 0 });
    expect(await count(`SELECT 1 FROM operator_notices`)).toBe(3);

    // An org deleted since: its delivery records went with it; the notice keeps its totals and says so.
    const del = await api(srv.baseUrl, c.token).del(`/api/orgs/${c.orgId}`, { confirm: 'Gamma Org' });
    expect(del.status, del.text).toBe(200);
    const after = (await op().get<{ notice: NoticeBody }>(`/api/admin/notices/${out.noticeId}`)).body.notice;
    expect(after).toMatchObject({
      orgs: 2,
      recipients: 3,
      status: { queued: 0, sent: 2, failed: 0, expired: 1 },
    });
    expect(after.perOrg.map((p) => p.orgId)).toEqual([b.orgId]);
  });
});
