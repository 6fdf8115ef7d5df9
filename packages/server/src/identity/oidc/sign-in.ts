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
import { randomBytes } from 'node:crypto';
import { open, seal } from '@rampart/core/seal';
import * as oidc from 'openid-client';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { newId } from '../../platform/ids.js';
import { insertOrgWithOwner } from '../../tenancy/orgs.js';
import type { OidcClients } from './clients.js';
import { linkIdentity } from './identities.js';
import { type ProviderRow, providerById, providerByName, redirectUri } from './providers.js';
import { OidcRefusal } from './refusal.js';
import { sameHash } from './results.js';
import type { OidcServices } from './services.js';

const STATE_TTL_MS = 10 * 60_000;
const RESULT_TTL_MS = 2 * 60_000;

const random = () => randomBytes(32).toString('base64url');

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
  const provider = await s.db.platform((q) => providerById(q, row.provider_id));
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
