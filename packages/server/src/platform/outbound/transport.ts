import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.js';
import type { OutboundPolicy, Verdict } from './policy.js';

/**
 * The one rule for requests that carry a credential (a provider API key, a job's sealed headers or auth, an
 * alert channel's signing secret or secret URL): they go over https. Plain http is allowed only to a loopback
 * host (the name `localhost`, 127.0.0.0/8, ::1: the bytes never leave the machine) or to a host the operator named in
 * RAMPART_OUTBOUND_ALLOW (by name, or an IP literal inside an allowed address or CIDR), which is how an
 * operator opts a private network in. Names are not resolved here: an allow-listed CIDR exempts only IP
 * literals, since a name's address can change after the check.
 */
export function credentialTransport(url: URL, policy: OutboundPolicy): Verdict {
  if (url.protocol === 'https:') return { ok: true };
  if (url.protocol !== 'http:') return { ok: false, reason: `${url.protocol} is not https` };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // Only the name `localhost` itself (the hosts file pins it). A `*.localhost` name goes to DNS on most systems
  // (RFC 6761 only asks resolvers to answer loopback), and a public answer would pass the address guard and get
  // the credential in the clear.
  if (host === 'localhost') return { ok: true };
  if (policy.hosts.has(host)) return { ok: true };
  if (ipaddr.isValid(host)) {
    const a = ipaddr.process(host);
    if (a.range() === 'loopback') return { ok: true };
    if (policy.cidrs.some(([net, bits]) => a.kind() === net.kind() && a.match(net, bits)))
      return { ok: true };
  }
  return {
    ok: false,
    reason:
      'plain http:// would send a credential in the clear; use https (http is allowed only to loopback or to hosts on RAMPART_OUTBOUND_ALLOW)',
  };
}

/**
 * Save-time form of {@link credentialTransport}: refuses with 400 validation_failed naming `field`.
 * @throws AppError validation_failed
 */
export function requireCredentialTransport(url: URL | string, policy: OutboundPolicy, field: string): void {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new AppError('validation_failed', `${field} must be an absolute https URL`, { details: { field } });
  }
  const v = credentialTransport(u, policy);
  if (!v.ok)
    throw new AppError('validation_failed', `${field} carries a credential: ${v.reason}`, {
      details: { field },
    });
}
