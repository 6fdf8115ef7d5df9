/**
 * Audit for machines (issue 26, part 1): an org API key with the `audit.read` scope reads the org audit, the query
 * audit and the chain verification exactly as a member session does (filters, cursor pages, CSV and NDJSON
 * streams); a key without the scope gets 403, a key of another org 404, and a key never reads more than the
 * person who created it.
 */
import { type Account, addMemberWithRole, api, type Member, signup, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/identity/credentials.js';
import { appendPrepared, prepareAudit } from '../src/platform/audit/append.js';
import { API_KEY_SCOPES } from '../src/platform/permissions.js';
import { startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };
type Page = {
  entries: Array<{ seq: number; action: string; apiKeyId: string | null }>;
  nextCursor: string | null;
};

/** More query-audit rows than one streamed page (500), so the streams cross a page boundary. */
const QUERIES = 520;
const READS = ['/audit', '/query-audit', '/audit/verify'];

describe('API keys with the audit.read scope', () => {
  let srv: Srv;
  let owner: Account;
  let admin: Member;
  let other: Account;
  /** Keys of the owner's org: audit.read only, the default scopes, every scope. */
  let auditKey: string;
  let defaultKey: string;
  /** A key of another org that carries every scope. */
  let foreignKey: string;
  let o: string;

  const create = async (token: string, orgId: string, body: Record<string, unknown>) => {
    const r = await api(srv.baseUrl, token).post<{ id: string; key: string }>(`/api/orgs/${orgId}/api-keys`, {
      name: `key ${uniqueEmail('k')}`,
      ...body,
    });
    expect(r.status, r.text).toBe(201);
    return r.body;
  };

  beforeAll(async () => {
    srv = await startTestServer('pglite');
    owner = await signup(srv.baseUrl, { orgName: 'Audit Machines' });
    o = `/api/orgs/${owner.orgId}`;
    admin = await addMemberWithRole(srv, owner.token, owner.orgId, 'admin');
    other = await signup(srv.baseUrl, { orgName: 'Other Machines' });
    auditKey = (await create(owner.token, owner.orgId, { scopes: ['audit.read'] })).key;
    defaultKey = (await create(owner.token, owner.orgId, {})).key;
    foreignKey = (await create(other.token, other.orgId, { scopes: [...API_KEY_SCOPES] })).key;
    await srv.rampart.services.db.org(owner.orgId, (q) =>
      appendPrepared(
        q,
        Array.from({ length: QUERIES }, (_, i) =>
          prepareAudit(
            {},
            {
              orgId: owner.orgId,
              action: 'db.query',
              meta: { tool: 'run_select', params: i, outcome: 'ok' },
            },
          ),
        ),
      ),
    );
  });
  afterAll(() => srv.close());

  it('the listing shows each key with its scopes', async () => {
    const r = await api(srv.baseUrl, owner.token).get<{ keys: Array<{ scopes: string[] }> }>(`${o}/api-keys`);
    expect(r.body.keys.map((k) => k.scopes)).toEqual([
      ['audit.read'],
      ['gateway', 'db.query', 'skills.publish'],
    ]);
  });

  it('reads the audit as a session does: json pages with a cursor, and filters', async () => {
    const asKey = api(srv.baseUrl, auditKey);
    const asOwner = api(srv.baseUrl, owner.token);
    for (const qs of [
      '?limit=3',
      '?limit=3&cursor=2',
      '?action=api_key.created',
      '?action=db.query&limit=500',
    ]) {
      const byKey = await asKey.get<Page>(`${o}/audit${qs}`);
      const bySession = await asOwner.get<Page>(`${o}/audit${qs}`);
      expect(byKey.status, byKey.text).toBe(200);
      expect(byKey.body, qs).toEqual(bySession.body);
    }
    const first = await asKey.get<Page>(`${o}/audit?limit=3`);
    expect(first.body.nextCursor).toBe(String(first.body.entries.at(-1)?.seq));
    const next = await asKey.get<Page>(`${o}/audit?limit=3&cursor=${first.body.nextCursor}`);
    expect(next.body.entries[0]?.seq).toBe(Number(first.body.nextCursor) + 1);
    const created = await asKey.get<Page>(`${o}/audit?action=api_key.created`);
    expect(created.body.entries).toHaveLength(2);
  });

  it('streams the audit as NDJSON and CSV, from a cursor, identical to the session export', async () => {
    const asKey = api(srv.baseUrl, auditKey);
    const asOwner = api(srv.baseUrl, owner.token);
    const cursor = 5;
    const nd = await asKey.get(`${o}/audit?format=ndjson&cursor=${cursor}`);
    expect(nd.status, nd.text).toBe(200);
    expect(nd.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = nd.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number });
    // Every entry after the cursor, across the stream's internal pages (520 query rows alone).
    expect(lines.length).toBeGreaterThan(QUERIES);
    expect(lines.map((e) => e.seq)).toEqual(lines.map((_, i) => cursor + 1 + i));
    expect(nd.text).toBe((await asOwner.get(`${o}/audit?format=ndjson&cursor=${cursor}`)).text);
    const csv = await asKey.get(`${o}/audit?format=csv&action=db.query&cursor=${cursor}`);
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.trim().split('\r\n')).toHaveLength(QUERIES + 1);
    expect(csv.text).toBe((await asOwner.get(`${o}/audit?format=csv&action=db.query&cursor=${cursor}`)).text);
  });

  it('reads the query audit: json pages with a cursor, NDJSON and CSV streams', async () => {
    const asKey = api(srv.baseUrl, auditKey);
    type QPage = { entries: Array<{ params: number }>; nextCursor: string | null };
    const first = await asKey.get<QPage>(`${o}/query-audit?limit=10`);
    expect(first.status, first.text).toBe(200);
    expect(first.body.entries.map((e) => e.params)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const next = await asKey.get<QPage>(`${o}/query-audit?limit=10&cursor=${first.body.nextCursor}`);
    expect(next.body.entries[0]?.params).toBe(10);
    const nd = await asKey.get(`${o}/query-audit?format=ndjson&cursor=${first.body.nextCursor}`);
    expect(nd.status, nd.text).toBe(200);
    const params = nd.text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { params: number }).params);
    expect(params).toEqual(Array.from({ length: QUERIES - 10 }, (_, i) => i + 10));
    const csv = await asKey.get(`${o}/query-audit?format=csv`);
    expect(csv.text.split('\r\n')[0]).toMatch(/^seq,at,/);
    expect(csv.text.trim().split('\r\n')).toHaveLength(QUERIES + 1);
    expect(csv.text).toBe((await api(srv.baseUrl, owner.token).get(`${o}/query-audit?format=csv`)).text);
  });

  it('verifies the chain, with the head a session sees', async () => {
    const byKey = await api(srv.baseUrl, auditKey).get<{ ok: boolean; head: string; count: number }>(
      `${o}/audit/verify`,
    );
    expect(byKey.status, byKey.text).toBe(200);
    expect(byKey.body.ok).toBe(true);
    expect(byKey.body.count).toBeGreaterThan(QUERIES);
    expect(byKey.body).toEqual((await api(srv.baseUrl, owner.token).get(`${o}/audit/verify`)).body);
  });

  it('a key without audit.read (the default scopes) gets 403 forbidden on each read, in every format', async () => {
    const asKey = api(srv.baseUrl, defaultKey);
    for (const path of [
      ...READS,
      '/audit?format=ndjson',
      '/audit?format=csv',
      '/query-audit?format=ndjson',
    ]) {
      const r = await asKey.get<Err>(`${o}${path}`);
      expect(r.status, `${path}: ${r.text}`).toBe(403);
      expect(r.body.error).toBe('forbidden');
      expect(r.body.message).toContain('audit.read');
    }
  });

  it("another org's key, even with every scope, gets 404 not_found, as for an org that does not exist", async () => {
    const asKey = api(srv.baseUrl, foreignKey);
    for (const path of [...READS, '/audit?format=ndjson']) {
      const r = await asKey.get<Err>(`${o}${path}`);
      const ghost = await asKey.get<Err>(`/api/orgs/00000000-0000-4000-8000-000000000000${path}`);
      expect(r.status, `${path}: ${r.text}`).toBe(404);
      expect(r.body).toMatchObject({ error: 'not_found' });
      expect(r.body.message).toBe(ghost.body.message);
      expect(r.text).not.toContain(owner.orgId);
    }
    // Its own org's audit it reads.
    const own = await asKey.get<Page>(`/api/orgs/${other.orgId}/audit`);
    expect(own.status, own.text).toBe(200);
    expect(own.body.entries.length).toBeGreaterThan(0);
  });

  it('only reads: the audit key gets 401 on the other org routes (dashboard sessions only)', async () => {
    const asKey = api(srv.baseUrl, auditKey);
    for (const path of ['', '/members', '/settings', '/api-keys']) {
      const r = await asKey.get<Err>(`${o}${path}`);
      expect(r.status, path).toBe(401);
      expect(r.body.error).toBe('unauthorized');
    }
    const mint = await asKey.post<Err>(`${o}/api-keys`, { name: 'from a key', scopes: ['audit.read'] });
    expect(mint.status).toBe(401);
  });

  it('a key never outranks its creator: demoted to member, their audit key stops at the next request', async () => {
    const key = (await create(admin.token, owner.orgId, { scopes: ['audit.read'] })).key;
    const asKey = api(srv.baseUrl, key);
    expect((await asKey.get(`${o}/audit/verify`)).status).toBe(200);
    const members = `${o}/members/${admin.userId}`;
    expect((await api(srv.baseUrl, owner.token).patch(members, { role: 'member' })).status).toBe(200);
    for (const path of READS) {
      const r = await asKey.get<Err>(`${o}${path}`);
      expect(r.status, path).toBe(403);
      expect(r.body.error).toBe('forbidden');
    }
    expect((await api(srv.baseUrl, owner.token).patch(members, { role: 'admin' })).status).toBe(200);
    expect((await asKey.get(`${o}/audit/verify`)).status).toBe(200);
    // Removed from the org: the key reads nothing either.
    expect((await api(srv.baseUrl, owner.token).del(members)).status).toBe(200);
    expect((await asKey.get(`${o}/audit`)).status).toBe(403);
  });

  it('a role that cannot read the audit cannot mint a key that does', async () => {
    const { db } = srv.rampart.services;
    const member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
    // Members cannot manage keys at all (403 on the route); the grant rule holds on its own too.
    const r = await api(srv.baseUrl, member.token).post<Err>(`${o}/api-keys`, {
      name: 'member key',
      scopes: ['audit.read'],
    });
    expect(r.status).toBe(403);
    for (const role of ['member', 'viewer'] as const) {
      await expect(
        createApiKey(
          srv.rampart.services,
          {},
          owner.orgId,
          { userId: member.userId, role },
          {
            name: 'escalation',
            redaction: 'inherit',
            scopes: ['gateway', 'audit.read'],
          },
        ),
      ).rejects.toMatchObject({ code: 'forbidden' });
    }
    const { rows } = await db.org(owner.orgId, (q) =>
      q.query(`SELECT 1 FROM api_keys WHERE name IN ('member key', 'escalation')`),
    );
    expect(rows).toEqual([]);
  });
});
