import { hashToken, parseToken } from '@rampart/core/apikeys';
import { type SessionKeyRing, TokenError, verifySession } from '@rampart/core/tokens';
import type { FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';
import { AppError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import type { InvalidationKind, Invalidations } from '../platform/invalidation.js';
import { apiKeyScopeOf, orgActionOf } from '../platform/org-routes.js';
import type { Region } from '../platform/params.js';
import { type Action, can, isRole, type Role } from '../platform/permissions.js';
import { TtlCache } from '../platform/ttl-cache.js';
import type {
  ApiKeyPrincipal,
  ApiKeyScope,
  CliPrincipal,
  OrgAccess,
  OrgReader,
  Principal,
  RuntimePrincipal,
  SessionPrincipal,
} from './principal.js';

/** How long another node may keep serving a revoked key from its cache. Documented in docs/SECURITY-CONTROLS.md. */
export const CREDENTIAL_CACHE_TTL_MS = 5_000;
const LAST_USED_RESOLUTION_MS = 60_000;
/** What a member of a suspended org may still do: read. */
const READ_METHODS = new Set(['GET', 'HEAD']);

const unauthorized = (msg = 'Missing or invalid credentials') => new AppError('unauthorized', msg);
const orgNotFound = () => new AppError('not_found', 'Org not found');
/** What every credential of a suspended org, and every write to it, answers (tenancy/support.ts suspends). */
export const orgSuspended = () =>
  new AppError('org_suspended', 'This organization is suspended; contact support');

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

interface KeyRow {
  id: string;
  org_id: string;
  redaction: 'inherit' | 'on' | 'off';
  redaction_mode: 'mask' | 'reversible' | null;
  redact_completions: boolean | null;
  region: Region | null;
  revoked: boolean;
  last_used_at: Date | null;
  scopes: ApiKeyScope[];
  created_by: string | null;
  org_suspended: boolean;
}

/**
 * Turns `Authorization: Bearer ...` into a principal. Session JWTs are re-checked against the user row on every
 * request (token generation, revoked jti, and the sign-in family they name: see accounts/refresh.ts); API keys and runtime tokens are looked up by hash through narrow
 * SECURITY DEFINER functions, CLI credentials by hash in their platform table; all three are cached for at most
 * {@link CREDENTIAL_CACHE_TTL_MS}. An API key or runtime token of a suspended org (tenancy/support.ts) answers 403
 * org_suspended; a member session may only read a suspended org ({@link requireOrg}).
 */
export class Authenticator {
  readonly #db: Database;
  readonly #jwtKeys: SessionKeyRing;
  readonly #keys = new TtlCache<ApiKeyPrincipal & { lastUsed: number; suspended: boolean }>(
    CREDENTIAL_CACHE_TTL_MS,
  );
  readonly #runtime = new TtlCache<RuntimePrincipal & { suspended: boolean }>(CREDENTIAL_CACHE_TTL_MS);
  readonly #cli = new TtlCache<CliPrincipal & { lastUsed: number; expiresAt: number }>(
    CREDENTIAL_CACHE_TTL_MS,
  );

  constructor(db: Database, jwtKeys: SessionKeyRing) {
    this.#db = db;
    this.#jwtKeys = jwtKeys;
  }

  static bearer(request: FastifyRequest): string | null {
    const h = request.headers.authorization;
    if (!h) return null;
    const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(h);
    return m?.[1] ?? null;
  }

  /** @throws AppError unauthorized */
  async principal(request: FastifyRequest): Promise<Principal> {
    if (request.principal) return request.principal;
    const token = Authenticator.bearer(request);
    if (!token) throw unauthorized();
    const parsed = parseToken(token);
    let p: Principal;
    if (parsed?.kind === 'rk') p = await this.#apiKey(token);
    else if (parsed?.kind === 'rt') p = await this.#runtimeToken(token);
    else if (parsed?.kind === 'cli') p = await this.#cliCredential(token);
    else if (parsed) throw unauthorized('This credential type is not accepted here');
    else p = await this.#session(token);
    request.principal = p;
    return p;
  }

  /** A dashboard session and nothing else (API keys, runtime tokens and CLI credentials are refused). */
  async session(request: FastifyRequest): Promise<SessionPrincipal> {
    const p = await this.principal(request);
    if (p.kind !== 'session') throw unauthorized('This route needs a dashboard session');
    return p;
  }

  /**
   * An org API key and nothing else; with `scope`, one that carries it (403 forbidden otherwise).
   * @throws AppError unauthorized | forbidden
   */
  async apiKey(request: FastifyRequest, scope?: ApiKeyScope): Promise<ApiKeyPrincipal> {
    const p = await this.principal(request);
    if (p.kind !== 'api_key') throw unauthorized('This route needs an API key');
    if (scope) requireScope(p, scope);
    return p;
  }

  /**
   * {@link apiKey}, also taking the key from an `x-api-key` header, as Anthropic's clients send it. Only for the
   * Anthropic-compatible routes (`POST /v1/messages`, `/v1/messages/count_tokens`): every other route reads
   * `Authorization` alone. Only an
   * API key is accepted there; with both headers they must carry the same key.
   * @throws AppError unauthorized | forbidden
   */
  async apiKeyOrXApiKey(request: FastifyRequest, scope?: ApiKeyScope): Promise<ApiKeyPrincipal> {
    const header = request.headers['x-api-key'];
    if (header === undefined) return this.apiKey(request, scope);
    if (typeof header !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(header)) throw unauthorized();
    if (request.headers.authorization !== undefined && Authenticator.bearer(request) !== header)
      throw unauthorized('Send one API key: x-api-key and Authorization differ');
    if (parseToken(header)?.kind !== 'rk') throw unauthorized('This route needs an API key');
    const p = await this.#apiKey(header);
    request.principal = p;
    if (scope) requireScope(p, scope);
    return p;
  }

  /** A runtime token and nothing else: runtimes never reach dashboard routes, and sessions never reach these. */
  async runtime(request: FastifyRequest): Promise<RuntimePrincipal> {
    const p = await this.principal(request);
    if (p.kind !== 'runtime') throw unauthorized('This route needs a runtime token');
    return p;
  }

  /** A CLI credential and nothing else: the CLI's own routes (whoami, logout); sessions never reach these. */
  async cli(request: FastifyRequest): Promise<CliPrincipal> {
    const p = await this.principal(request);
    if (p.kind !== 'cli') throw unauthorized('This route needs a CLI credential (rampart login)');
    return p;
  }

  /**
   * The caller's role in the route's `:orgId`, re-read now (a removed member or changed role takes effect on the
   * next request). Not a member, or not a UUID: 404, so org ids cannot be probed. Role lacks the action: 403.
   * The action is the route's `config.orgAction`; pass `action` only where the route documents that the request
   * picks another one (leaving an org).
   * @throws AppError unauthorized | not_found | forbidden | internal_error (the route declares no orgAction)
   */
  async requireOrg(request: FastifyRequest, action: Action = orgActionOf(request)): Promise<OrgAccess> {
    const principal = await this.session(request);
    const orgId = (request.params as { orgId?: unknown }).orgId;
    if (typeof orgId !== 'string' || !isUuid(orgId)) throw orgNotFound();
    const m = await this.#membership(orgId, principal.userId);
    if (!m) throw orgNotFound();
    // A suspended org stays readable by its members (the dashboard shows why); every write is refused here,
    // the one place every org route's session passes through.
    if (m.suspended && !READ_METHODS.has(request.method)) throw orgSuspended();
    if (!can(m.role, action)) throw new AppError('forbidden', `Your role (${m.role}) cannot do this`);
    return { orgId, role: m.role, principal };
  }

  /**
   * {@link requireOrg}, also admitting an org API key where the route declares `config.apiKeyScope`. The key must
   * belong to the route's org (any other org: 404, as for a non-member, so org ids cannot be probed with a key),
   * carry the scope (403), and its creator must still be a member whose role holds the route's action (403): a key
   * never reads more than the person who made it, and demoting or removing them stops their keys at the next
   * request. On a route without `apiKeyScope`, and for runtime tokens and CLI credentials: 401 as for requireOrg.
   * @throws AppError unauthorized | not_found | forbidden | internal_error (the route declares no orgAction)
   */
  async requireOrgOrKey(request: FastifyRequest): Promise<OrgReader> {
    const scope = apiKeyScopeOf(request);
    const p = await this.principal(request);
    if (p.kind !== 'api_key' || scope === undefined) return this.requireOrg(request);
    const action = orgActionOf(request);
    const orgId = (request.params as { orgId?: unknown }).orgId;
    if (typeof orgId !== 'string' || !isUuid(orgId) || p.orgId !== orgId) throw orgNotFound();
    requireScope(p, scope);
    const role = p.createdBy ? await this.roleOf(orgId, p.createdBy) : undefined;
    if (!role || !can(role, action))
      throw new AppError('forbidden', `This API key's creator can no longer do this (${action})`);
    return { orgId, role, principal: p };
  }

  /** A member's role and whether the org is suspended, read now in one statement; undefined when not a member. */
  async #membership(orgId: string, userId: string): Promise<{ role: Role; suspended: boolean } | undefined> {
    const { rows } = await this.#db.tx({ orgId, userId }, (q) =>
      q.query<{ role: string; suspended: boolean }>(
        `SELECT m.role, o.suspended_at IS NOT NULL AS suspended
           FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.org_id = $1 AND m.user_id = $2`,
        [orgId, userId],
      ),
    );
    const r = rows[0];
    return r && isRole(r.role) ? { role: r.role, suspended: r.suspended } : undefined;
  }

  /** A user's role in an org, read now under the org's tenant context; undefined when not a member. */
  async roleOf(orgId: string, userId: string): Promise<Role | undefined> {
    if (!isUuid(orgId) || !isUuid(userId)) return undefined;
    const { rows } = await this.#db.tx({ orgId, userId }, (q) =>
      q.query<{ role: string }>('SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2', [
        orgId,
        userId,
      ]),
    );
    const role = rows[0]?.role;
    return isRole(role) ? role : undefined;
  }

  /** Platform operators with a TOTP-verified session only. */
  async requireOperator(request: FastifyRequest): Promise<SessionPrincipal> {
    const p = await this.session(request);
    if (!p.isOperator) throw new AppError('forbidden', 'Platform operators only');
    if (!p.totpEnabled || !p.amr.includes('otp')) {
      throw new AppError(
        'forbidden',
        'Operators must enrol TOTP and sign in with it before using admin routes',
      );
    }
    return p;
  }

  /** Announces revocations to every node (platform/invalidation.ts); without it they are dropped here only. */
  #inv: Invalidations | undefined;

  /** Drops this node's cached entries when any node announces a change (and everything after a bus outage). */
  useInvalidations(inv: Invalidations): void {
    this.#inv = inv;
    inv.on('api_key', (id) => this.#keys.deleteWhere((k) => k.keyId === id));
    inv.on('runtime_token', (id) => this.#runtime.deleteWhere((t) => t.tokenId === id));
    inv.on('cli_credential', (id) => this.#cli.deleteWhere((c) => c.credentialId === id));
    inv.on('org', (orgId) => {
      this.#keys.deleteWhere((k) => k.orgId === orgId);
      this.#runtime.deleteWhere((t) => t.orgId === orgId);
    });
    inv.onReset(() => {
      this.#keys.clear();
      this.#runtime.clear();
      this.#cli.clear();
    });
  }

  #forget(kind: InvalidationKind, id: string, local: () => void): Promise<void> {
    if (this.#inv) return this.#inv.announce(kind, id);
    local();
    return Promise.resolve();
  }

  /** Called on revocation: this node stops accepting the key at once, every other node on the bus message. */
  forgetApiKey(keyId: string): Promise<void> {
    return this.#forget('api_key', keyId, () => this.#keys.deleteWhere((k) => k.keyId === keyId));
  }

  forgetRuntimeToken(tokenId: string): Promise<void> {
    return this.#forget('runtime_token', tokenId, () =>
      this.#runtime.deleteWhere((t) => t.tokenId === tokenId),
    );
  }

  forgetCliCredential(credentialId: string): Promise<void> {
    return this.#forget('cli_credential', credentialId, () =>
      this.#cli.deleteWhere((c) => c.credentialId === credentialId),
    );
  }

  /** Called when an org is hard-deleted: none of its credentials may be served from any node's cache. */
  forgetOrg(orgId: string): Promise<void> {
    return this.#forget('org', orgId, () => {
      this.#keys.deleteWhere((k) => k.orgId === orgId);
      this.#runtime.deleteWhere((t) => t.orgId === orgId);
    });
  }

  async #session(token: string): Promise<SessionPrincipal> {
    let claims: Awaited<ReturnType<typeof verifySession>>;
    try {
      // The key is the one the token's kid names (no kid: the `default` key); unknown kid → 401.
      claims = await verifySession(this.#jwtKeys, token);
    } catch (err) {
      if (err instanceof TokenError)
        throw unauthorized(err.code === 'expired' ? 'Session expired; sign in again' : undefined);
      throw err;
    }
    if (!isUuid(claims.userId)) throw unauthorized();
    if (claims.sessionId !== undefined && !isUuid(claims.sessionId)) throw unauthorized();
    const { rows } = await this.#db.tx({ orgId: null, userId: claims.userId }, (q) =>
      q.query<{
        email: string;
        token_generation: number;
        is_operator: boolean;
        totp_enabled: boolean;
        email_verified: boolean;
        revoked: boolean;
        family_live: boolean;
      }>(
        // A session naming its sign-in (`sid`, every session issued since refresh families exist) also dies with
        // that family: signed out, reuse of its refresh token detected, or 30 days over.
        `SELECT u.email, u.token_generation, u.is_operator, u.totp_enabled, u.email_verified_at IS NOT NULL AS email_verified,
                EXISTS (SELECT 1 FROM revoked_sessions r WHERE r.jti = $2) AS revoked,
                ($3::uuid IS NULL OR EXISTS (
                  SELECT 1 FROM refresh_families f
                   WHERE f.id = $3::uuid AND f.user_id = u.id AND f.revoked_at IS NULL AND f.expires_at > now()
                )) AS family_live
           FROM users u WHERE u.id = $1`,
        [claims.userId, claims.jti, claims.sessionId ?? null],
      ),
    );
    const u = rows[0];
    if (!u || u.revoked || !u.family_live || u.token_generation !== claims.generation)
      throw unauthorized('Session is no longer valid; sign in again');
    return {
      kind: 'session',
      userId: claims.userId,
      email: u.email,
      isOperator: u.is_operator,
      totpEnabled: u.totp_enabled,
      emailVerified: u.email_verified,
      amr: claims.amr,
      jti: claims.jti,
      exp: claims.exp,
      ...(claims.sessionId ? { familyId: claims.sessionId } : {}),
    };
  }

  async #apiKey(key: string): Promise<ApiKeyPrincipal> {
    const hash = hashToken(key);
    const now = Date.now();
    let entry = this.#keys.get(hash, now);
    if (!entry) {
      const generation = this.#keys.generation;
      const { rows } = await this.#db.tx({ orgId: null }, (q) =>
        // The org's suspension is read with the key (orgs has no RLS) and cached with it: suspending or resuming
        // announces the 'org' invalidation, which drops every cached key of the org on every node.
        q.query<KeyRow>(
          `SELECT k.*, coalesce(o.suspended_at IS NOT NULL, false) AS org_suspended
             FROM rampart_find_api_key($1) k LEFT JOIN orgs o ON o.id = k.org_id`,
          [hash],
        ),
      );
      const r = rows[0];
      if (!r || r.revoked) throw unauthorized();
      entry = {
        kind: 'api_key',
        keyId: r.id,
        orgId: r.org_id,
        redaction: r.redaction,
        redactionMode: r.redaction_mode,
        redactCompletions: r.redact_completions,
        region: r.region,
        scopes: r.scopes,
        createdBy: r.created_by,
        lastUsed: r.last_used_at?.getTime() ?? 0,
        suspended: r.org_suspended,
      };
      this.#keys.setIfUnchanged(hash, entry, generation, now);
    }
    if (entry.suspended) throw orgSuspended();
    if (now - entry.lastUsed > LAST_USED_RESOLUTION_MS) {
      // Throttled: at most one write per key per minute per node, off the request's critical path.
      entry.lastUsed = now;
      const { keyId, orgId } = entry;
      this.#db
        .org(orgId, (q) => q.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]))
        .catch(() => {});
    }
    const { lastUsed: _, suspended: __, ...principal } = entry;
    return principal;
  }

  /**
   * CLI credentials live in a platform table (no RLS: they belong to a user, not an org), looked up by hash.
   * Revoked or expired ones are refused; a cached entry is re-checked against its expiry on every request.
   */
  async #cliCredential(token: string): Promise<CliPrincipal> {
    const hash = hashToken(token);
    const now = Date.now();
    let entry = this.#cli.get(hash, now);
    if (!entry) {
      const generation = this.#cli.generation;
      const { rows } = await this.#db.tx({ orgId: null }, (q) =>
        q.query<{ id: string; user_id: string; expires_at: Date; last_used_at: Date | null }>(
          `SELECT id, user_id, expires_at, last_used_at FROM cli_credentials
            WHERE token_hash = $1 AND revoked_at IS NULL`,
          [hash],
        ),
      );
      const r = rows[0];
      if (!r) throw unauthorized();
      entry = {
        kind: 'cli',
        credentialId: r.id,
        userId: r.user_id,
        expiresAt: r.expires_at.getTime(),
        lastUsed: r.last_used_at?.getTime() ?? 0,
      };
      this.#cli.setIfUnchanged(hash, entry, generation, now);
    }
    if (entry.expiresAt <= now) {
      this.#cli.delete(hash);
      throw unauthorized('CLI credential expired; run rampart login again');
    }
    if (now - entry.lastUsed > LAST_USED_RESOLUTION_MS) {
      // Throttled like API keys: at most one write per credential per minute per node, off the request path.
      entry.lastUsed = now;
      const { credentialId } = entry;
      this.#db
        .platform((q) =>
          q.query('UPDATE cli_credentials SET last_used_at = now() WHERE id = $1', [credentialId]),
        )
        .catch(() => {});
    }
    return { kind: 'cli', userId: entry.userId, credentialId: entry.credentialId };
  }

  async #runtimeToken(token: string): Promise<RuntimePrincipal> {
    const hash = hashToken(token);
    let entry = this.#runtime.get(hash);
    if (!entry) {
      const generation = this.#runtime.generation;
      const { rows } = await this.#db.tx({ orgId: null }, (q) =>
        q.query<{ id: string; org_id: string; revoked: boolean; org_suspended: boolean }>(
          `SELECT t.*, coalesce(o.suspended_at IS NOT NULL, false) AS org_suspended
             FROM rampart_find_runtime_token($1) t LEFT JOIN orgs o ON o.id = t.org_id`,
          [hash],
        ),
      );
      const r = rows[0];
      if (!r || r.revoked) throw unauthorized();
      entry = { kind: 'runtime', tokenId: r.id, orgId: r.org_id, suspended: r.org_suspended };
      this.#runtime.setIfUnchanged(hash, entry, generation);
    }
    if (entry.suspended) throw orgSuspended();
    return { kind: 'runtime', tokenId: entry.tokenId, orgId: entry.orgId };
  }
}

/**
 * @throws AppError forbidden when the API key does not carry `scope`
 */
export function requireScope(p: ApiKeyPrincipal, scope: ApiKeyScope): void {
  if (!p.scopes.includes(scope))
    throw new AppError('forbidden', `This API key does not have the ${scope} scope`);
}
