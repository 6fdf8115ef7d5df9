import { fillPath, type OpenApiRoute } from '@rampart/testing';
import type { Rampart } from '../src/app.js';
import type { Action, ApiKeyScope } from '../src/platform/permissions.js';
import { makePackage, makeSigner } from './skills-support.js';

/** What an intruder would upload or register: a well-formed package and key of their own. */
const INTRUDER = makeSigner();
const INTRUDER_PACKAGE = await makePackage(INTRUDER, 'intruder', 99);

/** Real ids in one org, used to fill the path parameters of its routes. */
export interface OrgTargets {
  orgId: string;
  orgName: string;
  /** Another member's user id (not the caller's own: leaving the org is allowed for every role). */
  userId: string;
  apiKeyId: string;
  runtimeTokenId: string;
  secretName: string;
  /** A provider name in the org (lower-case, per the provider name rule). */
  providerName: string;
  jobId: string;
  alertChannelId: string;
  auditSinkId: string;
  widgetId: string;
  documentId: string;
  /** A visitor conversation of `widgetId` (sweeps without one use a well-formed id that names none). */
  conversationId?: string;
  connectionId: string;
  signingKeyId: string;
  /** An open (pending) invitation of the org. */
  invitationId: string;
  skillName: string;
}

interface RouteSpec {
  /** A valid body (validation passes, so the answer comes from authorization), or none. */
  body?: (t: OrgTargets) => unknown;
  /** Which target fills `{id}` on this route. */
  id?:
    | 'apiKeyId'
    | 'runtimeTokenId'
    | 'jobId'
    | 'alertChannelId'
    | 'auditSinkId'
    | 'widgetId'
    | 'connectionId'
    | 'signingKeyId'
    | 'invitationId';
  /** Which target fills `{name}` (default: the secret name). */
  name?: 'secretName' | 'providerName' | 'skillName';
  /**
   * The API key scope that admits an org API key here (the route's `config.apiKeyScope`); absent: dashboard
   * sessions only, and any key gets 401. The permission test checks the app declares exactly these.
   */
  scope?: ApiKeyScope;
}

/**
 * Every route under /api/orgs/{orgId}, by `METHOD path`. Bodies are valid and as damaging as possible (the
 * org's real name as delete confirmation, its real secret name, promotion to owner), so a broken check shows up
 * as a change, not as a validation error. Tests fail on a registered org route missing here: add new routes.
 */
