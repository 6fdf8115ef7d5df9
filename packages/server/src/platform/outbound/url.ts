import { AppError } from '../errors.js';
import { checkAddress, type OutboundPolicy } from './policy.js';

export interface OutboundUrlRules {
  /** Field name for error messages. */
  field: string;
  /** Allow a query string (job URLs); provider base URLs have none. */
  allowQuery: boolean;
}

/**
 * Checks a user-supplied outbound URL at save time: absolute http(s), no user-info (credentials would be stored
 * in the clear), no fragment, and no literal private/loopback/metadata address (every IPv4 spelling is
 * normalised by the WHATWG parser first). Names are judged again at connect time by the guarded agent, on the
 * address actually connected to; this check only gives a clear error early.
 * @throws AppError validation_failed
 */
export function checkOutboundUrl(raw: string, policy: OutboundPolicy, rules: OutboundUrlRules): URL {
  const { field } = rules;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AppError('validation_failed', `${field} must be an absolute http(s) URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new AppError('validation_failed', `${field} must use http or https`);
  if (u.username || u.password)
    throw new AppError(
      'validation_failed',
      `${field} must not contain credentials; use the auth or headers fields, which are sealed`,
    );
  if (u.hash) throw new AppError('validation_failed', `${field} must not contain a fragment`);
  if (u.search && !rules.allowQuery)
    throw new AppError('validation_failed', `${field} must not contain a query`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) {
    const v = checkAddress(host, host, policy);
    if (!v.ok)
      throw new AppError('validation_failed', `${field} points to a non-public address (${v.reason})`);
  }
  return u;
}
