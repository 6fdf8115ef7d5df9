import {
  MAX_VERSION,
  parsePublicKey,
  SKILL_NAME,
  SkillPackError,
  type VerifiedPackage,
  verifyPackage,
} from '@rampart/core/skillpack';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireScope } from '../identity/authenticate.js';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { orgActionOf } from '../platform/org-routes.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { can } from '../platform/permissions.js';
import { take } from '../platform/ratelimit.js';
import {
  activeKeys,
  listSigningKeys,
  listSkills,
  packageContent,
  registerSigningKey,
  revokeSigningKey,
  runtimeCatalog,
  signingKeyView,
  skillVersions,
  storePackage,
} from './store.js';
import {
  ingestTelemetry,
  listTelemetry,
  MAX_EVENTS_PER_BATCH,
  TELEMETRY_BODY_LIMIT,
  telemetryBatch,
} from './telemetry.js';

const skillName = z.string().regex(SKILL_NAME, 'a skill name (a-z, 0-9, ".", "_", "-"; at most 63)');
export const keyView = z.object({
  id: z.uuid(),
  name: z.string(),
  keyId: z.string(),
  publicKey: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export const versionView = z.object({
  version: z.number(),
  sha256: z.string(),
  sizeBytes: z.number(),
  fileCount: z.number(),
  keyId: z.string(),
  signature: z.enum(['valid', 'key_revoked']),
  createdAt: z.string(),
});
const published = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.number(),
  sha256: z.string(),
  sizeBytes: z.number(),
  fileCount: z.number(),
  keyId: z.string(),
  createdAt: z.string(),
});

/**
 * A refused package as a client error. Every refusal is one code (`package_rejected`, 422) with the precise
 * reason in `details.reason`; auth-material refusals list each offending path and why (never file contents).
 */
function packageRejected(err: SkillPackError): AppError {
  const details: Record<string, unknown> = { reason: err.code };
  const findings = err.details.findings;
  if (Array.isArray(findings)) details.findings = findings.slice(0, 100);
  for (const k of ['path', 'paths', 'keyId'] as const)
    if (err.details[k] !== undefined) details[k] = err.details[k];
  const message =
    err.code === 'auth_material' ? 'The package holds auth material; see details.findings' : err.message;
  return new AppError('package_rejected', message, { details });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the upload route's onRequest hook once the caller may publish to the org. */
    publisherOrg?: string;
  }
}