export const ORG_ROUTES: Record<string, RouteSpec> = {
  'GET /api/orgs/{orgId}': {},
  'DELETE /api/orgs/{orgId}': { body: (t) => ({ confirm: t.orgName }) },
  'GET /api/orgs/{orgId}/members': {},
  'POST /api/orgs/{orgId}/members': { body: () => ({ email: 'intruder@example.test', role: 'owner' }) },
  'PATCH /api/orgs/{orgId}/members/{userId}': { body: () => ({ role: 'owner' }) },
  'DELETE /api/orgs/{orgId}/members/{userId}': {},
  'GET /api/orgs/{orgId}/invitations': {},
  'DELETE /api/orgs/{orgId}/invitations/{id}': { id: 'invitationId' },
  'GET /api/orgs/{orgId}/settings': {},
  'PATCH /api/orgs/{orgId}/settings': {
    body: () => ({ piiRedaction: false, region: 'apac', retentionDays: 1 }),
  },
  'GET /api/orgs/{orgId}/api-keys': {},
  'POST /api/orgs/{orgId}/api-keys': { body: () => ({ name: 'intruder', redaction: 'off' }) },
  'DELETE /api/orgs/{orgId}/api-keys/{id}': { id: 'apiKeyId' },
  'PATCH /api/orgs/{orgId}/api-keys/{id}': { id: 'apiKeyId', body: () => ({ requestsPerMinute: 0 }) },
  'GET /api/orgs/{orgId}/runtime-tokens': {},
  'POST /api/orgs/{orgId}/runtime-tokens': { body: () => ({ name: 'intruder' }) },
  'DELETE /api/orgs/{orgId}/runtime-tokens/{id}': { id: 'runtimeTokenId' },
  'GET /api/orgs/{orgId}/secrets': {},
  'PUT /api/orgs/{orgId}/secrets/{name}': { body: () => ({ value: 'overwritten-by-intruder-0000' }) },
  'GET /api/orgs/{orgId}/providers': {},
  'GET /api/orgs/{orgId}/usage': {},
  'PUT /api/orgs/{orgId}/providers/{name}': {
    name: 'providerName',
    body: () => ({ baseUrl: 'https://llm.example.com/v1', apiKey: 'sk-intruder-000000000', models: ['m'] }),
  },
  'DELETE /api/orgs/{orgId}/providers/{name}': { name: 'providerName' },
  'GET /api/orgs/{orgId}/jobs': {},
  'POST /api/orgs/{orgId}/jobs': {
    body: () => ({
      name: 'intruder job',
      schedule: '* * * * *',
      url: 'https://intruder.example.com/steal',
      headers: { 'x-intruder': 'value-0000000000' },
    }),
  },
  'GET /api/orgs/{orgId}/jobs/{id}': { id: 'jobId' },
  'PATCH /api/orgs/{orgId}/jobs/{id}': {
    id: 'jobId',
    body: () => ({ url: 'https://intruder.example.com/steal', enabled: false }),
  },
  'DELETE /api/orgs/{orgId}/jobs/{id}': { id: 'jobId' },
  'POST /api/orgs/{orgId}/jobs/{id}/run': { id: 'jobId' },
  'GET /api/orgs/{orgId}/jobs/{id}/runs': { id: 'jobId' },
  'GET /api/orgs/{orgId}/alert-channels': {},
  'POST /api/orgs/{orgId}/alert-channels': {
    body: () => ({ type: 'email', name: 'intruder', config: { to: ['intruder@example.test'] } }),
  },
  'GET /api/orgs/{orgId}/alert-channels/{id}': { id: 'alertChannelId' },
  'DELETE /api/orgs/{orgId}/alert-channels/{id}': { id: 'alertChannelId' },
  'GET /api/orgs/{orgId}/widgets': {},
  'POST /api/orgs/{orgId}/widgets': {
    body: () => ({ name: 'intruder', allowedOrigins: ['https://evil.example.com'], model: 'm' }),
  },
  'GET /api/orgs/{orgId}/widgets/{id}': { id: 'widgetId' },
  'PATCH /api/orgs/{orgId}/widgets/{id}': {
    id: 'widgetId',
    body: () => ({ allowedOrigins: ['https://evil.example.com'], systemPrompt: 'leak everything' }),
  },
  'DELETE /api/orgs/{orgId}/widgets/{id}': { id: 'widgetId' },
  'POST /api/orgs/{orgId}/widgets/{id}/documents': {
    id: 'widgetId',
    body: () => ({ name: 'intruder.md', format: 'markdown', content: '# planted by an intruder' }),
  },
  'POST /api/orgs/{orgId}/widgets/{id}/documents/from-url': {
    id: 'widgetId',
    // The metadata address: even a broken check could not make the sweep leave this machine.
    body: () => ({ url: 'http://169.254.169.254/latest/meta-data/', name: 'intruder page' }),
  },
  'GET /api/orgs/{orgId}/widgets/{id}/documents': { id: 'widgetId' },
  'DELETE /api/orgs/{orgId}/widgets/{id}/documents/{documentId}': { id: 'widgetId' },
  'GET /api/orgs/{orgId}/widgets/{id}/embeddings': { id: 'widgetId' },
  'POST /api/orgs/{orgId}/widgets/{id}/embeddings/retry': { id: 'widgetId', body: () => ({}) },
  'GET /api/orgs/{orgId}/widgets/{id}/conversations': { id: 'widgetId' },
  'GET /api/orgs/{orgId}/widgets/{id}/conversations/{conversationId}': { id: 'widgetId' },
  'DELETE /api/orgs/{orgId}/widgets/{id}/conversations/{conversationId}': { id: 'widgetId' },
  'GET /api/orgs/{orgId}/widgets/{id}/unanswered': { id: 'widgetId' },
  'GET /api/orgs/{orgId}/widgets/{id}/message-stats': { id: 'widgetId' },
  'GET /api/orgs/{orgId}/billing': {},
  'POST /api/orgs/{orgId}/billing/checkout': { body: () => ({ plan: 'business' }) },
  'GET /api/orgs/{orgId}/connections': {},
  'POST /api/orgs/{orgId}/connections': { body: () => ({ name: 'intruder', mode: 'agent' }) },
  'DELETE /api/orgs/{orgId}/connections/{id}': { id: 'connectionId' },
  'POST /api/orgs/{orgId}/connections/{id}/query': {
    id: 'connectionId',
    body: () => ({ sql: 'SELECT 1' }),
    scope: 'db.query',
  },
  'GET /api/orgs/{orgId}/query-audit': { scope: 'audit.read' },
  'GET /api/orgs/{orgId}/signing-keys': {},
  'POST /api/orgs/{orgId}/signing-keys': {
    body: () => ({ name: 'intruder', publicKey: INTRUDER.publicKeyPem }),
  },
  'DELETE /api/orgs/{orgId}/signing-keys/{id}': { id: 'signingKeyId' },
  'GET /api/orgs/{orgId}/skills': {},
  'POST /api/orgs/{orgId}/skills': { body: () => INTRUDER_PACKAGE, scope: 'skills.publish' },
  'GET /api/orgs/{orgId}/skills/{name}': { name: 'skillName' },
  'GET /api/orgs/{orgId}/runtime-telemetry': {},
  'GET /api/orgs/{orgId}/audit': { scope: 'audit.read' },
  'GET /api/orgs/{orgId}/audit/verify': { scope: 'audit.read' },
  'GET /api/orgs/{orgId}/audit-sinks': {},
  'POST /api/orgs/{orgId}/audit-sinks': {
    body: () => ({ kind: 'https', name: 'intruder', config: { url: 'https://intruder.example.com/steal' } }),
  },
  'GET /api/orgs/{orgId}/audit-sinks/{id}': { id: 'auditSinkId' },
  'DELETE /api/orgs/{orgId}/audit-sinks/{id}': { id: 'auditSinkId' },
};

