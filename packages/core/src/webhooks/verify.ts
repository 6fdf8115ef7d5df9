import { timingSafeEqual } from 'node:crypto';
import { WebhookError } from './errors.js';
import { isBody } from './lib/hmac.js';
import {
  decodeSecret,
  HEADER_ID,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  isTimestampText,
  isWebhookId,
  SIGNATURE_VERSION,
  signatureFor,
} from './lib/standard.js';

/** Default replay window, either side of now: the reference implementations' five minutes. */
export const STANDARD_WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Incoming headers as frameworks hand them over: a fetch `Headers` (or anything with `get`), or a plain object
 * such as node's `IncomingHttpHeaders` (names matched case-insensitively).
 */
export type WebhookHeaders =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Input of {@link verifyStandardWebhook}. */
export interface VerifyStandardWebhookOptions {
  /** The endpoint's `whsec_…` secret. */
  secret: string;
  headers: WebhookHeaders;
  /** The raw body exactly as received. Never a re-serialised parsed object: one changed byte fails the check. */
  body: string | Uint8Array;
  /** The current time in milliseconds since the epoch (default `Date.now()`); for tests. */
  now?: number;
  /** How far `webhook-timestamp` may be from now, in seconds, either way (default 300). */
  toleranceSeconds?: number;
}

/** An authentic, fresh delivery. Deduplicate on `id`: a replay inside the window carries the same id. */
export interface VerifiedStandardWebhook {
  id: string;
  /** `webhook-timestamp`, seconds since the epoch. */
  timestamp: number;
}

/**
 * Verifies a Standard Webhooks delivery: the headers must be well formed, one `v1` entry of the space-separated
 * `webhook-signature` list must equal `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))` (constant-time
 * comparison; other versions such as `v1a` are skipped, several `v1` entries allow secret rotation), and the
 * timestamp must be within `toleranceSeconds` of now in either direction.
 *
 * Authenticity is checked before freshness, so `expired` is only reported for deliveries the secret's holder
 * signed. The window stops old captures; within it, a replay is only caught by remembering `id`s (for longer
 * than the window).
 *
 * @throws {WebhookError} `malformed`, `invalid_signature` or `expired` (see {@link WebhookErrorCode}).
 * @throws {TypeError} if `body` is not a string or Uint8Array; {RangeError} if the secret is not `whsec_` +
 *   base64 of 24 to 64 bytes, or `now`/`toleranceSeconds` are not non-negative numbers.
 * @example
 * const { id } = verifyStandardWebhook({ secret, headers: request.headers, body: request.rawBody });
 * if (!(await seen.add(id))) return reply.code(200).send(); // duplicate delivery: already processed
 */
export function verifyStandardWebhook(options: VerifyStandardWebhookOptions): VerifiedStandardWebhook {
  const { secret, headers, body } = options;
  const key = decodeSecret(secret);
  try {
    const now = options.now ?? Date.now();
    if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
      throw new RangeError('now must be a non-negative number of milliseconds');
    }
    const tolerance = options.toleranceSeconds ?? STANDARD_WEBHOOK_TOLERANCE_SECONDS;
    if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
      throw new RangeError('toleranceSeconds must be a non-negative number');
    }
    if (!isBody(body)) throw new TypeError('webhook body must be the raw string or bytes received');

    const id = readHeader(headers, HEADER_ID);
    if (!isWebhookId(id)) throw malformed(HEADER_ID);
    const timestampText = readHeader(headers, HEADER_TIMESTAMP);
    if (timestampText === undefined || !isTimestampText(timestampText)) throw malformed(HEADER_TIMESTAMP);
    const presented = v1Signatures(readHeader(headers, HEADER_SIGNATURE));

    const expected = Buffer.from(signatureFor(key, id, timestampText, body), 'latin1');
    let matched = false;
    for (const signature of presented) {
      // Every entry is compared (no early exit); only equal lengths reach timingSafeEqual, which throws on others.
      const candidate = Buffer.from(signature, 'utf8');
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
    if (!matched) {
      throw new WebhookError('invalid_signature', 'webhook signature does not match', {
        reason: presented.length === 0 ? 'no v1 signature' : 'mismatch',
      });
    }

    const timestamp = Number(timestampText);
    const nowSeconds = Math.floor(now / 1000);
    if (timestamp < nowSeconds - tolerance || timestamp > nowSeconds + tolerance) {
      throw new WebhookError('expired', 'webhook timestamp is outside the allowed window', {
        reason: timestamp < nowSeconds ? 'too_old' : 'too_new',
      });
    }
    return { id, timestamp };
  } finally {
    key.fill(0);
  }
}

function malformed(header: string): WebhookError {
  return new WebhookError('malformed', 'webhook headers are missing or malformed', { reason: header });
}

/**
 * One header's value, or undefined when absent. A plain object holding the name twice in different cases, or an
 * array of several values, is malformed: which one was signed would be a guess.
 */
function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) throw malformed(name);
  if ('get' in headers && typeof headers.get === 'function') {
    const value: unknown = headers.get(name);
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'string') throw malformed(name);
    return value;
  }
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers as Readonly<Record<string, unknown>>)) {
    if (value === undefined || key.toLowerCase() !== name) continue;
    if (found !== undefined) throw malformed(name);
    if (typeof value === 'string') found = value;
    else if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') found = value[0];
    else throw malformed(name);
  }
  return found;
}

/**
 * The `v1` signatures of a `webhook-signature` list (`v1,<base64> v1a,<base64> …`). Entries with another
 * version are dropped unread; an empty list or an entry that is not `version,value` is malformed.
 */
function v1Signatures(header: string | undefined): string[] {
  const entries = (header ?? '').split(' ').filter((entry) => entry !== '');
  if (entries.length === 0) throw malformed(HEADER_SIGNATURE);
  const signatures: string[] = [];
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    if (comma <= 0 || comma === entry.length - 1) throw malformed(HEADER_SIGNATURE);
    if (entry.slice(0, comma) === SIGNATURE_VERSION) signatures.push(entry.slice(comma + 1));
  }
  return signatures;
}
