export { TotpError, type TotpErrorCode } from './errors.js';
export { generateRecoveryCodes, normalizeRecoveryCode, RECOVERY_CODE_BITS } from './recovery.js';
export { generateTotpSecret } from './secret.js';
export { type TotpUriInput, totpUri } from './uri.js';
export { type TotpFailure, type TotpResult, type VerifyTotpOptions, verifyTotp } from './verify.js';
