/**
 * Sign-in with OpenID Connect: authorization-code flow with PKCE (S256), `state` and `nonce`, on openid-client
 * (a certified relying-party library). The ID token's signature (provider JWKS), `iss`, `aud`, `exp` and
 * `nonce` are all checked by openid-client; this module only decides what an identity maps to.
 *
 * Accounts: an identity already linked signs its user in. A first sign-in with an e-mail no account uses creates
 * the account and its first org (as signup does). An e-mail an account already uses is linked only when the
 * provider asserts `email_verified` AND the user proves control of the account (signed in when starting a
 * link, or the account's password, and its TOTP when enabled). An unverified IdP e-mail can never take over.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { open, seal } from '@rampart/core/seal';
import * as oidc from 'openid-client';
import type { Agent } from 'undici';
import { fetch as undiciFetch } from 'undici';
import type { Queryable } from '../db/types.js';
import { enqueueMail } from '../mail/outbox.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { hashSecret } from '../platform/hash.js';
import { newId } from '../platform/ids.js';
import { insertOrgWithOwner } from '../tenancy/orgs.js';
import type { IdentityServices } from './services.js';

export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const BINDING_COOKIE = 'rampart_oidc';
const STATE_TTL_MS = 10 * 60_000;
const RESULT_TTL_MS = 2 * 60_000;
/** Seconds of clock difference tolerated on ID token `exp`/`iat`/`nbf` (openid-client's default is 30). */
export const OIDC_CLOCK_TOLERANCE_S = 5;

const random = () => randomBytes(32).toString('base64url');

export interface OidcServices extends IdentityServices {
  outbound: Agent;
}

export interface ProviderRow {
  id: string;
  name: string;
  display_name: string;
  issuer: string;
  client_id: string;
  client_secret_sealed: string;
  client_secret_masked: string;
  updated_at: Date;
}

/** Why a sign-in failed, for the dashboard (a code, never the provider's raw error). */
export class OidcRefusal extends Error {
  constructor(
    readonly reason:
      | 'unknown_provider'
      | 'state_invalid'
      | 'browser_mismatch'
      | 'provider_error'
      | 'token_invalid'
      | 'email_missing'
      | 'email_not_verified'
      | 'already_linked',
    message: string,
  ) {
    super(message);
  }
}

export const redirectUri = (publicUrl: string) => `${publicUrl.replace(/\/$/, '')}/api/auth/oidc/callback`;

/** An issuer must be https; plain http is accepted for loopback hosts only (local development and tests). */
export function issuerProblem(issuer: string): string | null {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    return 'the issuer must be a URL';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return null;
  return 'the issuer must use https';
}

/** Discovered provider configurations, cached per provider version (an edit re-discovers). */
export class OidcClients {
  readonly #cache = new Map<string, Promise<oidc.Configuration>>();
  constructor(private readonly s: OidcServices) {}

  config(row: ProviderRow): Promise<oidc.Configuration> {
    const key = `${row.id}:${row.updated_at.getTime()}`;
    let pending = this.#cache.get(key);
    if (!pending) {
      pending = this.#discover(row);
      pending.catch(() => this.#cache.delete(key));
      this.#cache.set(key, pending);
    }
    return pending;
  }

  async #discover(row: ProviderRow): Promise<oidc.Configuration> {
    const secret = open(this.s.ring, row.client_secret_sealed, {
      orgId: null,
      table: 'oidc_providers',
      column: 'client_secret_sealed',
      rowId: row.id,
    }).toString('utf8');
    const agent = this.s.outbound;
    // Every request to the provider (discovery, JWKS, token) goes through the outbound guard.
    const guarded: oidc.CustomFetch = (url, options) =>
      undiciFetch(url, { ...(options as object), dispatcher: agent }) as unknown as Promise<Response>;
    const insecure = new URL(row.issuer).protocol === 'http:';
    const metadata: Partial<oidc.ClientMetadata> = {
      client_secret: secret,
      [oidc.clockTolerance]: OIDC_CLOCK_TOLERANCE_S,
    };
    const config = await oidc.discovery(
      new URL(row.issuer),
      row.client_id,
      metadata,
      oidc.ClientSecretBasic(secret),
      {
        [oidc.customFetch]: guarded,
        timeout: 10,
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      },
    );
    config[oidc.customFetch] = guarded;
    return config;
  }

