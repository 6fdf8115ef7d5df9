import { z } from 'zod';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgParams, region } from '../platform/params.js';
import { registerAnthropicRoutes } from './anthropic.js';
import { registerEmbeddingsRoutes } from './embeddings.js';
import {
  deleteProvider,
  listProviders,
  modelsInRegion,
  normaliseBaseUrl,
  PROVIDER_KINDS,
  putProvider,
} from './providers.js';
import { proxyChat } from './proxy.js';
import { loadRouting } from './route-cache.js';
import type { GatewayServices } from './services.js';
import { registerUsageRoutes } from './usage.js';

const providerName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'Use lower-case letters, digits, dash or underscore');
const modelId = z.string().min(1).max(200);
const providerKind = z.enum(PROVIDER_KINDS);
export const providerView = z.object({
  name: z.string(),
  kind: providerKind,
  baseUrl: z.string(),
  apiKeyMasked: z.string(),
  region,
  models: z.array(z.string()),
  reasoningModels: z.array(z.string()),
  /** USD per million tokens, by model (models not listed: the built-in defaults, docs/GATEWAY.md). */
  prices: z.record(z.string(), z.object({ input: z.number(), output: z.number() })),
  updatedAt: z.string(),
});
const usdPerMillion = z.number().min(0).max(100_000);
const prices = z
  .record(modelId, z.strictObject({ input: usdPerMillion, output: usdPerMillion }))
  .refine((p) => Object.keys(p).length <= 500, 'At most 500 prices');

// OpenAI's wire format: we validate what we route on and pass every other field through unchanged.
const chatBody = z.looseObject({
  model: modelId,
  messages: z
    .array(
      z.looseObject({
        role: z.string().min(1).max(50),
        content: z
          .union([z.string(), z.array(z.looseObject({ type: z.string().max(50) })), z.null()])
          .optional(),
      }),
    )
    .min(1)
    .max(2_000),
  stream: z.boolean().optional(),
});

export function registerGatewayRoutes(app: App, s: GatewayServices): void {
  app.put(
    '/api/orgs/:orgId/providers/:name',
    {
      config: { orgAction: 'providers.write' },
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary:
          'Create or replace an upstream LLM provider; its API key is sealed and shown masked afterwards',
        params: orgParams.extend({ name: providerName }),
        body: z.strictObject({
          // Which wire format the provider speaks: openai (chat completions, embeddings) or anthropic (messages).
          kind: providerKind.default('openai'),
          baseUrl: z.string().min(8).max(500),
          apiKey: z.string().min(1).max(4_096),
          region: region.default('us'),
          models: z.array(modelId).max(500).default([]),
          reasoningModels: z.array(modelId).max(500).default([]),
          /** Omitted: the provider's prices stay as they are. */
          prices: prices.optional(),
        }),
        response: { 200: providerView },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const b = request.body;
      const baseUrl = normaliseBaseUrl(b.baseUrl, s.outboundPolicy);
      const view = await s.db.org(access.orgId, (q) =>
        putProvider(q, s.ring, actorOf(request), access.orgId, request.params.name, { ...b, baseUrl }),
      );
      await s.orgChanged(access.orgId);
      return view;
    },
  );

  app.get(
    '/api/orgs/:orgId/providers',
    {
      config: { orgAction: 'providers.read' },
      schema: {
        tags: ['gateway'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ providers: z.array(providerView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { providers: await s.db.org(access.orgId, (q) => listProviders(q, access.orgId)) };
    },
  );

  app.delete(
    '/api/orgs/:orgId/providers/:name',
    {
      config: { orgAction: 'providers.write' },
      schema: {
        tags: ['gateway'],
        security: bearer,
        params: orgParams.extend({ name: providerName }),
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) =>
        deleteProvider(q, actorOf(request), access.orgId, request.params.name),
      );
      // Its sealed key must not stay routable from any node's cache.
      await s.orgChanged(access.orgId);
      return { ok: true as const };
    },
  );

  app.get(
    '/v1/models',
    {
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary: 'OpenAI-compatible model list (API key; models of providers in the key region)',
        response: {
          200: z.object({
            object: z.literal('list'),
            data: z.array(
              z.object({
                id: z.string(),
                object: z.literal('model'),
                created: z.number(),
                owned_by: z.string(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const key = await s.auth.apiKey(request, 'gateway');
      const routing = await s.routing.get(key.orgId, () =>
        s.db.org(key.orgId, (q) => loadRouting(q, key.orgId)),
      );
      return { object: 'list' as const, data: routing ? modelsInRegion(routing, key.region) : [] };
    },
  );

  app.post(
    '/v1/chat/completions',
    {
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary:
          'OpenAI-compatible chat completions (API key), streaming or not, with PII redaction and data residency',
        body: chatBody,
      },
    },
    async (request, reply) => {
      const key = await s.auth.apiKey(request, 'gateway');
      return proxyChat(s, request, reply, key, request.body);
    },
  );

  // Issue 24 §1: more of the wire, each route in its own file.
  registerEmbeddingsRoutes(app, s);
  registerUsageRoutes(app, s);
  registerAnthropicRoutes(app, s);
}
