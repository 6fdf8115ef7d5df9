/**
 * The pieces of the OAuth 2.0 Device Authorization Grant (RFC 8628) that `rampart login` uses, kept apart from
 * the routes so they can be read (and tested) on their own: codes, their normalisation, and the form parser.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError, type ErrorCode } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import type { App } from '../../platform/http.js';
import { recordAccountEvent } from '../accounts/events.js';
import type { IdentityServices } from '../services.js';

/** The only client allowed to start a device authorization. */
export const CLI_CLIENT_ID = 'rampart-cli';
export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** Seconds a device code (and its user code) lives: RFC 8628 leaves it to the server; 10 minutes. */
export const DEVICE_CODE_TTL_SECONDS = 600;
/** The minimum polling interval given to the client, raised by 5 s on each `slow_down`. */
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
export const SLOW_DOWN_STEP_SECONDS = 5;
export const MAX_POLL_INTERVAL_SECONDS = 60;
/**
 * A poll this much earlier than the interval still counts as on time: the client sleeps the interval after the
 * previous answer, so only clock granularity separates an honest client from the limit.
 */
export const POLL_GRACE_SECONDS = 0.5;

/**
 * Consonants only (RFC 8628 §6.1): no vowels, so no words; no look-alikes such as 0/O or 1/I. 20^8 ≈ 2^34.6
 * codes, live for 10 minutes, and wrong guesses are rate-limited per user and per IP.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/;

/** A fresh user code, as stored (8 letters, no dash), from the OS CSPRNG without modulo bias. */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** How a person sees it: `XXXX-XXXX`. */
export const displayUserCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`;

/** What a person typed, as stored: case, spaces and dashes ignored. `null` when it cannot be a user code. */
export function normalizeUserCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  return USER_CODE.test(code) ? code : null;
}

/** A device code: 32 random bytes, base64url. Only its SHA-256 is stored. */
export function newDeviceCode(): { code: string; hash: string } {
  const code = randomBytes(32).toString('base64url');
  return { code, hash: hashDeviceCode(code) };
}

export const hashDeviceCode = (code: string): string => hashSecret('device-code', code);

/** A user agent fit to store and show: printable ASCII only, clipped. */
export function cleanAgent(agent: string | undefined, max = 300): string | null {
  if (!agent) return null;
  const clean = agent
    .replace(/[^\x20-\x7e]/g, '?')
    .trim()
    .slice(0, max);
  return clean || null;
}

/**
 * An OAuth error (RFC 6749 §5.2): `{ error, error_description }` as OAuth clients expect, plus the `message` every
 * Rampart error carries (the error handler adds it and the request id).
 */
export const oauthError = (code: ErrorCode, description: string): AppError =>
  new AppError(code, description, { details: { error_description: description } });

/**
 * Adds an `application/x-www-form-urlencoded` parser to an encapsulated scope: what RFC 8628 clients send to the
 * device and token endpoints. Only the routes in that scope accept forms; every other route still refuses them
 * (415). A parameter given twice is refused (RFC 6749 §3.1).
 */
export function acceptForms(scope: App): void {
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      const out: Record<string, string> = Object.create(null);
      for (const [k, v] of new URLSearchParams(body as string)) {
        if (Object.hasOwn(out, k)) {
          done(new AppError('validation_failed', 'Each parameter may appear only once'), undefined);
          return;
        }
        out[k] = v;
      }
      done(null, out);
    },
  );
}

/**
 * Records an event about a user's own CLI access in their account-event stream and the platform chain, like
 * every account event (never in an org's audit log). Never codes or tokens in `meta`.
 */
export async function auditUserEvent(
  s: IdentityServices,
  userId: string,
  actor: AuditActor,
  action: string,
  target: string,
  meta: Record<string, unknown>,
): Promise<void> {
  await recordAccountEvent(s.db, userId, actor, action, target, meta);
}