  forget(): void {
    this.#cache.clear();
  }
}

const PROVIDER_COLUMNS =
  'id, name, display_name, issuer, client_id, client_secret_sealed, client_secret_masked, updated_at';

export async function providerByName(q: Queryable, name: string): Promise<ProviderRow | undefined> {
  const { rows } = await q.query<ProviderRow>(
    `SELECT ${PROVIDER_COLUMNS} FROM oidc_providers WHERE name = $1`,
    [name],
  );
  return rows[0];
}

export async function listProviders(q: Queryable): Promise<ProviderRow[]> {
  return (await q.query<ProviderRow>(`SELECT ${PROVIDER_COLUMNS} FROM oidc_providers ORDER BY name`)).rows;
}

/** Creates or replaces a provider; the client secret is sealed, and kept when not given on an update. */
export async function saveProvider(
  s: OidcServices,
  actor: AuditActor,
  input: {
    name: string;
    displayName: string;
    issuer: string;
    clientId: string;
    clientSecret?: string | undefined;
  },
): Promise<ProviderRow> {
  return s.db.platform(async (q) => {
    const existing = await providerByName(q, input.name);
    // A subject is unique only within its issuer: links made under one issuer must never sign in under another.
    if (existing && existing.issuer !== input.issuer)
      throw new AppError(
        'conflict',
        'To change a provider’s issuer, delete the provider and add it again (its linked identities are removed)',
      );
    if (!existing && !input.clientSecret)
      throw new AppError('validation_failed', 'clientSecret is required for a new provider', {
        details: { issues: [{ in: 'body', path: '/clientSecret', message: 'required' }] },
      });
    const id = existing?.id ?? newId();
    const sealed = input.clientSecret
      ? seal(s.ring, input.clientSecret, {
          orgId: null,
          table: 'oidc_providers',
          column: 'client_secret_sealed',
          rowId: id,
        })
      : (existing?.client_secret_sealed ?? '');
    const masked = input.clientSecret
      ? maskSecret(input.clientSecret)
      : (existing?.client_secret_masked ?? '');
    const { rows } = await q.query<ProviderRow>(
      `INSERT INTO oidc_providers (id, name, display_name, issuer, client_id, client_secret_sealed, client_secret_masked)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (name) DO UPDATE SET display_name = $3, issuer = $4, client_id = $5, client_secret_sealed = $6,
         client_secret_masked = $7, updated_at = now()
       RETURNING ${PROVIDER_COLUMNS}`,
      [id, input.name, input.displayName, input.issuer, input.clientId, sealed, masked],
    );
    await appendAudit(q, actor, {
      orgId: null,
      action: existing ? 'oidc.provider_updated' : 'oidc.provider_created',
      target: `oidc_provider:${id}`,
      meta: { name: input.name, issuer: input.issuer, clientId: input.clientId },
    });
    return rows[0] as ProviderRow;
  });
}

const maskSecret = (v: string) => (v.length <= 8 ? '••••' : `${v.slice(0, 2)}••••${v.slice(-2)}`);

/**
 * Starts a sign-in (or, with `linkUserId`, a link of the signed-in user): records state, nonce and the sealed
 * PKCE verifier, bound to a random browser value the caller sets as an HttpOnly cookie.
 */
