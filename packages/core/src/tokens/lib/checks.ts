import { MIN_SECRET_BYTES } from '../session.js';

/**
 * @throws {TypeError} if the secret is not a Uint8Array; {RangeError} if it is shorter than 32 bytes.
 */
export function checkSecret(secret: unknown): Uint8Array {
  if (!(secret instanceof Uint8Array)) throw new TypeError('session secret must be a Uint8Array');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new RangeError(`session secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return secret;
}

/** `now` in milliseconds (default `Date.now()`) as whole seconds. @throws {RangeError} if not a finite number. */
export function epochSeconds(now: number | undefined): number {
  const ms = now ?? Date.now();
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError('now must be a non-negative number of milliseconds');
  }
  return Math.floor(ms / 1000);
}
