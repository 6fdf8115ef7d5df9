import { HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP } from './lib/standard.js';
import { type StandardWebhookInput, signStandardWebhook } from './sign.js';

/**
 * The three Standard Webhooks headers, named as the spec names them (lower case, as HTTP/2 requires). A type
 * alias rather than an interface so it is assignable to `Record<string, string>` (fetch `HeadersInit`, node
 * header objects, the `headers` of verifyStandardWebhook).
 */
export type StandardWebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/**
 * {@link signStandardWebhook} packaged as the headers to send with the body. Sign each attempt afresh with its
 * own timestamp (receivers refuse old ones) and the event's unchanging id.
 *
 * @throws {TypeError} | {RangeError} as {@link signStandardWebhook}.
 * @example
 * const body = JSON.stringify(event);
 * const headers = standardWebhookHeaders({ secret, id: event.id, timestamp: Math.floor(Date.now() / 1000), body });
 * await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
 */
export function standardWebhookHeaders(input: StandardWebhookInput): StandardWebhookHeaders {
  const signature = signStandardWebhook(input);
  return {
    [HEADER_ID]: input.id,
    [HEADER_TIMESTAMP]: String(input.timestamp),
    [HEADER_SIGNATURE]: signature,
  };
}