export async function startSignIn(
  s: OidcServices,
  clients: OidcClients,
  providerName: string,
  linkUserId: string | null,
): Promise<{ authorizationUrl: string; binding: string }> {
  const provider = await s.db.platform((q) => providerByName(q, providerName));
  if (!provider) throw new AppError('not_found', 'No such sign-in provider');
  let config: oidc.Configuration;
  try {
    config = await clients.config(provider);
  } catch (err) {
    s.logger.error({ err, provider: provider.name }, 'OIDC discovery failed');
    throw new AppError('bad_gateway', 'The sign-in provider could not be reached');
  }
  // Expired sign-ins are not kept: each start clears what is more than an hour past its expiry.
  await s.db.platform(async (q) => {
    await q.query("DELETE FROM oidc_login_states WHERE expires_at < now() - interval '1 hour'");
    await q.query("DELETE FROM oidc_login_results WHERE expires_at < now() - interval '1 hour'");
  });
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const verifier = oidc.randomPKCECodeVerifier();
  const binding = random();
  const id = newId();
  await s.db.platform((q) =>
    q.query(
      `INSERT INTO oidc_login_states (id, state_hash, provider_id, nonce, code_verifier_sealed, binding_hash, link_user_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        hashSecret('oidc-state', state),
        provider.id,
        nonce,
        seal(s.ring, verifier, {
          orgId: null,
          table: 'oidc_login_states',
          column: 'code_verifier_sealed',
          rowId: id,
        }),
        hashSecret('oidc-binding', binding),
        linkUserId,
        new Date(Date.now() + STATE_TTL_MS),
      ],
    ),
  );
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri(s.publicUrl),
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { authorizationUrl: url.href, binding };
}

interface StateRow {
  id: string;
  provider_id: string;
  nonce: string;
  code_verifier_sealed: string;
  binding_hash: string;
  link_user_id: string | null;
}

const sameHash = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The provider's redirect back: consumes the state (single use, unexpired, same browser), redeems the code with
 * the PKCE verifier, lets openid-client verify the ID token, then maps the identity to an account. Returns a
 * one-time code the dashboard exchanges for a session.
 * @throws OidcRefusal
 */
export async function finishSignIn(
  s: OidcServices,
  clients: OidcClients,
  actor: AuditActor,
  callbackUrl: URL,
  binding: string | undefined,
): Promise<{ code: string; outcome: 'session' | 'link_required' }> {
  const state = callbackUrl.searchParams.get('state');
  if (!state) throw new OidcRefusal('state_invalid', 'The sign-in response has no state');
  const consumed = await s.db.platform((q) =>
    q.query<StateRow>(
      `UPDATE oidc_login_states SET consumed_at = now()
        WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > now()
        RETURNING id, provider_id, nonce, code_verifier_sealed, binding_hash, link_user_id`,
      [hashSecret('oidc-state', state)],
    ),
  );
  const row = consumed.rows[0];
  if (!row)
    throw new OidcRefusal('state_invalid', 'This sign-in is unknown, expired or already used; start again');
  if (!binding || !sameHash(hashSecret('oidc-binding', binding), row.binding_hash))
    throw new OidcRefusal(
      'browser_mismatch',
      'This sign-in was started in another browser; start again here',
    );
  if (callbackUrl.searchParams.has('error'))
    throw new OidcRefusal('provider_error', 'The sign-in provider refused or cancelled the sign-in');
  const provider = await s.db.platform(async (q) => {
    const r = await q.query<ProviderRow>(`SELECT ${PROVIDER_COLUMNS} FROM oidc_providers WHERE id = $1`, [
      row.provider_id,
    ]);
    return r.rows[0];
  });
  if (!provider) throw new OidcRefusal('unknown_provider', 'The sign-in provider was removed');
  const verifier = open(s.ring, row.code_verifier_sealed, {
    orgId: null,
    table: 'oidc_login_states',
    column: 'code_verifier_sealed',
    rowId: row.id,
  }).toString('utf8');
  let claims: oidc.IDToken;
  try {
    const config = await clients.config(provider);
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: row.nonce,
      idTokenExpected: true,
    });
    const c = tokens.claims();
    if (!c) throw new Error('no ID token');
    claims = c;
    // Some providers put e-mail only in UserInfo (OpenID Connect Core §5.4): ask it, bound to the same subject.
    if (claims.email === undefined) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      claims = {
        ...claims,
        email: info.email,
        email_verified: info.email_verified,
        name: claims.name ?? info.name,
      };
    }
  } catch (err) {
    // The library's message may quote tokens or claims: log the kind, show a fixed text.
    s.logger.warn(
      { provider: provider.name, reason: (err as Error).name, code: (err as { code?: string }).code },
      'OIDC sign-in refused',
    );
    throw new OidcRefusal('token_invalid', 'The sign-in provider’s answer did not verify; start again');
  }
  return mapIdentity(s, actor, provider, row, claims, binding);
}

async function mapIdentity(
  s: OidcServices,
  actor: AuditActor,
  provider: ProviderRow,
  state: StateRow,
  claims: oidc.IDToken,
  binding: string,
): Promise<{ code: string; outcome: 'session' | 'link_required' }> {
  const subject = claims.sub;
  if (subject.length > 255) throw new OidcRefusal('token_invalid', 'The provider sent an unusable subject');
  const raw = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : null;
  // What users.email accepts: anything else is treated as no address at all.
  const email = raw && raw.length >= 3 && raw.length <= 254 && raw.includes('@') ? raw : null;
  const verified = claims.email_verified === true;
  const linked = await s.db.platform((q) =>
    q.query<{ user_id: string }>(
      'SELECT user_id FROM oidc_identities WHERE provider_id = $1 AND subject = $2',
      [provider.id, subject],
    ),
  );
  let userId = linked.rows[0]?.user_id ?? null;
  let outcome: 'session' | 'link_required' = 'session';
  if (state.link_user_id) {
    // Linking from a signed-in session: the user proved control of the account; the provider must verify.
    if (userId && userId !== state.link_user_id)
      throw new OidcRefusal('already_linked', 'This identity is already linked to another account');
    if (!verified)
      throw new OidcRefusal('email_not_verified', 'The provider did not verify this e-mail address');
    if (!userId) await linkIdentity(s, actor, provider, subject, email, state.link_user_id);
    userId = state.link_user_id;
  } else if (!userId) {
    if (!email) throw new OidcRefusal('email_missing', 'The provider shared no e-mail address');
    if (!verified)
      throw new OidcRefusal('email_not_verified', 'The provider did not verify this e-mail address');
    const existing = await s.db.platform((q) =>
      q.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]),
    );
    if (existing.rows[0]) outcome = 'link_required';
    else {
      try {
        userId = await createOidcAccount(s, actor, provider, subject, email, claims);
      } catch (err) {
        // Two callbacks for the same new identity at once: the second loses the unique race.
        if ((err as { code?: string }).code === '23505')
          throw new OidcRefusal('already_linked', 'This sign-in is already being completed; sign in again');
        throw err;
      }
    }
  }
  const code = random();
  await s.db.platform((q) =>
    q.query(
      `INSERT INTO oidc_login_results (id, code_hash, binding_hash, outcome, user_id, provider_id, subject, email, email_verified, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        newId(),
        hashSecret('oidc-result', code),
        hashSecret('oidc-binding', binding),
        outcome,
        userId,
        provider.id,
        subject,
        email,
        verified,
        new Date(Date.now() + RESULT_TTL_MS),
      ],
    ),
  );
  return { code, outcome };
}

