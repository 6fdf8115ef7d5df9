/** The only algorithm sessions are signed and verified with; pinned on both sides. */
export const SESSION_ALG = 'HS256';
export const SESSION_ISSUER = 'rampart';
export const SESSION_AUDIENCE = 'rampart:dashboard';
/** Payload `typ` of a session, so a token minted for another purpose with the same secret is told apart. */
export const SESSION_TYP = 'session';
/** 30 days (invariant 6). */
export const SESSION_TTL_SECONDS = 30 * 24 * 60 * 60;
/** HS256 is only as strong as its key: 256 bits (RFC 7518 §3.2 requires at least the hash size). */
export const MIN_SECRET_BYTES = 32;
/** Longer than any session we sign by far; refusing earlier keeps base64 decoding off attacker-sized input. */
export const MAX_TOKEN_CHARS = 4096;

/** Authentication methods (RFC 8176): password, or password then a one-time code. */
export type SessionAmr = ['pwd'] | ['pwd', 'otp'];
