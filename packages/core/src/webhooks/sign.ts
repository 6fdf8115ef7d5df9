import {
  decodeSecret,
  isTimestampText,
  isWebhookId,
  SIGNATURE_VERSION,
  signatureFor,
} from './lib/standard.js';

/** What a Standard Webhooks sender signs. */
export interface StandardWebhookInput {
  /** The endpoint's `whsec_…` secret. */
  secret: string;
  /**
   * The message id (`webhook-id`): the same for every retry of one event, so receivers can deduplicate.
   * Printable ASCII without spaces or `.`, at most 256 characters.
   */
  id: string;
  /** The time of this attempt in whole seconds since the epoch (`webhook-timestamp`); new on each retry. */
  timestamp: number;
  /** Exactly the bytes sent as the HTTP body (a string is sent as UTF-8). */
  body: string | Uint8Array;
}

/**
 * The `webhook-signature` value for one delivery: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
 * under the base64-decoded part of the secret after `whsec_` (Standard Webhooks v1.0.0, symmetric scheme).
 * The id, the timestamp and the body are all covered, so none can be swapped between deliveries.
 *
 * @throws {TypeError} if the id is not printable ASCII without `.` or space (1-256 chars), the timestamp is not
 *   a non-negative safe integer, or the body is not a string or Uint8Array.
 * @throws {RangeError} if the secret is not `whsec_` + base64 of 24 to 64 bytes.
 * @example
 * signStandardWebhook({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
 *   timestamp: 1614265330, body: '{"test": 2432232314}' }) // 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
 */
export function signStandardWebhook({ secret, id, timestamp, body }: StandardWebhookInput): string {
  if (!isWebhookId(id)) {
    throw new TypeError('webhook id must be 1-256 printable ASCII characters without spaces or "."');
  }
  const timestampText = String(timestamp);
  if (!Number.isSafeInteger(timestamp) || !isTimestampText(timestampText)) {
    throw new TypeError('webhook timestamp must be a non-negative integer number of seconds');
  }
  const key = decodeSecret(secret);
  try {
    return `${SIGNATURE_VERSION},${signatureFor(key, id, timestampText, body)}`;
  } finally {
    key.fill(0);
  }
}
