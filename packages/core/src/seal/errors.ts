/**
 * The closed set of reasons a seal operation can fail. Callers branch on `code`, never on `message`.
 *
 * - `invalid_key_ring`: the configured key ring (or a raw key) is unusable; a deployment error.
 * - `unknown_key`: the envelope names a key id the ring does not hold (retired too early?).
 * - `malformed_envelope`: the stored string is not a syntactically valid envelope.
 * - `unsupported_version`: the envelope is from a format version this build does not understand.
 * - `open_failed`: authentication failed; wrong key, tampering, or the value was moved to another context.
 */
import { CoreError } from '../errors/core-error.js';

export type SealErrorCode =
  | 'invalid_key_ring'
  | 'unknown_key'
  | 'malformed_envelope'
  | 'unsupported_version'
  | 'open_failed';

/** Options for {@link SealError}. `reason` must be fixed, non-secret text (e.g. `"entry 2"`), never a value. */
export interface SealErrorOptions {
  reason?: string;
  cause?: unknown;
}

/**
 * The only error type the seal module throws for data or configuration problems (programmer errors such as a
 * malformed `SealContext` are plain `TypeError`s). Messages are fixed text plus positions: they never carry
 * key material, plaintext or the envelope, so they are safe to log and to return to an operator.
 *
 * @example
 * try { open(ring, stored, ctx) } catch (e) { if (e instanceof SealError && e.code === 'open_failed') alert() }
 */
export class SealError extends CoreError<SealErrorCode, { reason: string }> {
  override readonly name = 'SealError';
  readonly reason?: string;

  constructor(code: SealErrorCode, message: string, options?: SealErrorOptions) {
    // The `cause` (a node:crypto error whose text we do not control) is kept but never serialised.
    super(code, message, options);
    if (options?.reason !== undefined) this.reason = options.reason;
  }

  protected override safeFields(): { reason: string | undefined } {
    return { reason: this.reason };
  }
}
