export { encodeAad, type SealContext } from './aad.js';
export { ENVELOPE_SHAPE, envelopeKeyId, isEnvelope, parseEnvelope } from './envelope.js';
export { SealError, type SealErrorCode } from './errors.js';
export { KeyRing } from './keyring.js';
export { mask } from './mask.js';
export { open, openString } from './open.js';
export { needsRewrap, rewrap } from './rewrap.js';
export { seal } from './seal.js';
