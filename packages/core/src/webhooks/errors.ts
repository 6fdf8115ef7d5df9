/**
 * The closed set of reasons {@link verifyStandardWebhook} refuses a delivery. Callers branch on `code`, never on
 * `message`. An HTTP receiver answers all three with 401 `invalid_signature` (telling a forger which check
 * failed helps nobody but the forger); the codes exist for logs and metrics.
 *
 * - `malformed`: a `webhook-*` header is missing, duplicated or not of the form the spec defines (an id with a
 *   `.` or a control character, a timestamp that is not a canonical integer, an empty signature list or an
 *   entry without `version,`).
 * - `invalid_signature`: the headers are well formed but no `v1` signature in the list matches.
 * - `expired`: authentic, but `webhook-timestamp` is outside the tolerance (too old: a replay; too far in the
 *   future: a clock problem or a delivery pre-signed for later). `reason` says which.
 */
import { CoreError } from '../errors/core-error.js';

export type WebhookErrorCode = 'malformed' | 'invalid_signature' | 'expired';

/** Options for {@link WebhookError}. `reason` is fixed, non-secret text (a header name, `too_old`), never a value. */
export interface WebhookErrorOptions {
  reason?: string;
}

/**
 * The only error type the webhooks module throws for a refused delivery (a bad secret or option is a
 * configuration error, a plain `TypeError`/`RangeError`). Messages are fixed text: the secret, the signatures,
 * the id, the timestamp and the body never appear, so the error is safe to log.
 *
 * @example
 * try { verifyStandardWebhook({ secret, headers: req.headers, body: req.rawBody }) }
 * catch (e) { if (e instanceof WebhookError) return reply.code(401).send({ error: 'invalid_signature' }) }
 */
export class WebhookError extends CoreError<WebhookErrorCode, { reason: string }> {
  override readonly name = 'WebhookError';
  readonly reason?: string;

  constructor(code: WebhookErrorCode, message: string, options: WebhookErrorOptions = {}) {
    super(code, message);
    if (options.reason !== undefined) this.reason = options.reason;
  }

  protected override safeFields(): { reason: string | undefined } {
    return { reason: this.reason };
  }
}
