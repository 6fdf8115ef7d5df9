/**
 * Errors that mean "the database cannot serve us right now", as opposed to a bug or a refused statement: the
 * server is unreachable or restarting, a connection was cut, or it is out of disk or memory. The HTTP layer
 * answers these with `503 service_unavailable` and a Retry-After (the client's request was fine; retrying
 * later can succeed), never `500 internal_error`.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

// SQLSTATE classes 08 (connection exception) and 53 (insufficient resources: disk full, out of memory, too many
// connections), and the 57P0x operator interventions (admin shutdown, crash shutdown, cannot connect now).
const SQLSTATE = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-4])$/;

// node-postgres's own messages when a connection dies or the pool cannot hand one out in time.
const PG_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
];

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
    if (typeof message === 'string' && PG_MESSAGES.some((m) => message.startsWith(m))) return true;
    if (typeof message === 'string' && /No space left on device|ENOSPC/.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