async function linkIdentity(
  s: OidcServices,
  actor: AuditActor,
  provider: ProviderRow,
  subject: string,
  email: string | null,
  userId: string,
): Promise<void> {
  const inserted = await s.db.platform(async (q) => {
    const ins = await q.query(
      `INSERT INTO oidc_identities (id, provider_id, subject, user_id, email) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider_id, subject) DO NOTHING`,
      [newId(), provider.id, subject, userId, email],
    );
    // Security notice to the account's own address, committed with the link.
    const owner = await q.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [userId]);
    const to = owner.rows[0]?.email;
    if (ins.rowCount === 1 && to)
      await enqueueMail(q, s.ring, {
        to,
        userId,
        template: {
          kind: 'security_notice',
          event: 'provider_linked',
          at: new Date().toISOString(),
          detail: provider.display_name,
        },
      });
    return ins;
  });
  if (inserted.rowCount === 0)
    throw new OidcRefusal('already_linked', 'This identity is already linked to another account');
  const { auditAccountEvent } = await import('./accounts.js');
  await auditAccountEvent(s, userId, { ...actor, userId }, 'auth.oidc_linked', { provider: provider.name });
}

async function createOidcAccount(
  s: OidcServices,
  actor: AuditActor,
  provider: ProviderRow,
  subject: string,
  email: string,
  claims: oidc.IDToken,
): Promise<string> {
  const userId = newId();
  const orgId = newId();
  const given = typeof claims.name === 'string' ? claims.name.trim().slice(0, 80) : '';
  const orgName = given ? `${given}'s organization` : `${email.split('@')[0]}'s organization`;
  await s.db.tx({ orgId, userId }, async (q) => {
    const inserted = await q.query(
      // The provider asserted email_verified (checked before this is called): the address is proved.
      'INSERT INTO users (id, email, password_hash, email_verified_at) VALUES ($1, $2, NULL, now()) ON CONFLICT (email) DO NOTHING',
      [userId, email],
    );
    if (inserted.rowCount === 0)
      throw new OidcRefusal('already_linked', 'An account with this e-mail was just created; sign in again');
    await insertOrgWithOwner(q, orgId, userId, orgName);
    await q.query(
      'INSERT INTO oidc_identities (id, provider_id, subject, user_id, email) VALUES ($1, $2, $3, $4, $5)',
      [newId(), provider.id, subject, userId, email],
    );
    const a = { ...actor, userId };
    await appendAudit(q, a, {
      orgId,
      action: 'user.signed_up',
      target: `user:${userId}`,
      meta: { method: 'oidc', provider: provider.name },
    });
    await appendAudit(q, a, { orgId, action: 'org.created', target: `org:${orgId}` });
  });
  return userId;
}

