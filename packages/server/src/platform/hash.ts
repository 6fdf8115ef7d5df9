import { createHash } from 'node:crypto';

/**
 * The bytes each use hashes in front of its value. One label per use, so a hash names what it is for, and a new
 * use picks its own label instead of another `createHash('sha256')` helper.
 *
 * Every label here maps to the bytes its use hashed before this function existed, so the hashes stored in the
 * database (and the limiter keys in Redis) stay valid: the one-time secrets (`''`) were plain SHA-256 of the
 * token, and the limiter keys carried their own prefix (`user:`, `oidc:`). Changing an entry changes what is
 * stored: every outstanding reset link, refresh cookie, invitation or checkout would stop working. Uses with an
 * empty prefix are still kept apart: each lives in its own column (or limiter), and a one-time secret is 256 (or
 * 192) random bits, so no value of one use is a meaningful input to another. A new use should take a new label
 * with its own prefix, `rampart-<use>-v1:`.
 */
const PREFIX = {
  /** password_resets.token_hash: the mailed reset token. */
  'password-reset': '',
  /** email_verifications.token_hash: the mailed e-mail verification token. */
  'email-verification': '',
  /** email_changes.token_hash: the token mailed to the new address of an e-mail change. */
  'email-change': '',
  /** org_invitations.token_hash: the mailed invitation token. */
  invitation: '',
  /** refresh_tokens.token_hash: the dashboard's `rrt_` refresh token. */
  'refresh-token': '',
  /** device_authorizations.device_code_hash: the RFC 8628 device code `rampart login` polls with. */
  'device-code': '',
  /** oidc_login_states.state_hash: the OAuth `state` of a sign-in in flight. */
  'oidc-state': '',
  /** oidc_login_states/oidc_login_results.binding_hash: the browser-binding cookie of a sign-in in flight. */
  'oidc-binding': '',
  /** oidc_login_results.code_hash: the one-time code the dashboard redeems for the sign-in's result. */
  'oidc-result': '',
  /** billing_nonces.nonce_hash: the checkout nonce the payment provider echoes in its webhook. */
  'billing-nonce': '',
  /** Login throttle and forgot-password limiter key of a (normalised) e-mail address: no address in Redis. */
  'account-email': '',
  /** Throttle key of a signed-in user's re-authentication (password re-check). */
  'reauth-user': 'user:',
  /** Throttle key of the second factor of a provider sign-in. */
  'oidc-user': 'oidc:',
  /** Invitation limiter key of an org and invited address, `${orgId}:${email}`. */
  'invite-address': '',
} as const;

export type HashLabel = keyof typeof PREFIX;

/** SHA-256, hex, of `value` under the label's prefix (see {@link PREFIX}); the same value for the same input. */
export function hashSecret(label: HashLabel, value: string): string {
  return createHash('sha256').update(`${PREFIX[label]}${value}`, 'utf8').digest('hex');
}
