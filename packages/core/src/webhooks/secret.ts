import { randomBytes } from 'node:crypto';
import { SECRET_PREFIX } from './lib/standard.js';

/** Random bytes in a generated secret: 256 bits, the HMAC-SHA256 output size (the spec allows 24 to 64). */
export const WEBHOOK_SECRET_BYTES = 32;

/**
 * A new Standard Webhooks signing secret: `whsec_` + standard base64 of 32 bytes from the OS CSPRNG. Use one per
 * endpoint (the spec: reusing a secret across customers lets one forge deliveries to another), show it to its
 * owner once, and seal it at rest like any credential.
 *
 * @throws never (beyond the platform failing to gather entropy).
 * @example const secret = generateWebhookSecret(); await channels.create({ ..., secret: seal(ring, secret, ctx) });
 */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')}`;
}