export interface ResultRow {
  id: string;
  binding_hash: string;
  outcome: 'session' | 'link_required';
  user_id: string | null;
  provider_id: string;
  subject: string;
  email: string | null;
  email_verified: boolean;
}

/** Reads (without consuming) an unexpired, unconsumed result, checking it belongs to this browser. */
export async function pendingResult(
  s: OidcServices,
  code: string,
  binding: string | undefined,
): Promise<ResultRow> {
  const { rows } = await s.db.platform((q) =>
    q.query<ResultRow>(
      `SELECT id, binding_hash, outcome, user_id, provider_id, subject, email, email_verified FROM oidc_login_results
        WHERE code_hash = $1 AND consumed_at IS NULL AND expires_at > now()`,
      [hashSecret('oidc-result', code)],
    ),
  );
  const r = rows[0];
  if (!r || !binding || !sameHash(hashSecret('oidc-binding', binding), r.binding_hash))
    throw new AppError(
      'invalid_credentials',
      'This sign-in is unknown, expired or already used; start again',
    );
  return r;
}

/** Consumes a result exactly once. @throws AppError invalid_credentials when someone else consumed it first */
export async function consumeResult(s: OidcServices, id: string): Promise<void> {
  const upd = await s.db.platform((q) =>
    q.query('UPDATE oidc_login_results SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL', [id]),
  );
  if (upd.rowCount === 0)
    throw new AppError('invalid_credentials', 'This sign-in was already used; start again');
}

export { linkIdentity };
