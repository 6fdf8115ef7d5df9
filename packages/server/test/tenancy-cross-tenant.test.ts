import { randomBytes, randomUUID } from 'node:crypto';
import {
  type Account,
  type ApiResponse,
  addMemberWithRole,
  api,
  type OpenApiRoute,
  openApiRoutes,
  signup,
  uniqueEmail,
} from '@rampart/testing';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES } from '../src/platform/permissions.js';
import { readSecret } from '../src/secrets/service.js';
import { ENGINES, startTestServer } from './helpers.js';
import {
  type AppOrgRoute,
  appOrgRoutes,
  isOrgRoute,
  type OrgTargets,
  orgRouteCall,
  orgViewPaths,
  routeKey,
} from './org-routes.js';
import { makePackage, makeSigner, upload } from './skills-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string; message: string };

interface Tenant {
  owner: Account;
  targets: OrgTargets;
  memberEmail: string;
  apiKey: string;
  /** A key of the org with every scope: what a leaked all-powerful key could try on another org. */
  allScopesKey: string;
  apiKeyPrefix: string;
  runtimeTokenPrefix: string;
  secretValue: string;
  secretMasked: string;
  jobHeaderValue: string;
  signingKeyFingerprint: string;
  runtimeToken: string;
}

/** An org with an owner session, a member, an API key, a runtime token, a secret and audit rows. */
async function tenant(srv: Srv, label: string): Promise<Tenant> {
  const tag = randomBytes(4).toString('hex');
  const orgName = `${label} Corp ${tag}`;
  const owner = await signup(srv.baseUrl, { email: uniqueEmail(`${label}-owner`), orgName });
  const a = api(srv.baseUrl, owner.token);
  const o = `/api/orgs/${owner.orgId}`;
  const memberEmail = uniqueEmail(`${label}-member`);
  const member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member', memberEmail);
  const key = await a.post<{ id: string; key: string; prefix: string }>(`${o}/api-keys`, {
    name: `${label} key ${tag}`,
  });
  const allScopes = await a.post<{ key: string }>(`${o}/api-keys`, {
    name: `${label} all scopes ${tag}`,
    scopes: [...API_KEY_SCOPES],
  });
  expect(allScopes.status, allScopes.text).toBe(201);
  const rt = await a.post<{ id: string; token: string; prefix: string }>(`${o}/runtime-tokens`, {
    name: `${label} runtime ${tag}`,
  });
  const secretName = `${label.toUpperCase()}_SECRET_${tag}`;
  const secretValue = `sk-${label.toLowerCase()}-${randomBytes(12).toString('hex')}`;
  const secret = await a.put<{ masked: string }>(`${o}/secrets/${secretName}`, { value: secretValue });
  const providerName = `prov-${tag.toLowerCase()}`;
  const provider = await a.put(`${o}/providers/${providerName}`, {
    baseUrl: 'https://llm.example.com/v1',
    apiKey: `sk-${label.toLowerCase()}-provider-${randomBytes(8).toString('hex')}`,
    models: ['m'],
  });
  expect(provider.status).toBe(200);
  await a.patch(`${o}/settings`, { retentionDays: 90 });
  expect([key.status, rt.status, secret.status]).toEqual([201, 201, 200]);
  const channel = await a.post<{ id: string }>(`${o}/alert-channels`, {
    type: 'email',
    name: `${label} alerts ${tag}`,
    config: { to: [memberEmail] },
  });
  const jobHeaderValue = `${label.toLowerCase()}-job-secret-${randomBytes(8).toString('hex')}`;
  const job = await a.post<{ id: string }>(`${o}/jobs`, {
    name: `${label} job ${tag}`,
    schedule: '*/5 * * * *',
    url: `https://${label.toLowerCase()}-${tag}.example.com/hook`,
    headers: { 'x-api-token': jobHeaderValue },
    alertChannelIds: [channel.body.id],
  });
  expect([channel.status, job.status]).toEqual([201, 201]);
  const run = await a.post(`${o}/jobs/${job.body.id}/run`);
  expect(run.status).toBe(202);
  const widget = await a.post<{ id: string }>(`${o}/widgets`, {
    name: `${label} widget ${tag}`,
    allowedOrigins: [`https://${label.toLowerCase()}-${tag}.example.com`],
    systemPrompt: `${label} secret prompt ${tag}`,
    model: 'm',
  });
  expect(widget.status, widget.text).toBe(201);
  const doc = await a.post<{ id: string }>(`${o}/widgets/${widget.body.id}/documents`, {
    name: `${label}-${tag}.md`,
    format: 'markdown',
    content: `# ${label} handbook\n\nThe ${label} door code is ${tag}.`,
  });
  expect(doc.status, doc.text).toBe(201);
  const connection = await a.post<{ id: string }>(`${o}/connections`, {
    name: `${label} warehouse`,
    mode: 'agent',
  });
  expect(connection.status, connection.text).toBe(201);
  // A pending invitation (to a fresh address): its id is a target the other org must not reach.
  const invited = await a.post<{ invitationId: string }>(`${o}/members`, {
    email: uniqueEmail(`${label}-invitee`),
    role: 'admin',
  });
  expect(invited.status, invited.text).toBe(201);
  // An audit sink (the delivery worker is off in test servers: nothing leaves for the URL).
  const sink = await a.post<{ id: string }>(`${o}/audit-sinks`, {
    kind: 'https',
    name: `${label} SIEM`,
    config: { url: `https://siem-${tag}.example.com/ingest` },
  });
  expect(sink.status, sink.text).toBe(201);
  const signer = makeSigner();
  const key2 = await a.post<{ id: string }>(`${o}/signing-keys`, {
    name: `${label} builder`,
    publicKey: signer.publicKeyPem,
  });
  const skillName = `${label.toLowerCase()}-skill-${tag}`;
  const published = await upload(
    srv.baseUrl,
    owner.token,
    owner.orgId,
    await makePackage(signer, skillName, 1),
  );
  expect([key2.status, published.status], published.text).toEqual([201, 201]);
  const telemetry = await api(srv.baseUrl, rt.body.token).post('/api/runtime/telemetry', {
    events: [
      {
        skill: skillName,
        version: 1,
        stepsTotal: 3,
        stepsOk: 3,
        stepsFailed: 0,
        durationMs: 1200,
        outcome: 'succeeded',
        runtimeVersion: '1.0.0',
      },
    ],
  });
  expect(telemetry.status, telemetry.text).toBe(202);
  return {
    signingKeyFingerprint: signer.keyId,
    runtimeToken: rt.body.token,
    owner,
    memberEmail,
    apiKey: key.body.key,
    allScopesKey: allScopes.body.key,
    apiKeyPrefix: key.body.prefix,
    runtimeTokenPrefix: rt.body.prefix,
    secretValue,
    secretMasked: secret.body.masked,
    jobHeaderValue,
    targets: {
      orgId: owner.orgId,
      orgName,
      userId: member.userId,
      apiKeyId: key.body.id,
      runtimeTokenId: rt.body.id,
      secretName,
      providerName,
      jobId: job.body.id,
      alertChannelId: channel.body.id,
      auditSinkId: sink.body.id,
      widgetId: widget.body.id,
      documentId: doc.body.id,
      connectionId: connection.body.id,
      signingKeyId: key2.body.id,
      invitationId: invited.body.invitationId,
      skillName,
    },
  };
}

