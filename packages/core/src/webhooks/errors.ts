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
export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  readonly code: WebhookErrorCode;
  readonly reason?: string;

  constructor(code: WebhookErrorCode, message: string, options: WebhookErrorOptions = {}) {
    super(message);
    this.code = code;
    if (options.reason !== undefined) this.reason = options.reason;
  }

  /** Structured loggers serialise errors with JSON.stringify; keep that output to the safe fields. */
  toJSON(): { name: string; code: WebhookErrorCode; message: string; reason?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
    };
  }
}
