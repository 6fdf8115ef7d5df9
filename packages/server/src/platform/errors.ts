/**
 * The one registry of API error codes. Every JSON error the server sends is `{ error, message }` with an
 * `error` from this closed union; `docs/ERRORS.md` documents each one and a test keeps the two in step.
 */
export const ERROR_STATUS = {
  validation_failed: 400,
  query_not_allowed: 400,
  env_not_allowed: 400,
  // OAuth 2.0 token-endpoint errors (RFC 6749 §5.2, RFC 8628 §3.5) of `rampart login` (device authorization).
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  access_denied: 400,
  invalid_grant: 400,
  unsupported_grant_type: 400,
  invalid_client: 400,
  invalid_credentials: 401,
  unauthorized: 401,
  totp_required: 401,
  invalid_signature: 401,
  quota_exceeded: 429,
  budget_exceeded: 402,
  forbidden: 403,
  password_required: 403,
  email_unverified: 403,
  bot_check_failed: 403,
  origin_not_allowed: 403,
  region_not_allowed: 403,
  org_suspended: 403,
  not_found: 404,
  conflict: 409,
  link_expired: 410,
  package_rejected: 422,
  billing_mismatch: 422,
  invalid_document: 422,
  pdf_encrypted: 422,
  pdf_no_text: 422,
  replayed: 409,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  bad_gateway: 502,
  service_unavailable: 503,
  upstream_timeout: 504,
  request_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface AppErrorOptions {
  /** Overrides the registry status where the contract allows two (quota_exceeded: 429 or 402). */
  status?: number;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
  /** Safe, structured details for the client (never input values or secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An error meant for the client. The message must be safe to show: fixed text, never an input value.
 * @example throw new AppError('not_found', 'No such job')
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = opts.status ?? ERROR_STATUS[code];
    this.headers = opts.headers ?? {};
    this.details = opts.details;
  }
}

export const notFound = (what = 'Resource'): AppError => new AppError('not_found', `${what} not found`);
