import { verifySync } from 'otplib';
import {
  checkSecret,
  TOTP_ALGORITHM,
  TOTP_DIGITS,
  TOTP_PERIOD_SECONDS,
  TOTP_WINDOW_STEPS,
} from './lib/params.js';

/** Options for {@link verifyTotp}. */
export interface VerifyTotpOptions {
  /** The current time in milliseconds since the Unix epoch (as `Date.now()`, the default). */
  now?: number;
  /** The `step` of the last code this user had accepted, or null if none. Codes at or before it are refused. */
  lastUsedStep?: number | null;
}

/** Why a code was refused. `replayed` means the code was right but already used; answer it like `invalid`. */
export type TotpFailure = 'invalid' | 'replayed' | 'malformed';

/** The outcome of {@link verifyTotp}. On success, store `step` as the user's new `lastUsedStep`. */
export type TotpResult = { ok: true; step: number } | { ok: false; reason: TotpFailure };

const CODE = new RegExp(`^[0-9]{${TOTP_DIGITS}}$`);

/**
 * Checks a 6-digit RFC 6238 code (SHA-1, 30 s steps) against the current step and one step either side, with a
 * constant-time comparison (otplib, synchronous: three HMAC-SHA-1s take microseconds). A code is accepted once: the caller stores the returned `step` and passes
 * it back as `lastUsedStep`, and any code whose step is not after it is `replayed`, even inside its 90 s window
 * (a shoulder-surfed or phished code cannot be used a second time). The caller must update `lastUsedStep`
 * atomically (e.g. `UPDATE … SET totp_last_step = $step WHERE totp_last_step IS NULL OR totp_last_step < $step`)
 * so two concurrent requests with one code cannot both win.
 *
 * Anything that is not exactly six ASCII digits is `malformed`, without throwing. Rate-limit attempts: six
 * digits are 10^6 guesses, three of which are valid at any moment.
 *
 * @throws {TotpError} `invalid_secret` if the stored secret is not base32 of 20 to 40 bytes.
 * @throws {RangeError} if `now` is not a non-negative finite number or `lastUsedStep` is not a non-negative
 *   integer or null.
 * @example
 * const r = verifyTotp(secret, body.code, { lastUsedStep: user.totpLastStep });
 * if (r.ok) await users.acceptTotpStep(user.id, r.step); else throw invalidCredentials();
 */
export function verifyTotp(secret: string, code: string, options: VerifyTotpOptions = {}): TotpResult {
  checkSecret(secret);
  const now = options.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new RangeError('verifyTotp: now must be a non-negative number of milliseconds');
  }
  const last = options.lastUsedStep ?? null;
  if (last !== null && (!Number.isSafeInteger(last) || last < 0)) {
    throw new RangeError('verifyTotp: lastUsedStep must be a non-negative integer or null');
  }
  if (typeof code !== 'string' || !CODE.test(code)) return { ok: false, reason: 'malformed' };

  const epoch = Math.floor(now / 1000);
  const current = Math.floor(epoch / TOTP_PERIOD_SECONDS);
  const check = (afterTimeStep?: number) =>
    verifySync({
      secret,
      token: code,
      algorithm: TOTP_ALGORITHM,
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
      epoch,
      // otplib's tolerance is in seconds; one period either side covers exactly steps current-1..current+1.
      epochTolerance: TOTP_PERIOD_SECONDS * TOTP_WINDOW_STEPS,
      ...(afterTimeStep !== undefined ? { afterTimeStep } : {}),
    });

  // First look only at steps after lastUsedStep (otplib skips the others), so that a code that happens to
  // match both a used and an unused step in the window is accepted, not called a replay. otplib throws if
  // afterTimeStep is past the window, so that case (every step in the window is used) skips straight on.
  if (last === null || last < current + TOTP_WINDOW_STEPS) {
    const fresh = check(last !== null && last >= current - TOTP_WINDOW_STEPS ? last : undefined);
    if (fresh.valid && 'timeStep' in fresh) return { ok: true, step: fresh.timeStep };
  }
  if (last !== null) {
    const any = check();
    if (any.valid) return { ok: false, reason: 'replayed' };
  }
  return { ok: false, reason: 'invalid' };
}