/** Everything that identifies org A's data and must never appear in an answer to someone else. */
const markers = (t: Tenant): string[] => [
  t.targets.orgId,
  t.targets.orgName,
  t.targets.userId,
  t.targets.apiKeyId,
  t.targets.runtimeTokenId,
  t.targets.secretName,
  t.owner.userId,
  t.owner.email,
  t.memberEmail,
  t.apiKey,
  t.allScopesKey,
  t.apiKeyPrefix,
  t.runtimeTokenPrefix,
  t.secretValue,
  t.secretMasked,
  t.targets.jobId,
  t.targets.alertChannelId,
  t.targets.widgetId,
  t.targets.documentId,
  t.targets.connectionId,
  t.targets.signingKeyId,
  t.targets.skillName,
  t.signingKeyFingerprint,
  t.jobHeaderValue,
];

function expectNoLeak(res: ApiResponse, t: Tenant, what: string): void {
  for (const m of markers(t)) expect(res.text.includes(m), `${what} leaks ${m}: ${res.text}`).toBe(false);
}

describe.each(ENGINES)('cross-tenant access answers 404 (%s)', (engine) => {
  let srv: Srv;
  let A: Tenant;
  let B: Tenant;
  /** Every org route the app registers (its own table, so an undocumented route is swept too). */
  let routes: AppOrgRoute[];

  /** What org A's owner sees of org A: must be identical before and after org B's attempts. */
  const view = async (t: Tenant) => {
    const a = api(srv.baseUrl, t.owner.token);
    const o = `/api/orgs/${t.targets.orgId}`;
    return Promise.all(orgViewPaths(t.targets).map(async (p) => (await a.get(`${o}${p}`)).body));
  };

  beforeAll(async () => {
    srv = await startTestServer(engine);
    A = await tenant(srv, 'Alpha');
    B = await tenant(srv, 'Bravo');
    routes = appOrgRoutes(srv.rampart);
  });

  it('the sweep covers every org route: the app table and /openapi.json list the same ones', async () => {
    const documented: OpenApiRoute[] = (await openApiRoutes(srv.baseUrl)).filter(isOrgRoute);
    expect(routes.map(routeKey).sort()).toEqual(documented.map(routeKey).sort());
  });
  afterAll(() => srv.close());

  it("org B's owner gets 404 not_found on every org A route, with nothing of A in the answer", async () => {
    expect(routes.length).toBeGreaterThanOrEqual(18);
    const before = await view(A);
    const asB = api(srv.baseUrl, B.owner.token);
    for (const r of routes) {
      const call = orgRouteCall(r, A.targets);
      const res = await asB.request(r.method, call.url, call.body);
      expect(res.status, `${routeKey(r)}: ${res.text}`).toBe(404);
      expect((res.body as Err).error).toBe('not_found');
      expectNoLeak(res, A, routeKey(r));
    }
    expect(await view(A)).toEqual(before);

    const a = api(srv.baseUrl, A.owner.token);
    const audit = await a.get<{ entries: Array<{ userId: string | null }> }>(
      `/api/orgs/${A.targets.orgId}/audit?limit=500`,
    );
    expect(audit.body.entries.some((e) => e.userId === B.owner.userId)).toBe(false);
    const verify = await a.get<{ ok: boolean }>(`/api/orgs/${A.targets.orgId}/audit/verify`);
    expect(verify.body.ok).toBe(true);
  });

  it("org B's API key with every scope gets 404 where org routes admit keys and 401 elsewhere, leaking nothing", async () => {
    const before = await view(A);
    const asB = api(srv.baseUrl, B.allScopesKey);
    const admitting = routes.filter((r) => r.apiKeyScope);
    expect(admitting.length).toBeGreaterThanOrEqual(5);
    for (const r of routes) {
      const call = orgRouteCall(r, A.targets);
      const res = await asB.request(r.method, call.url, call.body);
      const want = r.apiKeyScope ? ['not_found', 404] : ['unauthorized', 401];
      expect([(res.body as Err).error, res.status], `${routeKey(r)}: ${res.text}`).toEqual(want);
      expectNoLeak(res, A, `${routeKey(r)} with B's key`);
    }
    // B's key reads B's own audit: the 404s above are about the org, not the key.
    const own = await asB.get(`/api/orgs/${B.targets.orgId}/audit/verify`);
    expect(own.status, own.text).toBe(200);
    expect(await view(A)).toEqual(before);
  });

  it("org A's data is untouched: its key still authenticates and its secret still opens to the original", async () => {
    const p = await srv.rampart.services.auth.apiKey({
      headers: { authorization: `Bearer ${A.apiKey}` },
    } as FastifyRequest);
    expect(p.orgId).toBe(A.targets.orgId);
    // Using the key records lastUsedAt off the request path; let that land so later snapshots are stable.
    await expect
      .poll(async () => {
        const r = await api(srv.baseUrl, A.owner.token).get<{ keys: Array<{ lastUsedAt: string | null }> }>(
          `/api/orgs/${A.targets.orgId}/api-keys`,
        );
        return r.body.keys[0]?.lastUsedAt ?? null;
      })
      .not.toBeNull();
    const { db, ring } = srv.rampart.services;
    const value = await db.org(A.targets.orgId, (q) =>
      readSecret(q, ring, A.targets.orgId, A.targets.secretName),
    );
    expect(value).toBe(A.secretValue);
  });

  it("org B's owner using org A's item ids on org B's own routes gets 404 and changes nothing", async () => {
    const before = await view(A);
    const asB = api(srv.baseUrl, B.owner.token);
    const b = `/api/orgs/${B.targets.orgId}`;
    const attempts: Array<[string, Promise<ApiResponse>]> = [
      ['revoke A key', asB.del(`${b}/api-keys/${A.targets.apiKeyId}`)],
      ['limit A key', asB.patch(`${b}/api-keys/${A.targets.apiKeyId}`, { requestsPerMinute: 0 })],
      ['revoke A runtime token', asB.del(`${b}/runtime-tokens/${A.targets.runtimeTokenId}`)],
      ['promote A member', asB.patch(`${b}/members/${A.targets.userId}`, { role: 'owner' })],
      ['demote A owner', asB.patch(`${b}/members/${A.owner.userId}`, { role: 'viewer' })],
      ['remove A member', asB.del(`${b}/members/${A.targets.userId}`)],
      ['remove A owner', asB.del(`${b}/members/${A.owner.userId}`)],
      ['read A job', asB.get(`${b}/jobs/${A.targets.jobId}`)],
      ['edit A job', asB.patch(`${b}/jobs/${A.targets.jobId}`, { url: 'https://evil.example.com/' })],
      ['run A job', asB.post(`${b}/jobs/${A.targets.jobId}/run`)],
      ['read A job runs', asB.get(`${b}/jobs/${A.targets.jobId}/runs`)],
      ['delete A job', asB.del(`${b}/jobs/${A.targets.jobId}`)],
      ['read A channel', asB.get(`${b}/alert-channels/${A.targets.alertChannelId}`)],
      ['delete A channel', asB.del(`${b}/alert-channels/${A.targets.alertChannelId}`)],
      ['read A widget', asB.get(`${b}/widgets/${A.targets.widgetId}`)],
      ['edit A widget', asB.patch(`${b}/widgets/${A.targets.widgetId}`, { systemPrompt: 'x' })],
      ['read A documents', asB.get(`${b}/widgets/${A.targets.widgetId}/documents`)],
      [
        'add to A widget',
        asB.post(`${b}/widgets/${A.targets.widgetId}/documents`, { name: 'x.txt', content: 'planted' }),
      ],
      ['delete A document', asB.del(`${b}/widgets/${A.targets.widgetId}/documents/${A.targets.documentId}`)],
      ['delete A widget', asB.del(`${b}/widgets/${A.targets.widgetId}`)],
      ['revoke A signing key', asB.del(`${b}/signing-keys/${A.targets.signingKeyId}`)],
      ['read A skill', asB.get(`${b}/skills/${A.targets.skillName}`)],
      [
        'download A skill with a B runtime token',
        api(srv.baseUrl, B.runtimeToken).get(`/api/runtime/skills/${A.targets.skillName}/package`),
      ],
    ];
    for (const [what, pending] of attempts) {
      const res = await pending;
      expect(res.status, `${what}: ${res.text}`).toBe(404);
      expect((res.body as Err).error).toBe('not_found');
      expectNoLeak(res, A, what);
    }
    // A's alert channel cannot be attached to a B job: it does not exist as far as B can tell.
    const attach = await asB.post(`${b}/jobs`, {
      name: 'b job',
      schedule: '* * * * *',
      url: 'https://b.example.com/',
      alertChannelIds: [A.targets.alertChannelId],
    });
    expect(attach.status, attach.text).toBe(400);
    expect((attach.body as Err).error).toBe('validation_failed');
    expectNoLeak(attach, A, 'attach A channel');
    // A secret of the same name in B is B's own secret; A's stays as it was.
    const put = await asB.put(`${b}/secrets/${A.targets.secretName}`, { value: 'sk-bravo-own-value-0000' });
    expect(put.status).toBe(200);
    expect(await view(A)).toEqual(before);
    const { db, ring } = srv.rampart.services;
    const value = await db.org(A.targets.orgId, (q) =>
      readSecret(q, ring, A.targets.orgId, A.targets.secretName),
    );
    expect(value).toBe(A.secretValue);
  });

  it('a non-member gets the same 404 for an existing org as for one that does not exist (no probing)', async () => {
    const stranger = await signup(srv.baseUrl, { orgName: 'Stranger' });
    const s = api(srv.baseUrl, stranger.token);
    const ghost = randomUUID();
    for (const path of ['', '/members', '/audit', '/settings']) {
      const real = await s.get<Err>(`/api/orgs/${A.targets.orgId}${path}`);
      const none = await s.get<Err>(`/api/orgs/${ghost}${path}`);
      expect(real.status).toBe(404);
      expect(none.status).toBe(404);
      expect({ error: real.body.error, message: real.body.message }).toEqual({
        error: none.body.error,
        message: none.body.message,
      });
      expectNoLeak(real, A, path);
    }
    // Even for an action the stranger could never hold: 404, not 403.
    const del = await s.del<Err>(`/api/orgs/${A.targets.orgId}`, { confirm: A.targets.orgName });
    expect(del.status).toBe(404);
    // And not through the operator surface either.
    const admin = await s.get<Err>(`/api/admin/orgs/${A.targets.orgId}/members`);
    expect(admin.status).toBe(403);
    expectNoLeak(admin, A, 'admin members');
  });

  it('a malformed org id is 400 validation_failed before any lookup', async () => {
    const a = api(srv.baseUrl, A.owner.token);
    for (const bad of ['not-a-uuid', '123', `${A.targets.orgId}x`, "1' OR '1'='1"]) {
      const res = await a.get<Err>(`/api/orgs/${encodeURIComponent(bad)}/members`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error).toBe('validation_failed');
    }
    const item = await a.del<Err>(`/api/orgs/${A.targets.orgId}/api-keys/not-a-uuid`);
    expect(item.status).toBe(400);
    expect(item.body.error).toBe('validation_failed');
  });
});
