import { generateToken } from '@rampart/core/apikeys';
import { z } from 'zod';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { newId } from '../platform/ids.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { API_KEY_SCOPES, type ApiKeyScope, DEFAULT_API_KEY_SCOPES } from './principal.js';
import type { IdentityServices } from './services.js';
import { requireVerifiedUnlessAlone } from './verification.js';

export const listed = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export const apiKeyListed = listed.extend({
  redaction: z.enum(['inherit', 'on', 'off']),
  region: z.enum(['us', 'eu', 'apac']).nullable(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
});

interface Row {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  redaction?: 'inherit' | 'on' | 'off';
  region?: 'us' | 'eu' | 'apac' | null;
  scopes?: ApiKeyScope[];
}
const view = (r: Row) => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
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
          region: z.enum(['us', 'eu', 'apac']).optional(),
          /** Default (omitted): gateway, db.query, skills.publish, what every key could do before scopes. */
          scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length).optional(),
        }),
        // The contract's shape: {id, key, prefix}; the scopes are in the listing.
        response: { 201: z.object({ id: z.uuid(), key: z.string(), prefix: z.string() }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      await requireVerifiedUnlessAlone(s, access);
      const { key, prefix, hash } = generateToken('rk', 'live');
      const id = newId();
      const scopes = API_KEY_SCOPES.filter((x) =>
        (request.body.scopes ?? DEFAULT_API_KEY_SCOPES).includes(x),
      );
      await s.db.org(access.orgId, async (q) => {
        await q.query(
          'INSERT INTO api_keys (id, org_id, name, prefix, key_hash, redaction, region, created_by, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
          [
            id,
            access.orgId,
            request.body.name,
            prefix,
            hash,
            request.body.redaction,
            request.body.region ?? null,
            access.principal.userId,
            scopes,
          ],
        );
        await appendAudit(q, actorOf(request), {
          orgId: access.orgId,
          action: 'api_key.created',
          target: `api_key:${id}`,
          meta: {
            name: request.body.name,
            prefix,
            redaction: request.body.redaction,
            region: request.body.region ?? null,
            scopes,
          },
        });
      });
      return reply.code(201).send({ id, key, prefix });
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
      const { rows } = await s.db.org(access.orgId, (q) =>
        q.query<Row>(
          `SELECT id, name, prefix, created_at, last_used_at, redaction, region, scopes FROM api_keys
            WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`,
          [access.orgId],
        ),
      );
      return {
        keys: rows.map((r) => ({
          ...view(r),
          redaction: r.redaction ?? 'inherit',
          region: r.region ?? null,
          scopes: r.scopes ?? [...DEFAULT_API_KEY_SCOPES],
        })),
      };
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
      const id = request.params.id;
      await s.db.org(access.orgId, async (q) => {
        const upd = await q.query(
          'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL',
          [id, access.orgId],
        );
        if (upd.rowCount === 0) throw new AppError('not_found', 'API key not found');
        await appendAudit(q, actorOf(request), {
          orgId: access.orgId,
          action: 'api_key.revoked',
          target: `api_key:${id}`,
        });
      });
      s.auth.forgetApiKey(id);
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
      const { key, prefix, hash } = generateToken('rt', 'live');
      const id = newId();
      await s.db.org(access.orgId, async (q) => {
        await q.query(
          'INSERT INTO runtime_tokens (id, org_id, name, prefix, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
          [id, access.orgId, request.body.name, prefix, hash, access.principal.userId],
        );
        await appendAudit(q, actorOf(request), {
          orgId: access.orgId,
          action: 'runtime_token.created',
          target: `runtime_token:${id}`,
          meta: { prefix },
        });
      });
      return reply.code(201).send({ id, token: key, prefix });
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
      const { rows } = await s.db.org(access.orgId, (q) =>
        q.query<Row>(
          'SELECT id, name, prefix, created_at, last_used_at FROM runtime_tokens WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at, id',
          [access.orgId],
        ),
      );
      return { tokens: rows.map(view) };
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
      const id = request.params.id;
      await s.db.org(access.orgId, async (q) => {
        const upd = await q.query(
          'UPDATE runtime_tokens SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL',
          [id, access.orgId],
        );
        if (upd.rowCount === 0) throw new AppError('not_found', 'Runtime token not found');
        await appendAudit(q, actorOf(request), {
          orgId: access.orgId,
          action: 'runtime_token.revoked',
          target: `runtime_token:${id}`,
        });
      });
      s.auth.forgetRuntimeToken(id);
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
