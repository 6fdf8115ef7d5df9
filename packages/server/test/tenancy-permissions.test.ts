import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type Account,
  type ApiResponse,
  addMemberWithRole,
  api,
  openApiRoutes,
  signup,
  uniqueEmail,
} from '@rampart/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerJobRoutes } from '../src/jobs/routes.js';
import { createHttpServer } from '../src/platform/http.js';
import { trackOrgRoutes } from '../src/platform/org-routes.js';
import {
  ACTIONS,
  type Action,
  API_KEY_SCOPES,
  type ApiKeyScope,
  can,
  permissionTable,
  ROLES,
  type Role,
  scopeTable,
} from '../src/platform/permissions.js';
import { recordExchange } from '../src/widget/conversations.js';
import { startTestServer } from './helpers.js';
import {
  type AppOrgRoute,
  appOrgRoutes,
  expectedScope,
  isOrgRoute,
  type OrgTargets,
  orgRouteCall,
  orgViewPaths,
  routeKey,
} from './org-routes.js';
import { makePackage, makeSigner } from './skills-support.js';
import { TEST_BILLING_PLANS } from './widget-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = { error: string };

/**
 * One concrete request that needs `action`; `ok` is the answer when the role may do it. `action` is this test's
 * own expectation: it must equal the route's declared `config.orgAction` (see {@link matrixGaps}), unless
 * `onTop` says the request (its body or target) picks a stricter action the handler checks on top of it.
 */
interface Probe {
  action: Action;
  route: string;
  what: string;
  ok: number;
  onTop?: true;
  run: (token: string) => Promise<ApiResponse>;
}

/**
 * Where the app's org routes and the probes disagree: a route with no probe of its own action, a probe whose
 * expected action is not the one the route declares, or a probe of a route the app does not register.
 */
function matrixGaps(
  routes: readonly AppOrgRoute[],
  probes: readonly Pick<Probe, 'action' | 'route' | 'onTop'>[],
): string[] {
  const gaps: string[] = [];
  for (const r of routes) {
    const key = routeKey(r);
    const own = probes.filter((p) => p.route === key && !p.onTop);
    if (own.length === 0) gaps.push(`${key} (orgAction ${r.action}) has no probe: add one`);
    for (const p of own) {
      if (p.action !== r.action)
        gaps.push(`${key} declares orgAction ${r.action}, the matrix expects ${p.action}`);
    }
  }
  const registered = new Set(routes.map(routeKey));
  for (const p of probes) {
    if (!registered.has(p.route)) gaps.push(`${p.route} is probed, but the app registers no such org route`);
  }
  return gaps;
}

const bareServer = () =>
  createHttpServer({
    logger: pino({ level: 'silent' }),
    bodyLimit: 1_000_000,
    requestTimeoutMs: 10_000,
    trustProxy: false,
    version: 'test',
  });

const SECURITY_MD = readFileSync(new URL('../../../docs/SECURITY-CONTROLS.md', import.meta.url), 'utf8');

/** Table rows as trimmed cells (padding-insensitive: a markdown formatter may align the columns). */
const tableCells = (md: string): string[][] =>
  md
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/^-+$/, '---')),
    );

/**
 * The written matrix, read from docs/SECURITY-CONTROLS.md: the oracle for the HTTP checks, independent of `can()` (so a
 * broken `can` fails here instead of agreeing with itself).
 */