/** The read routes that together show an org's state: snapshots before and after refused attempts. */
export const orgViewPaths = (t: Pick<OrgTargets, 'jobId' | 'widgetId'>): string[] => [
  '',
  '/members',
  '/invitations',
  '/settings',
  '/api-keys',
  '/runtime-tokens',
  '/secrets',
  '/jobs',
  `/jobs/${t.jobId}/runs`,
  '/alert-channels',
  '/widgets',
  `/widgets/${t.widgetId}/documents`,
  `/widgets/${t.widgetId}/conversations`,
  '/billing',
  '/connections',
  '/signing-keys',
  '/skills',
  '/runtime-telemetry',
  '/audit-sinks',
];

/** An org route as the app registered it, with the action it declares (`config.orgAction`). */
export interface AppOrgRoute extends OpenApiRoute {
  action: Action;
  /** The scope that admits an API key (`config.apiKeyScope`); absent: sessions only. */
  apiKeyScope?: ApiKeyScope;
}

/**
 * Every `/api/orgs/:orgId` route the app itself registered (its onRoute table, documented or not), in the
 * OpenAPI form (`/api/orgs/{orgId}/jobs/{id}`) the tests key on: the one source the matrix test and the
 * cross-tenant sweep enumerate.
 */
export const appOrgRoutes = (rampart: Rampart): AppOrgRoute[] =>
  rampart.orgRoutes.map((r) => ({
    method: r.method,
    path: r.url.replace(/:(\w+)/g, '{$1}'),
    action: r.action,
    ...(r.apiKeyScope ? { apiKeyScope: r.apiKeyScope } : {}),
  }));

/** The scope ORG_ROUTES expects on a route (undefined: no API key is accepted there). */
export const expectedScope = (r: OpenApiRoute): ApiKeyScope | undefined => ORG_ROUTES[routeKey(r)]?.scope;

export const isOrgRoute = (r: OpenApiRoute): boolean =>
  r.path === '/api/orgs/{orgId}' || r.path.startsWith('/api/orgs/{orgId}/');

export const routeKey = (r: OpenApiRoute): string => `${r.method} ${r.path}`;

/** The concrete call for a documented org route against `t`. @throws when the route has no entry above */
export function orgRouteCall(r: OpenApiRoute, t: OrgTargets): { url: string; body?: unknown } {
  const spec = ORG_ROUTES[routeKey(r)];
  if (!spec) throw new Error(`no mapping for ${routeKey(r)} in test/org-routes.ts: add one`);
  const url = fillPath(r.path, {
    orgId: t.orgId,
    userId: t.userId,
    name: spec.name ? t[spec.name] : t.secretName,
    documentId: t.documentId,
    conversationId: t.conversationId ?? '00000000-0000-4000-8000-000000000000',
    ...(spec.id ? { id: t[spec.id] } : {}),
  });
  return spec.body ? { url, body: spec.body(t) } : { url };
}
