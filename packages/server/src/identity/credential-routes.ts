import { z } from 'zod';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import { fallbacks } from '../platform/fallbacks.js';
import type { App } from '../platform/http.js';
import { gatewayLimitsInput, gatewayLimitsView } from '../platform/limit-params.js';
import { bearer, okBody, orgItemParams, orgParams, region } from '../platform/params.js';
import { requireVerifiedUnlessAlone } from './accounts/verification.js';
import {
  createApiKey,
  createRuntimeToken,
  listApiKeys,
  listRuntimeTokens,
  revokeApiKey,
  revokeRuntimeToken,
  updateApiKeyLimits,
} from './credentials.js';
import { API_KEY_SCOPES } from './principal.js';
import type { IdentityServices } from './services.js';

export const listed = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export const apiKeyListed = listed.extend({
  redaction: z.enum(['inherit', 'on', 'off']),
  /** null: the org's setting. */
  redactionMode: z.enum(['mask', 'reversible']).nullable(),
  redactCompletions: z.boolean().nullable(),
  region: region.nullable(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  /** Gateway limits of this key; null: unlimited (the org's limits apply as well). */
  ...gatewayLimitsView,
  /** The gateway's ordered providers per model for this key; `{}`: the org's lists. */
  fallbacks: z.record(z.string(), z.array(z.string())),
});

/** API keys (programs) and runtime tokens (skill runtimes): hashed at rest, plaintext returned once. */
export function registerCredentialRoutes(app: App, s: IdentityServices): void {
  app.post(
    '/api/orgs/:orgId/api-keys',
    {
      config: { orgAction: 'apikeys.manage' },
      schema: {
        tags: ['api-keys'],
        security: bearer,
        summary: 'Create an API key; the key is in this response only',
        params: orgParams,
        body: z.strictObject({
          name: z.string().trim().min(1).max(100),
          redaction: z.enum(['inherit', 'on', 'off']).default('inherit'),
          /** Omitted: the org's `redactionMode` and `redactCompletions` apply to this key. */
          redactionMode: z.enum(['mask', 'reversible']).optional(),
          redactCompletions: z.boolean().optional(),
          region: region.optional(),
          /**
           * Default (omitted): gateway, db.query, skills.publish, what every key could do before scopes. Each scope
           * asked for must be one the caller's role may grant (`audit.read`: owner, admin), else 403.
           */
          scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length).optional(),
          ...gatewayLimitsInput,
          /** The gateway's ordered providers per model (issue 24 §3); omitted: the org's lists. */
          fallbacks: fallbacks.optional(),
        }),
        // The contract's shape: {id, key, prefix}; the scopes are in the listing.
        response: { 201: z.object({ id: z.uuid(), key: z.string(), prefix: z.string() }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      await requireVerifiedUnlessAlone(s, access);
      const created = await createApiKey(
        s,
        actorOf(request),
        access.orgId,
        { userId: access.principal.userId, role: access.role },
        request.body,
      );
      // The gateway's routing cache holds the keys' fallback lists.
      if (request.body.fallbacks && Object.keys(request.body.fallbacks).length)
        await s.orgChanged(access.orgId);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/orgs/:orgId/api-keys',
    {
      config: { orgAction: 'apikeys.read' },
      schema: {
        tags: ['api-keys'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ keys: z.array(apiKeyListed) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { keys: await listApiKeys(s, access.orgId) };
    },
  );

  app.patch(
    '/api/orgs/:orgId/api-keys/:id',
    {
      config: { orgAction: 'apikeys.manage' },
      schema: {
        tags: ['api-keys'],
        security: bearer,
        summary:
          "Change a key's gateway limits (requests and tokens per minute, monthly budget; null: unlimited)",
        params: orgItemParams,
        body: z
          .strictObject(gatewayLimitsInput)
          .refine((b) => Object.keys(b).length > 0, 'Send at least one setting'),
        response: { 200: apiKeyListed },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await updateApiKeyLimits(s, actorOf(request), access.orgId, request.params.id, request.body);
      // The gateway caches limits per org: drop them on every node.
      await s.orgChanged(access.orgId);
      const key = (await listApiKeys(s, access.orgId)).find((k) => k.id === request.params.id);
      if (!key) throw new AppError('not_found', 'API key not found');
      return key;
    },
  );

  app.delete(
    '/api/orgs/:orgId/api-keys/:id',
    {
      config: { orgAction: 'apikeys.manage' },
      schema: {
        tags: ['api-keys'],
        security: bearer,
        summary: 'Revoke at once',
        params: orgItemParams,
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await revokeApiKey(s, actorOf(request), access.orgId, request.params.id);
      return { ok: true as const };
    },
  );

  app.post(
    '/api/orgs/:orgId/runtime-tokens',
    {
      config: { orgAction: 'runtime_tokens.manage' },
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary: 'Create a runtime token (scope: sync + telemetry of this org); shown once',
        params: orgParams,
        body: z.strictObject({ name: z.string().trim().min(1).max(100) }),
        response: { 201: z.object({ id: z.uuid(), token: z.string(), prefix: z.string() }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      await requireVerifiedUnlessAlone(s, access);
      const created = await createRuntimeToken(
        s,
        actorOf(request),
        access.orgId,
        access.principal.userId,
        request.body.name,
      );
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/orgs/:orgId/runtime-tokens',
    {
      config: { orgAction: 'runtime_tokens.manage' },
      schema: {
        tags: ['runtime'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ tokens: z.array(listed) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { tokens: await listRuntimeTokens(s, access.orgId) };
    },
  );

  app.delete(
    '/api/orgs/:orgId/runtime-tokens/:id',
    {
      config: { orgAction: 'runtime_tokens.manage' },
      schema: { tags: ['runtime'], security: bearer, params: orgItemParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await revokeRuntimeToken(s, actorOf(request), access.orgId, request.params.id);
      return { ok: true as const };
    },
  );

  // The runtime's own identity check: accepts runtime tokens only (dashboard sessions and API keys get 401).
  app.get(
    '/api/runtime/whoami',
    {
      schema: {
        tags: ['runtime'],
        security: bearer,
        response: { 200: z.object({ orgId: z.uuid(), tokenId: z.uuid(), scopes: z.array(z.string()) }) },
      },
    },
    async (request) => {
      const p = await s.auth.runtime(request);
      return { orgId: p.orgId, tokenId: p.tokenId, scopes: ['sync', 'telemetry'] };
    },
  );
}
