export { WebhookError, type WebhookErrorCode, type WebhookErrorOptions } from './errors.js';
export { type StandardWebhookHeaders, standardWebhookHeaders } from './headers.js';
export { generateWebhookSecret, WEBHOOK_SECRET_BYTES } from './secret.js';
export { type StandardWebhookInput, signStandardWebhook } from './sign.js';
export { signHmacHex } from './sign-hmac-hex.js';
export {
  STANDARD_WEBHOOK_TOLERANCE_SECONDS,
  type VerifiedStandardWebhook,
  type VerifyStandardWebhookOptions,
  verifyStandardWebhook,
  type WebhookHeaders,
} from './verify.js';
export { verifyHmacHex } from './verify-hmac-hex.js';
