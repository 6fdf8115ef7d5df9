/**
 * The closed set of reasons a session token is refused. Callers branch on `code`, never on `message`; an HTTP
 * layer answers all three with 401 (`expired` lets the dashboard say "signed out, please sign in again").
 *
 * - `invalid`: not a compact JWS, a signature that does not verify, an algorithm other than HS256, the wrong
 *   issuer or audience, a header `typ` other than `JWT`, or claims of the wrong shape.
 * - `expired`: authentic, but past its `exp`.
 * - `wrong_type`: authentic, but not a session (payload `typ` is not `session`, e.g. a runtime token).
 */
import { CoreError } from '../errors/core-error.js';

export type TokenErrorCode = 'invalid' | 'expired' | 'wrong_type';

/** Options for {@link TokenError}. Both fields are fixed, non-secret identifiers, never values from the token. */
export interface TokenErrorOptions {
  /** The jose error code or our own check that failed, e.g. `ERR_JWS_SIGNATURE_VERIFICATION_FAILED`. */
  reason?: string;
  /** The claim that failed validation, e.g. `aud`. */
  claim?: string;
}

/**
 * The only error type the tokens module throws for a refused token (a secret that is too short is a
 * configuration error, a `RangeError`). Messages are fixed text: the token, its payload and the secret never
 * appear, and the underlying jose error (whose `payload` field holds the claims) is not attached.
 *
 * @example
 * try { claims = await verifySession(secret, cookie) } catch (e) { if (e instanceof TokenError) return reply(401) }
 */
export class TokenError extends CoreError<TokenErrorCode, { reason: string; claim: string }> {
  override readonly name = 'TokenError';
  readonly reason?: string;
  readonly claim?: string;

  constructor(code: TokenErrorCode, message: string, options: TokenErrorOptions = {}) {
    super(code, message);
    if (options.reason !== undefined) this.reason = options.reason;
    if (options.claim !== undefined) this.claim = options.claim;
  }

  protected override safeFields(): { reason: string | undefined; claim: string | undefined } {
    return { reason: this.reason, claim: this.claim };
  }
}