/** Skill packages: signing keys, upload and listing (dashboard / CI), runtime sync and telemetry. */
export function registerSkillRoutes(app: App, s: IdentityServices): void {
  const telemetryLimiter = s.limiters.create('telemetry:token', s.config.RAMPART_TELEMETRY_PER_MINUTE, 60);

  app.post(
    '/api/orgs/:orgId/signing-keys',
    {
      config: { orgAction: 'signing_keys.manage' },
      schema: {
        tags: ['skills'],
        security: bearer,
        summary: 'Register an Ed25519 public key that signs this org’s skill packages',
        params: orgParams,
        body: z.strictObject({
          name: z.string().trim().min(1).max(100).default('signing key'),
          publicKey: z.string().min(1).max(2_000),
        }),
        response: { 201: keyView },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      let raw: Buffer;
      try {
        raw = parsePublicKey(request.body.publicKey);
      } catch (err) {
        if (!(err instanceof SkillPackError)) throw err;
        throw new AppError('validation_failed', err.message, {
          details: { issues: [{ in: 'body', path: '/publicKey', message: err.message }] },
        });
      }
      const row = await s.db.org(access.orgId, (q) =>
        registerSigningKey(q, actorOf(request), access.orgId, request.body.name, raw),
      );
      return reply.code(201).send(signingKeyView(row));
    },
  );

  app.get(
    '/api/orgs/:orgId/signing-keys',
    {
      config: { orgAction: 'skills.read' },
      schema: {
        tags: ['skills'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ keys: z.array(keyView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const rows = await s.db.org(access.orgId, (q) => listSigningKeys(q, access.orgId));
      return { keys: rows.map(signingKeyView) };
    },
  );

  app.delete(
    '/api/orgs/:orgId/signing-keys/:id',
    {
      config: { orgAction: 'signing_keys.manage' },
      schema: {
        tags: ['skills'],
        security: bearer,
        summary: 'Revoke a signing key: its packages are no longer offered to runtimes; permanent',
        params: orgItemParams,
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) =>
        revokeSigningKey(q, actorOf(request), access.orgId, request.params.id),
      );
      return { ok: true as const };
    },
  );

  /**
   * The org a publish acts on: a member session with skills.publish, or an API key of that org that carries the
   * `skills.publish` scope and whose creator is still a member whose role may publish (a key never outranks the
   * person who made it: demote or remove them and their keys stop publishing).
   */
  async function publisherOrg(request: FastifyRequest, orgId: string): Promise<string> {
    const p = await s.auth.principal(request);
    if (p.kind === 'api_key') {
      if (p.orgId !== orgId) throw new AppError('not_found', 'Organization not found');
      requireScope(p, 'skills.publish');
      const role = p.createdBy ? await s.auth.roleOf(orgId, p.createdBy) : undefined;
      if (!role || !can(role, orgActionOf(request)))
        throw new AppError('forbidden', "This API key's creator can no longer publish skills in this org");
      return orgId;
    }
    if (p.kind !== 'session')
      throw new AppError('unauthorized', 'Publishing needs a dashboard session or an API key');
    return (await s.auth.requireOrg(request)).orgId;
  }

  // The package is binary: a scope of its own whose only body parser is application/octet-stream.
  app.register(async (plain) => {
    const scope = plain as unknown as App;
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    scope.post(
      '/api/orgs/:orgId/skills',
      {
        // Sessions go through requireOrg; an API key must carry the skills.publish scope and its creator must
        // still hold this action (publisherOrg).
        config: { orgAction: 'skills.publish', apiKeyScope: 'skills.publish' },
        bodyLimit: s.config.RAMPART_SKILL_MAX_BYTES,
        // Authorize before the body is read: an outsider cannot make the server buffer a 50 MB upload.
        onRequest: async (request) => {
          const { orgId } = request.params as { orgId: string };
          request.publisherOrg = await publisherOrg(request, orgId);
        },
        schema: {
          tags: ['skills'],
          security: bearer,
          summary:
            'Publish a package made by `rampart pack` (content-type application/octet-stream): signature, hashes and the auth-file scan are all checked before anything is stored',
          params: orgParams,
          response: { 201: published },
        },
      },
      async (request, reply) => {
        const orgId = request.publisherOrg ?? (await publisherOrg(request, request.params.orgId));
        const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (bytes.length === 0) throw new AppError('validation_failed', 'The body must be a package file');
        const keys = await s.db.org(orgId, (q) => activeKeys(q, orgId));
        let pkg: VerifiedPackage;
        try {
          pkg = await verifyPackage(bytes, { keyFor: (id) => keys.get(id) });
        } catch (err) {
          if (!(err instanceof SkillPackError)) throw err;
          const rejected = packageRejected(err);
          await s.db.org(orgId, (q) =>
            appendAudit(q, actorOf(request), {
              orgId,
              action: 'skill.rejected',
              target: null,
              meta: {
                reason: err.code,
                paths: Array.isArray(err.details.findings)
                  ? (err.details.findings as Array<{ path: string }>).slice(0, 20).map((f) => f.path)
                  : [],
              },
            }),
          );
          throw rejected;
        }
        const out = await s.db.org(orgId, (q) => storePackage(q, actorOf(request), orgId, pkg, bytes));
        return reply.code(201).send(out);
      },
    );
  });

  app.get(
    '/api/orgs/:orgId/skills',
    {
      config: { orgAction: 'skills.read' },
      schema: {
        tags: ['skills'],
        security: bearer,
        summary: 'Each skill with its latest version and signature status',
        params: orgParams,
        response: {
          200: z.object({
            skills: z.array(z.object({ name: z.string(), versions: z.number(), latest: versionView })),
          }),
        },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { skills: await s.db.org(access.orgId, (q) => listSkills(q, access.orgId)) };
    },
  );

  app.get(
    '/api/orgs/:orgId/skills/:name',
    {
      config: { orgAction: 'skills.read' },
      schema: {
        tags: ['skills'],
        security: bearer,
        summary: 'Every version of one skill, newest first',
        params: z.object({ orgId: z.uuid(), name: skillName }),
        response: { 200: z.object({ name: z.string(), versions: z.array(versionView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const versions = await s.db.org(access.orgId, (q) =>
        skillVersions(q, access.orgId, request.params.name),
      );
      if (versions.length === 0) throw new AppError('not_found', 'Skill not found');
      return { name: request.params.name, versions };
    },
  );

  app.get(
    '/api/orgs/:orgId/runtime-telemetry',
    {
      config: { orgAction: 'skills.read' },
      schema: {
        tags: ['skills'],
        security: bearer,
        summary: 'Telemetry events from this org’s runtimes, newest first',
        params: orgParams,
        querystring: z.strictObject({
          skill: skillName.optional(),
          before: z.iso.datetime({ offset: true }).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const { skill, before, limit } = request.query;
      return {
        events: await s.db.org(access.orgId, (q) => listTelemetry(q, access.orgId, { skill, before, limit })),
      };
    },
  );

  // ---- runtime token routes: sync and telemetry of the token's own org, nothing else ----

  app.get(
    '/api/runtime/skills',
    {
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary: 'Per skill, the newest version signed by a key the org still trusts',
        response: { 200: z.object({ skills: z.array(versionView.extend({ name: z.string() })) }) },
      },
    },
    async (request) => {
      const p = await s.auth.runtime(request);
      return { skills: await s.db.org(p.orgId, (q) => runtimeCatalog(q, p.orgId)) };
    },
  );

  app.get(
    '/api/runtime/signing-keys',
    {
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary:
          'The org’s signing keys (raw Ed25519, base64url) with revocation status; runtimes pin them on first sync',
        response: {
          200: z.object({
            keys: z.array(z.object({ keyId: z.string(), publicKey: z.string(), revoked: z.boolean() })),
          }),
        },
      },
    },
    async (request) => {
      const p = await s.auth.runtime(request);
      const rows = await s.db.org(p.orgId, (q) => listSigningKeys(q, p.orgId));
      return {
        keys: rows.map((r) => ({ keyId: r.key_id, publicKey: r.public_key, revoked: r.revoked_at !== null })),
      };
    },
  );

  app.get(
    '/api/runtime/skills/:name/package',
    {
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary:
          'Download a package (application/octet-stream): the newest trusted version, or ?version=N. Verify before use.',
        params: z.object({ name: skillName }),
        querystring: z.strictObject({ version: z.coerce.number().int().min(1).max(MAX_VERSION).optional() }),
      },
    },
    async (request, reply) => {
      const p = await s.auth.runtime(request);
      const pkg = await s.db.org(p.orgId, (q) =>
        packageContent(q, p.orgId, request.params.name, request.query.version),
      );
      if (!pkg) throw new AppError('not_found', 'Skill package not found');
      return reply
        .header('content-type', 'application/octet-stream')
        .header('x-rampart-skill-version', String(pkg.version))
        .header('x-rampart-package-sha256', pkg.sha256)
        .header('cache-control', 'no-store')
        .send(pkg.content);
    },
  );

  app.post(
    '/api/runtime/telemetry',
    {
      bodyLimit: TELEMETRY_BODY_LIMIT,
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary: `Compact run metadata (at most ${MAX_EVENTS_PER_BATCH} events, ${TELEMETRY_BODY_LIMIT / 1024} KiB); unknown fields refuse the batch`,
        body: telemetryBatch,
        response: { 202: z.object({ accepted: z.number() }) },
      },
      // Authenticate before the body is read and validated: anonymous callers learn nothing about the schema.
      onRequest: async (request) => {
        await s.auth.runtime(request);
      },
    },
    async (request, reply) => {
      const p = await s.auth.runtime(request);
      await take(telemetryLimiter, p.tokenId, 'Too many telemetry batches');
      const accepted = await s.db.org(p.orgId, (q) =>
        ingestTelemetry(q, p.orgId, p.tokenId, request.body.events, new Date()),
      );
      return reply.code(202).send({ accepted });
    },
  );
}