/** The text of a `##` or `###` section of docs/SECURITY-CONTROLS.md, up to the next heading of either level. */
const docSection = (heading: string): string =>
  SECURITY_MD.split(`\n${heading}\n`)[1]?.split(/\n#{2,3} /)[0] ?? '';

function documentedMatrix(): Map<string, Set<string>> {
  const section = docSection('## Roles and permissions');
  const [head = [], , ...rows] = tableCells(section);
  const roles = head.slice(1);
  return new Map(
    rows.map(([action = '', ...flags]) => [
      action.replaceAll('`', ''),
      new Set(roles.filter((_, i) => flags[i] === 'yes')),
    ]),
  );
}

describe('permission matrix (every role × every action, through HTTP)', () => {
  let srv: Srv;
  let owner: Account;
  /** Signed in, but not a member of the org. */
  let stranger: Account;
  const tokens = {} as Record<Role, string>;
  const userIds = {} as Record<Role, string>;

  const as = (token: string) => api(srv.baseUrl, token);
  const org = (path = '') => `/api/orgs/${owner.orgId}${path}`;
  /** A new member invited by the owner, who accepted: a target for role changes and removals. */
  const freshMember = async (role: Role): Promise<string> => {
    // Through the invitation: adding someone no longer makes them a member until they accept.
    return (await addMemberWithRole(srv, owner.token, owner.orgId, role, uniqueEmail(`target-${role}`)))
      .userId;
  };
  /** A pending invitation of a fresh address, as the owner: a target for revocation. */
  const freshInvitation = async (): Promise<string> => {
    const r = await as(owner.token).post<{ invitationId: string }>(org('/members'), {
      email: uniqueEmail('invitee'),
      role: 'member',
    });
    expect(r.status, r.text).toBe(201);
    return r.body.invitationId;
  };
  const JOB = { name: 'probe job', schedule: '0 * * * *', url: 'https://probe.example.com/hook' };
  const freshJob = async (): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org('/jobs'), JOB);
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const freshChannel = async (): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org('/alert-channels'), {
      type: 'email',
      name: 'probe',
      config: { to: ['ops@example.test'] },
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const freshSink = async (): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org('/audit-sinks'), {
      kind: 'syslog',
      name: 'probe',
      config: { host: 'siem.example.com' },
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  // Reads share one sink: an org has at most MAX_SINKS_PER_ORG.
  let readSink: Promise<string> | undefined;
  const sharedSink = (): Promise<string> => {
    readSink ??= freshSink();
    return readSink;
  };
  const WIDGET = { name: 'probe widget', allowedOrigins: ['https://probe.example.com'], model: 'm' };
  const freshWidget = async (): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org('/widgets'), WIDGET);
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const freshDocument = async (widgetId: string): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org(`/widgets/${widgetId}/documents`), {
      name: 'doc.md',
      format: 'markdown',
      content: '# Probe\n\nSome text.',
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  /** A visitor conversation in the widget, recorded as the message route records one. */
  const freshConversation = async (widgetId: string): Promise<string> => {
    const visitorId = randomUUID();
    return srv.rampart.services.db.org(owner.orgId, async (q) => {
      await recordExchange(q, srv.rampart.services.ring, {
        orgId: owner.orgId,
        widgetId,
        visitorId,
        ipHash: 'a'.repeat(64),
        question: 'probe question',
        reply: 'probe reply',
        redact: false,
        grounded: false,
        chunks: 0,
        latencyMs: 1,
      });
      const { rows } = await q.query<{ id: string }>(
        'SELECT id FROM widget_conversations WHERE widget_id = $1 AND visitor_id = $2',
        [widgetId, visitorId],
      );
      return rows[0]?.id ?? '';
    });
  };
  const freshConnection = async (): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org('/connections'), {
      name: 'probe db',
      mode: 'agent',
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const builder = makeSigner();
  let nextVersion = 1;
  const freshSigningKey = async (): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org('/signing-keys'), {
      publicKey: makeSigner().publicKeyPem,
    });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const freshCredential = async (kind: 'api-keys' | 'runtime-tokens'): Promise<string> => {
    const r = await as(owner.token).post<{ id: string }>(org(`/${kind}`), { name: 'target' });
    expect(r.status).toBe(201);
    return r.body.id;
  };

  beforeAll(async () => {
    srv = await startTestServer('pglite', {
      RAMPART_BILLING_WEBHOOK_SECRET: 'whsec-test-billing-secret-0001',
      RAMPART_BILLING_PLANS: TEST_BILLING_PLANS,
    });
    owner = await signup(srv.baseUrl, { orgName: 'Matrix Org' });
    // Probes create many widgets: the business plan allows 100 (plan changes are tested in widget tests).
    await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query(`INSERT INTO org_billing (org_id, plan) VALUES ($1, 'business')`, [owner.orgId]),
    );
    stranger = await signup(srv.baseUrl, { orgName: 'Elsewhere' });
    tokens.owner = owner.token;
    userIds.owner = owner.userId;
    for (const role of ['admin', 'member', 'viewer'] as const) {
      const m = await addMemberWithRole(srv, owner.token, owner.orgId, role);
      tokens[role] = m.token;
      userIds[role] = m.userId;
    }
    await as(owner.token).put(org('/secrets/EXISTING'), { value: 'sk-existing-secret-value-1234' });
    expect(
      (await as(owner.token).post(org('/signing-keys'), { publicKey: builder.publicKeyPem })).status,
    ).toBe(201);
    const first = await as(owner.token).post(
      org('/skills'),
      await makePackage(builder, 'probe-skill', nextVersion++),
    );
    expect(first.status, first.text).toBe(201);
  });
  afterAll(() => srv.close());

  const probes: Probe[] = [
    {
      action: 'org.read',
      route: 'GET /api/orgs/{orgId}',
      what: 'read the org',
      ok: 200,
      run: (t) => as(t).get(org()),
    },
    {
      action: 'org.delete',
      route: 'DELETE /api/orgs/{orgId}',
      what: 'delete with a wrong confirmation (400, nothing deleted)',
      ok: 400,
      run: (t) => as(t).del(org(), { confirm: 'not the org name' }),
    },
    {
      action: 'members.read',
      route: 'GET /api/orgs/{orgId}/members',
      what: 'list members',
      ok: 200,
      run: (t) => as(t).get(org('/members')),
    },
    {
      action: 'members.manage',
      route: 'POST /api/orgs/{orgId}/members',
      what: 'add a member',
      ok: 201,
      run: (t) => as(t).post(org('/members'), { email: uniqueEmail('added'), role: 'member' }),
    },
    {
      action: 'members.read',
      route: 'GET /api/orgs/{orgId}/invitations',
      what: 'list invitations',
      ok: 200,
      run: (t) => as(t).get(org('/invitations')),
    },
    {
      action: 'members.manage',
      route: 'DELETE /api/orgs/{orgId}/invitations/{id}',
      what: 'revoke an invitation',
      ok: 200,
      run: async (t) => as(t).del(org(`/invitations/${await freshInvitation()}`)),
    },
    {
      action: 'members.manage',
      route: 'PATCH /api/orgs/{orgId}/members/{userId}',
      what: "change a viewer's role to member",
      ok: 200,
      run: async (t) => as(t).patch(org(`/members/${await freshMember('viewer')}`), { role: 'member' }),
    },
    {
      action: 'members.manage',
      route: 'DELETE /api/orgs/{orgId}/members/{userId}',
      what: 'remove another member',
      ok: 200,
      run: async (t) => as(t).del(org(`/members/${await freshMember('viewer')}`)),
    },
    {
      action: 'members.manage_owners',
      // The body (role: owner) or the target (an owner) picks this on top of members.manage.
      onTop: true,
      route: 'POST /api/orgs/{orgId}/members',
      what: 'add an owner',
      ok: 201,
      run: (t) => as(t).post(org('/members'), { email: uniqueEmail('new-owner'), role: 'owner' }),
    },
    {
      action: 'members.manage_owners',
      // The body (role: owner) or the target (an owner) picks this on top of members.manage.
      onTop: true,
      route: 'PATCH /api/orgs/{orgId}/members/{userId}',
      what: 'promote a member to owner',
      ok: 200,
      run: async (t) => as(t).patch(org(`/members/${await freshMember('member')}`), { role: 'owner' }),
    },
    {
      action: 'members.manage_owners',
      // The body (role: owner) or the target (an owner) picks this on top of members.manage.
      onTop: true,
      route: 'PATCH /api/orgs/{orgId}/members/{userId}',
      what: 'demote an owner (another owner remains)',
      ok: 200,
      run: async (t) => as(t).patch(org(`/members/${await freshMember('owner')}`), { role: 'admin' }),
    },
    {
      action: 'members.manage_owners',
      // The body (role: owner) or the target (an owner) picks this on top of members.manage.
      onTop: true,
      route: 'DELETE /api/orgs/{orgId}/members/{userId}',
      what: 'remove an owner (another owner remains)',
      ok: 200,
      run: async (t) => as(t).del(org(`/members/${await freshMember('owner')}`)),
    },
    {
      action: 'apikeys.read',
      route: 'GET /api/orgs/{orgId}/api-keys',
      what: 'list API keys',
      ok: 200,
      run: (t) => as(t).get(org('/api-keys')),
    },
    {
      action: 'apikeys.manage',
      route: 'POST /api/orgs/{orgId}/api-keys',
      what: 'create an API key',
      ok: 201,
      run: (t) => as(t).post(org('/api-keys'), { name: 'probe' }),
    },
    {
      action: 'audit.read',
      // A scope the creator's role must be able to grant (canGrant), on top of apikeys.manage.
      onTop: true,
      route: 'POST /api/orgs/{orgId}/api-keys',
      what: 'create an API key with the audit.read scope',
      ok: 201,
      run: (t) => as(t).post(org('/api-keys'), { name: 'probe auditor', scopes: ['audit.read'] }),
    },
    {
      action: 'apikeys.manage',
      route: 'PATCH /api/orgs/{orgId}/api-keys/{id}',
      what: "change an API key's gateway limits",
      ok: 200,
      run: async (t) =>
        as(t).patch(org(`/api-keys/${await freshCredential('api-keys')}`), { requestsPerMinute: 60 }),
    },
    {
      action: 'apikeys.manage',
      route: 'DELETE /api/orgs/{orgId}/api-keys/{id}',
      what: 'revoke an API key',
      ok: 200,
      run: async (t) => as(t).del(org(`/api-keys/${await freshCredential('api-keys')}`)),
    },
    {
      action: 'runtime_tokens.manage',
      route: 'POST /api/orgs/{orgId}/runtime-tokens',
      what: 'create a runtime token',
      ok: 201,
      run: (t) => as(t).post(org('/runtime-tokens'), { name: 'probe' }),
    },
    {
      action: 'runtime_tokens.manage',
      route: 'GET /api/orgs/{orgId}/runtime-tokens',
      what: 'list runtime tokens',
      ok: 200,
      run: (t) => as(t).get(org('/runtime-tokens')),
    },
    {
      action: 'runtime_tokens.manage',
      route: 'DELETE /api/orgs/{orgId}/runtime-tokens/{id}',
      what: 'revoke a runtime token',
      ok: 200,
      run: async (t) => as(t).del(org(`/runtime-tokens/${await freshCredential('runtime-tokens')}`)),
    },
    {
      action: 'settings.read',
      route: 'GET /api/orgs/{orgId}/settings',
      what: 'read settings',
      ok: 200,
      run: (t) => as(t).get(org('/settings')),
    },
    {
      action: 'settings.write',
      route: 'PATCH /api/orgs/{orgId}/settings',
      what: 'change settings',
      ok: 200,
      run: (t) => as(t).patch(org('/settings'), { retentionDays: 365 }),
    },
    {
      action: 'secrets.read',
      route: 'GET /api/orgs/{orgId}/secrets',
      what: 'list secrets',
      ok: 200,
      run: (t) => as(t).get(org('/secrets')),
    },
    {
      action: 'secrets.write',
      route: 'PUT /api/orgs/{orgId}/secrets/{name}',
      what: 'set a secret',
      ok: 200,
      run: (t) => as(t).put(org('/secrets/PROBE'), { value: 'sk-probe-secret-value-5678' }),
    },
    {
      action: 'providers.read',
      route: 'GET /api/orgs/{orgId}/providers',
      what: 'list LLM providers (keys masked)',
      ok: 200,
      run: (t) => as(t).get(org('/providers')),
    },
    {
      action: 'usage.read',
      route: 'GET /api/orgs/{orgId}/usage',
      what: 'read gateway usage',
      ok: 200,
      run: (t) => as(t).get(org('/usage?groupBy=key')),
    },
    {
      action: 'providers.write',
      route: 'PUT /api/orgs/{orgId}/providers/{name}',
      what: 'set an LLM provider',
      ok: 200,
      run: (t) =>
        as(t).put(org('/providers/probe'), {
          baseUrl: 'https://llm.example.com/v1',
          apiKey: 'sk-probe-0000000000',
          models: ['m'],
        }),
    },
    {
      action: 'providers.write',
      route: 'DELETE /api/orgs/{orgId}/providers/{name}',
      what: 'delete an LLM provider',
      ok: 200,
      run: (t) => as(t).request('DELETE', org('/providers/probe')),
    },
    {
      action: 'jobs.read',
      route: 'GET /api/orgs/{orgId}/jobs',
      what: 'list jobs (secrets masked)',
      ok: 200,
      run: (t) => as(t).get(org('/jobs')),
    },
    {
      action: 'jobs.read',
      route: 'GET /api/orgs/{orgId}/jobs/{id}',
      what: 'read a job',
      ok: 200,
      run: async (t) => as(t).get(org(`/jobs/${await freshJob()}`)),
    },
    {
      action: 'jobs.read',
      route: 'GET /api/orgs/{orgId}/jobs/{id}/runs',
      what: 'read run history',
      ok: 200,
      run: async (t) => as(t).get(org(`/jobs/${await freshJob()}/runs`)),
    },
    {
      action: 'jobs.write',
      route: 'POST /api/orgs/{orgId}/jobs',
      what: 'create a job',
      ok: 201,
      run: (t) => as(t).post(org('/jobs'), JOB),
    },
    {
      action: 'jobs.write',
      route: 'PATCH /api/orgs/{orgId}/jobs/{id}',
      what: 'edit a job',
      ok: 200,
      run: async (t) => as(t).patch(org(`/jobs/${await freshJob()}`), { enabled: false }),
    },
    {
      action: 'jobs.write',
      route: 'DELETE /api/orgs/{orgId}/jobs/{id}',
      what: 'delete a job',
      ok: 200,
      run: async (t) => as(t).del(org(`/jobs/${await freshJob()}`)),
    },
    {
      action: 'jobs.run',
      route: 'POST /api/orgs/{orgId}/jobs/{id}/run',
      what: 'run a job now',
      ok: 202,
      run: async (t) => as(t).post(org(`/jobs/${await freshJob()}/run`)),
    },
    {
      action: 'alerts.read',
      route: 'GET /api/orgs/{orgId}/alert-channels',
      what: 'list alert channels (secrets masked)',
      ok: 200,
      run: (t) => as(t).get(org('/alert-channels')),
    },
    {
      action: 'alerts.read',
      route: 'GET /api/orgs/{orgId}/alert-channels/{id}',
      what: 'read an alert channel',
      ok: 200,
      run: async (t) => as(t).get(org(`/alert-channels/${await freshChannel()}`)),
    },
    {
      action: 'alerts.write',
      route: 'POST /api/orgs/{orgId}/alert-channels',
      what: 'create an alert channel',
      ok: 201,
      run: (t) =>
        as(t).post(org('/alert-channels'), { type: 'email', name: 'x', config: { to: ['a@example.test'] } }),
    },
    {
      action: 'alerts.write',
      route: 'DELETE /api/orgs/{orgId}/alert-channels/{id}',
      what: 'delete an alert channel',
      ok: 200,
      run: async (t) => as(t).del(org(`/alert-channels/${await freshChannel()}`)),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets',
      what: 'list widgets',
      ok: 200,
      run: (t) => as(t).get(org('/widgets')),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}',
      what: 'read a widget',
      ok: 200,
      run: async (t) => as(t).get(org(`/widgets/${await freshWidget()}`)),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}/documents',
      what: 'list widget documents',
      ok: 200,
      run: async (t) => as(t).get(org(`/widgets/${await freshWidget()}/documents`)),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}/embeddings',
      what: 'read embedding progress',
      ok: 200,
      run: async (t) => as(t).get(org(`/widgets/${await freshWidget()}/embeddings`)),
    },
    {
      action: 'widgets.write',
      route: 'POST /api/orgs/{orgId}/widgets/{id}/embeddings/retry',
      what: 'retry failed embeddings',
      ok: 200,
      run: async (t) => as(t).post(org(`/widgets/${await freshWidget()}/embeddings/retry`), {}),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}/conversations',
      what: 'list widget conversations',
      ok: 200,
      run: async (t) => as(t).get(org(`/widgets/${await freshWidget()}/conversations`)),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}/conversations/{conversationId}',
      what: 'read a conversation',
      ok: 200,
      run: async (t) => {
        const w = await freshWidget();
        return as(t).get(org(`/widgets/${w}/conversations/${await freshConversation(w)}`));
      },
    },
    {
      action: 'widgets.write',
      route: 'DELETE /api/orgs/{orgId}/widgets/{id}/conversations/{conversationId}',
      what: 'delete a conversation',
      ok: 200,
      run: async (t) => {
        const w = await freshWidget();
        return as(t).del(org(`/widgets/${w}/conversations/${await freshConversation(w)}`));
      },
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}/unanswered',
      what: 'list unanswered questions',
      ok: 200,
      run: async (t) => as(t).get(org(`/widgets/${await freshWidget()}/unanswered`)),
    },
    {
      action: 'widgets.read',
      route: 'GET /api/orgs/{orgId}/widgets/{id}/message-stats',
      what: 'read messages per day',
      ok: 200,
      run: async (t) => as(t).get(org(`/widgets/${await freshWidget()}/message-stats`)),
    },
    {
      action: 'widgets.write',
      route: 'POST /api/orgs/{orgId}/widgets',
      what: 'create a widget',
      ok: 201,
      run: (t) => as(t).post(org('/widgets'), WIDGET),
    },
    {
      action: 'widgets.write',
      route: 'PATCH /api/orgs/{orgId}/widgets/{id}',
      what: 'edit a widget',
      ok: 200,
      run: async (t) => as(t).patch(org(`/widgets/${await freshWidget()}`), { systemPrompt: 'x' }),
    },
    {
      action: 'widgets.write',
      route: 'DELETE /api/orgs/{orgId}/widgets/{id}',
      what: 'delete a widget',
      ok: 200,
      run: async (t) => as(t).del(org(`/widgets/${await freshWidget()}`)),
    },
    {
      action: 'widgets.write',
      route: 'POST /api/orgs/{orgId}/widgets/{id}/documents',
      what: 'add a document',
      ok: 201,
      run: async (t) =>
        as(t).post(org(`/widgets/${await freshWidget()}/documents`), { name: 'a.txt', content: 'hello' }),
    },
    {
      action: 'widgets.write',
      route: 'POST /api/orgs/{orgId}/widgets/{id}/documents/from-url',
      what: 'add a document from a URL (a refused address: 400 after authorization, nothing fetched)',
      ok: 400,
      run: async (t) =>
        as(t).post(org(`/widgets/${await freshWidget()}/documents/from-url`), {
          url: 'http://169.254.169.254/latest/meta-data/',
        }),
    },
    {
      action: 'widgets.write',
      route: 'DELETE /api/orgs/{orgId}/widgets/{id}/documents/{documentId}',
      what: 'delete a document',
      ok: 200,
      run: async (t) => {
        const w = await freshWidget();
        return as(t).del(org(`/widgets/${w}/documents/${await freshDocument(w)}`));
      },
    },
    {
      action: 'billing.read',
      route: 'GET /api/orgs/{orgId}/billing',
      what: 'read plan and usage',
      ok: 200,
      run: (t) => as(t).get(org('/billing')),
    },
    {
      action: 'billing.manage',
      route: 'POST /api/orgs/{orgId}/billing/checkout',
      what: 'start a checkout',
      ok: 200,
      run: (t) => as(t).post(org('/billing/checkout'), { plan: 'pro' }),
    },
    {
      action: 'dbaccess.read',
      route: 'GET /api/orgs/{orgId}/connections',
      what: 'list database connections',
      ok: 200,
      run: (t) => as(t).get(org('/connections')),
    },
    {
      action: 'dbaccess.manage',
      route: 'POST /api/orgs/{orgId}/connections',
      what: 'register a database connection',
      ok: 201,
      run: (t) => as(t).post(org('/connections'), { name: 'db', mode: 'agent' }),
    },
    {
      action: 'dbaccess.manage',
      route: 'DELETE /api/orgs/{orgId}/connections/{id}',
      what: 'delete a database connection',
      ok: 200,
      run: async (t) => as(t).del(org(`/connections/${await freshConnection()}`)),
    },
    {
      action: 'dbaccess.query',
      route: 'POST /api/orgs/{orgId}/connections/{id}/query',
      // Allowed roles still need the sealing API key, not a session: 401 after the role check.
      what: 'query a connection (then 401: a session is not the sealing key)',
      ok: 401,
      run: async (t) => as(t).post(org(`/connections/${await freshConnection()}/query`), { sql: 'SELECT 1' }),
    },
    {
      action: 'skills.read',
      route: 'GET /api/orgs/{orgId}/skills',
      what: 'list skill packages',
      ok: 200,
      run: (t) => as(t).get(org('/skills')),
    },
    {
      action: 'skills.read',
      route: 'GET /api/orgs/{orgId}/skills/{name}',
      what: 'list a skill’s versions',
      ok: 200,
      run: (t) => as(t).get(org('/skills/probe-skill')),
    },
    {
      action: 'skills.read',
      route: 'GET /api/orgs/{orgId}/signing-keys',
      what: 'list signing keys',
      ok: 200,
      run: (t) => as(t).get(org('/signing-keys')),
    },
    {
      action: 'skills.read',
      route: 'GET /api/orgs/{orgId}/runtime-telemetry',
      what: 'read runtime telemetry',
      ok: 200,
      run: (t) => as(t).get(org('/runtime-telemetry')),
    },
    {
      action: 'skills.publish',
      route: 'POST /api/orgs/{orgId}/skills',
      what: 'publish a signed package',
      ok: 201,
      run: async (t) => as(t).post(org('/skills'), await makePackage(builder, 'probe-skill', nextVersion++)),
    },
    {
      action: 'signing_keys.manage',
      route: 'POST /api/orgs/{orgId}/signing-keys',
      what: 'register a signing key',
      ok: 201,
      run: (t) => as(t).post(org('/signing-keys'), { publicKey: makeSigner().publicKeyPem }),
    },
    {
      action: 'signing_keys.manage',
      route: 'DELETE /api/orgs/{orgId}/signing-keys/{id}',
      what: 'revoke a signing key',
      ok: 200,
      run: async (t) => as(t).del(org(`/signing-keys/${await freshSigningKey()}`)),
    },
    {
      action: 'audit.read',
      route: 'GET /api/orgs/{orgId}/query-audit',
      what: 'read the query audit',
      ok: 200,
      run: (t) => as(t).get(org('/query-audit')),
    },
    {
      action: 'audit.read',
      route: 'GET /api/orgs/{orgId}/audit',
      what: 'read the audit log',
      ok: 200,
      run: (t) => as(t).get(org('/audit')),
    },
    {
      action: 'audit.sinks',
      route: 'GET /api/orgs/{orgId}/audit-sinks',
      what: 'list audit sinks with their lag (secrets masked)',
      ok: 200,
      run: (t) => as(t).get(org('/audit-sinks')),
    },
    {
      action: 'audit.sinks',
      route: 'GET /api/orgs/{orgId}/audit-sinks/{id}',
      what: 'read an audit sink',
      ok: 200,
      run: async (t) => as(t).get(org(`/audit-sinks/${await sharedSink()}`)),
    },
    {
      action: 'audit.sinks',
      route: 'POST /api/orgs/{orgId}/audit-sinks',
      what: 'create an audit sink',
      ok: 201,
      run: (t) =>
        as(t).post(org('/audit-sinks'), { kind: 'syslog', name: 'x', config: { host: 'siem.example.com' } }),
    },
    {
      action: 'audit.sinks',
      route: 'DELETE /api/orgs/{orgId}/audit-sinks/{id}',
      what: 'delete an audit sink',
      ok: 200,
      run: async (t) => as(t).del(org(`/audit-sinks/${await freshSink()}`)),
    },
    {
      action: 'audit.read',
      route: 'GET /api/orgs/{orgId}/audit/verify',
      what: 'verify the audit chain',
      ok: 200,
      run: (t) => as(t).get(org('/audit/verify')),
    },
  ];

  const cases = ROLES.flatMap((role) => probes.map((p) => ({ role, p })));
  it.each(cases.map((c) => [c.role, c.p.action, c.p.what, c] as const))(
    '%s × %s: %s',
    async (_r, _a, _w, { role, p }) => {
      const res = await p.run(tokens[role]);
      const allowed = documentedMatrix().get(p.action)?.has(role);
      expect(allowed, `${p.action} is missing from the documented matrix`).toBeDefined();
      expect(can(role, p.action), 'can() agrees with the documented matrix').toBe(allowed);
      if (allowed) {
        expect(res.status, res.text).toBe(p.ok);
        if (p.ok === 400) expect((res.body as Err).error).toBe('validation_failed');
      } else {
        expect(res.status, res.text).toBe(403);
        expect((res.body as Err).error).toBe('forbidden');
      }
    },
  );

  it.each(probes.map((p) => [p.action, p.what, p] as const))(
    'non-member × %s: %s → 404 not_found (membership first, so org ids cannot be probed)',
    async (_a, _w, p) => {
      const res = await p.run(stranger.token);
      expect(res.status, res.text).toBe(404);
      expect((res.body as Err).error).toBe('not_found');
    },
  );

  it('every action has a probe, and every org route from /openapi.json is probed', async () => {
    expect(new Set(probes.map((p) => p.action))).toEqual(new Set(ACTIONS));
    const documented = (await openApiRoutes(srv.baseUrl)).filter(isOrgRoute).map(routeKey);
    const probed = new Set(probes.map((p) => p.route));
    expect(documented.filter((r) => !probed.has(r))).toEqual([]);
    // The app's own table and the documented API list the same org routes: none is hidden from either.
    expect(appOrgRoutes(srv.rampart).map(routeKey).sort()).toEqual([...documented].sort());
  });

  it('every org route the app registers declares the action its probe expects (one table: config.orgAction)', () => {
    const routes = appOrgRoutes(srv.rampart);
    expect(routes.length).toBeGreaterThanOrEqual(50);
    expect(matrixGaps(routes, probes)).toEqual([]);
  });

  it('the route/probe check fails on an unprobed route, a changed orgAction and a probe of no route', () => {
    const routes = appOrgRoutes(srv.rampart);
    expect(
      matrixGaps(
        [...routes, { method: 'POST', path: '/api/orgs/{orgId}/new-thing', action: 'org.read' }],
        probes,
      ),
    ).toEqual(['POST /api/orgs/{orgId}/new-thing (orgAction org.read) has no probe: add one']);
    const loosened = routes.map((r) =>
      routeKey(r) === 'POST /api/orgs/{orgId}/jobs' ? { ...r, action: 'jobs.read' as const } : r,
    );
    expect(matrixGaps(loosened, probes)).toEqual([
      'POST /api/orgs/{orgId}/jobs declares orgAction jobs.read, the matrix expects jobs.write',
    ]);
    const dropped = routes.filter((r) => routeKey(r) !== 'GET /api/orgs/{orgId}/billing');
    expect(matrixGaps(dropped, probes)).toEqual([
      'GET /api/orgs/{orgId}/billing is probed, but the app registers no such org route',
    ]);
  });

  it('an org route whose orgAction is removed refuses to register, so the server does not start', async () => {
    const app = await bareServer();
    try {
      // Strips the declaration from one real route as it registers (onRoute hooks run in the order added).
      app.addHook('onRoute', (r) => {
        if (r.method === 'POST' && r.url === '/api/orgs/:orgId/jobs') delete r.config?.orgAction;
      });
      trackOrgRoutes(app);
      expect(() => registerJobRoutes(app, srv.rampart.services)).toThrow(
        /^POST \/api\/orgs\/:orgId\/jobs is an org route without a valid config\.orgAction/,
      );
    } finally {
      await app.close();
    }
  });

  it('requireOrg on a route that declares no orgAction answers 500, never a pass', async () => {
    const app = await bareServer();
    try {
      app.get('/probe/:orgId', async (request) => (await srv.rampart.services.auth.requireOrg(request)).role);
      const res = await app.inject({
        method: 'GET',
        url: `/probe/${owner.orgId}`,
        headers: { authorization: `Bearer ${owner.token}` },
      });
      expect(res.statusCode, res.body).toBe(500);
      expect((res.json() as Err).error).toBe('internal_error');
    } finally {
      await app.close();
    }
  });

  it('the org was not deleted by any probe', async () => {
    expect((await as(owner.token).get(org())).status).toBe(200);
  });

  /** One live item of each kind in the org: the targets that fill every org route's path. */
  const freshTargets = async (): Promise<OrgTargets> => {
    const widgetId = await freshWidget();
    return {
      orgId: owner.orgId,
      orgName: 'Matrix Org',
      userId: userIds.admin,
      apiKeyId: await freshCredential('api-keys'),
      runtimeTokenId: await freshCredential('runtime-tokens'),
      secretName: 'EXISTING',
      providerName: 'existing',
      jobId: await freshJob(),
      alertChannelId: await freshChannel(),
      auditSinkId: await sharedSink(),
      widgetId,
      documentId: await freshDocument(widgetId),
      conversationId: await freshConversation(widgetId),
      connectionId: await freshConnection(),
      signingKeyId: await freshSigningKey(),
      invitationId: await freshInvitation(),
      skillName: 'probe-skill',
    };
  };

  it('a viewer cannot mutate anything: every non-GET org route answers 403 and nothing changes', async () => {
    const targets = await freshTargets();
    const { jobId, widgetId } = targets;
    const snapshot = async () =>
      Promise.all(
        orgViewPaths({ jobId, widgetId }).map(async (p) => (await as(owner.token).get(org(p))).body),
      );
    const before = await snapshot();
    const mutating = appOrgRoutes(srv.rampart).filter((r) => r.method !== 'GET');
    expect(mutating.length).toBeGreaterThanOrEqual(9);
    for (const r of mutating) {
      const call = orgRouteCall(r, targets);
      const res = await as(tokens.viewer).request(r.method, call.url, call.body);
      expect(res.status, `${routeKey(r)} as viewer: ${res.text}`).toBe(403);
      expect((res.body as Err).error).toBe('forbidden');
    }
    expect(await snapshot()).toEqual(before);
    const audit = await as(owner.token).get<{
      entries: Array<{ userId: string; action: string; target: string }>;
    }>(org('/audit?limit=500'));
    const byViewer = audit.body.entries.filter((e) => e.userId === userIds.viewer);
    // Their own acceptance of the invitation that made them a member is theirs; nothing else may be.
    const joined = (e: { action: string; target: string }) =>
      e.action === 'member.added' && e.target === `user:${userIds.viewer}`;
    expect(byViewer.filter((e) => !e.action.startsWith('auth.') && !joined(e))).toEqual([]);
  });

  it('viewers may only read: no write action is granted to viewer', () => {
    const granted = ACTIONS.filter((a) => can('viewer', a));
    expect(granted.every((a) => a.endsWith('.read'))).toBe(true);
  });

  it('docs/SECURITY-CONTROLS.md contains the exact permissionTable() output', () => {
    const section = docSection('## Roles and permissions');
    // Cell by cell, in order; only padding may differ.
    expect(tableCells(section)).toEqual(tableCells(permissionTable()));
    expect(tableCells(permissionTable())).toHaveLength(ACTIONS.length + 2);
    expect([...documentedMatrix().keys()]).toEqual([...ACTIONS]);
  });

  describe('API key scopes (every org route, through HTTP)', () => {
    /** A key of the org, created by the owner, with exactly `scopes`. */
    const keyWith = async (scopes: readonly ApiKeyScope[]): Promise<string> => {
      const r = await as(owner.token).post<{ key: string }>(org('/api-keys'), {
        name: 'scoped probe',
        scopes,
      });
      expect(r.status, r.text).toBe(201);
      return (r.body as { key: string }).key;
    };

    it('the routes that admit API keys declare the scope test/org-routes.ts expects (one table: config.apiKeyScope)', () => {
      const routes = appOrgRoutes(srv.rampart);
      const declared = routes.map((r) => `${routeKey(r)} ${r.apiKeyScope ?? '-'}`);
      expect(declared).toEqual(routes.map((r) => `${routeKey(r)} ${expectedScope(r) ?? '-'}`));
      expect(
        routes
          .filter((r) => r.apiKeyScope === 'audit.read')
          .map(routeKey)
          .sort(),
      ).toEqual([
        'GET /api/orgs/{orgId}/audit',
        'GET /api/orgs/{orgId}/audit/verify',
        'GET /api/orgs/{orgId}/query-audit',
      ]);
    });

    it("a key gets 401 on every session-only org route and 403 where it lacks the route's scope; nothing changes", async () => {
      const targets = await freshTargets();
      const all = await keyWith(API_KEY_SCOPES);
      /** Per scope, a key with every other scope. */
      const lacking = new Map<ApiKeyScope, string>();
      for (const sc of API_KEY_SCOPES) lacking.set(sc, await keyWith(API_KEY_SCOPES.filter((x) => x !== sc)));
      // Using a key stamps its lastUsedAt (off the request path): the one change allowed.
      const snapshot = async () =>
        Promise.all(
          orgViewPaths(targets).map(async (p) =>
            JSON.stringify((await as(owner.token).get(org(p))).body, (k, v) => (k === 'lastUsedAt' ? 0 : v)),
          ),
        );
      const before = await snapshot();
      for (const r of appOrgRoutes(srv.rampart)) {
        const call = orgRouteCall(r, targets);
        const scope = r.apiKeyScope;
        const res = await as(scope ? (lacking.get(scope) ?? '') : all).request(r.method, call.url, call.body);
        if (scope) {
          expect(res.status, `${routeKey(r)} without ${scope}: ${res.text}`).toBe(403);
          expect(res.body as Err).toMatchObject({ error: 'forbidden' });
          expect((res.body as { message: string }).message).toContain(scope);
        } else {
          expect(res.status, `${routeKey(r)} with an API key: ${res.text}`).toBe(401);
          expect((res.body as Err).error).toBe('unauthorized');
        }
      }
      expect(await snapshot()).toEqual(before);
    });

    it("a key with only the route's scope gets past authorization on each route that admits keys", async () => {
      const targets = await freshTargets();
      for (const r of appOrgRoutes(srv.rampart).filter((x) => x.apiKeyScope)) {
        const scope = r.apiKeyScope as ApiKeyScope;
        const call = orgRouteCall(r, targets);
        const res = await as(await keyWith([scope])).request(r.method, call.url, call.body);
        if (r.method === 'GET') expect(res.status, `${routeKey(r)}: ${res.text}`).toBe(200);
        else expect([401, 403, 404], `${routeKey(r)}: ${res.text}`).not.toContain(res.status);
      }
    });

    it('docs/SECURITY-CONTROLS.md contains the exact scopeTable() output', () => {
      expect(tableCells(docSection('### API key scopes'))).toEqual(tableCells(scopeTable()));
      expect(tableCells(scopeTable())).toHaveLength(API_KEY_SCOPES.length + 2);
    });
  });

  describe('owners', () => {
    it('the only owner cannot demote themselves or leave (409 conflict)', async () => {
      const solo = await signup(srv.baseUrl, { orgName: 'Solo' });
      const a = as(solo.token);
      const demote = await a.patch(`/api/orgs/${solo.orgId}/members/${solo.userId}`, { role: 'admin' });
      expect(demote.status).toBe(409);
      expect((demote.body as Err).error).toBe('conflict');
      const leave = await a.del(`/api/orgs/${solo.orgId}/members/${solo.userId}`);
      expect(leave.status).toBe(409);
      expect((leave.body as Err).error).toBe('conflict');
      const me = await a.get<{ orgs: Array<{ orgId: string; role: string }> }>('/api/me');
      expect(me.body.orgs).toContainEqual(expect.objectContaining({ orgId: solo.orgId, role: 'owner' }));
    });

    it('an admin cannot promote anyone to owner, demote an owner or remove one (403)', async () => {
      const o = await signup(srv.baseUrl, { orgName: 'Admin limits' });
      const admin = await addMemberWithRole(srv, o.token, o.orgId, 'admin');
      const m = await addMemberWithRole(srv, o.token, o.orgId, 'member');
      const a = as(admin.token);
      const base = `/api/orgs/${o.orgId}/members`;
      const attempts = [
        await a.patch(`${base}/${m.userId}`, { role: 'owner' }),
        await a.patch(`${base}/${admin.userId}`, { role: 'owner' }),
        await a.post(base, { email: uniqueEmail('sneaky'), role: 'owner' }),
        await a.patch(`${base}/${o.userId}`, { role: 'member' }),
        await a.del(`${base}/${o.userId}`),
      ];
      for (const r of attempts) {
        expect(r.status, r.text).toBe(403);
        expect((r.body as Err).error).toBe('forbidden');
      }
      const list = await as(o.token).get<{ members: Array<{ userId: string; role: string }> }>(base);
      expect(list.body.members.filter((x) => x.role === 'owner').map((x) => x.userId)).toEqual([o.userId]);
      expect(list.body.members).toHaveLength(3);
    });

    it('with two owners one may leave; the one left is then the last owner', async () => {
      const first = await signup(srv.baseUrl, { orgName: 'Two owners' });
      const second = await addMemberWithRole(srv, first.token, first.orgId, 'owner');
      const base = `/api/orgs/${first.orgId}/members`;
      const leave = await as(first.token).del(`${base}/${first.userId}`);
      expect(leave.status, leave.text).toBe(200);
      expect((await as(first.token).get(`/api/orgs/${first.orgId}`)).status).toBe(404);
      const s = as(second.token);
      expect((await s.del(`${base}/${second.userId}`)).status).toBe(409);
      expect((await s.patch(`${base}/${second.userId}`, { role: 'viewer' })).status).toBe(409);
    });

    it('any other role may leave the org on its own (leaving is not a mutation of the org)', async () => {
      const o = await signup(srv.baseUrl, { orgName: 'Leavers' });
      const v = await addMemberWithRole(srv, o.token, o.orgId, 'viewer');
      const r = await as(v.token).del(`/api/orgs/${o.orgId}/members/${v.userId}`);
      expect(r.status).toBe(200);
      expect((await as(v.token).get(`/api/orgs/${o.orgId}`)).status).toBe(404);
    });
  });
});
