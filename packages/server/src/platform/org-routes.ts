import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.js';
import type { App } from './http.js';
import { ACTIONS, type Action, type ApiKeyScope, isApiKeyScope } from './permissions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The permission an org route needs, from the matrix in permissions.ts. Every `/api/orgs/:orgId` route
     * declares one: `requireOrg(request)` checks it, and the permission matrix test and the cross-tenant sweep
     * read the same value from {@link trackOrgRoutes}'s table.
     */
    orgAction?: Action;
    /**
     * The API key scope that admits an org API key on this route, besides member sessions; absent: keys get 401
     * (dashboard sessions only). Routes that declare one authorize through `requireOrgOrKey` (or check the key
     * as that does); the sweeps read it from {@link trackOrgRoutes}'s table.
     */
    apiKeyScope?: ApiKeyScope;
  }
}

/** One registered org route and the action it declares (`url` in Fastify form: `/api/orgs/:orgId/jobs`). */
export interface OrgRoute {
  method: string;
  url: string;
  action: Action;
  /** The scope an API key needs on this route; absent: no API key is accepted. */
  apiKeyScope?: ApiKeyScope;
}

/** The org surface: `/api/orgs/:orgId` and everything under it. */
export const isOrgUrl = (url: string): boolean =>
  url === '/api/orgs/:orgId' || url.startsWith('/api/orgs/:orgId/');

const isAction = (a: unknown): a is Action =>
  typeof a === 'string' && (ACTIONS as readonly string[]).includes(a);

/**
 * Adds an onRoute hook (call it before any route is registered) that refuses, at registration and so at
 * startup, an org route without a valid `config.orgAction` or with an unknown `config.apiKeyScope`. Returns the live table of org routes and their
 * actions (HEAD twins of GET routes left out): the one list tests enumerate.
 * @throws Error from the registering `app.get/post/...` call when an org route lacks its action
 */
export function trackOrgRoutes(app: App): readonly OrgRoute[] {
  const table: OrgRoute[] = [];
  app.addHook('onRoute', (route) => {
    if (!isOrgUrl(route.url)) return;
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    const action: unknown = route.config?.orgAction;
    if (!isAction(action)) {
      throw new Error(
        `${methods.join(',')} ${route.url} is an org route without a valid config.orgAction (got ${String(action)}): declare the action it needs from platform/permissions.ts`,
      );
    }
    const scope: unknown = route.config?.apiKeyScope;
    if (scope !== undefined && !isApiKeyScope(scope))
      throw new Error(
        `${methods.join(',')} ${route.url} declares an unknown config.apiKeyScope (${String(scope)})`,
      );
    for (const method of methods)
      table.push({ method, url: route.url, action, ...(isApiKeyScope(scope) ? { apiKeyScope: scope } : {}) });
  });
  return table;
}

/**
 * The action the matched route declares.
 * @throws AppError internal_error (500) when the route declares none: a wiring bug, never a pass
 */
export function orgActionOf(request: FastifyRequest): Action {
  const action: unknown = request.routeOptions.config.orgAction;
  if (!isAction(action)) {
    throw new AppError('internal_error', `Route ${request.routeOptions.url ?? '?'} declares no orgAction`);
  }
  return action;
}

/** The API key scope the matched route admits keys with; undefined: dashboard sessions only. */
export function apiKeyScopeOf(request: FastifyRequest): ApiKeyScope | undefined {
  const scope: unknown = request.routeOptions.config.apiKeyScope;
  return isApiKeyScope(scope) ? scope : undefined;
}
