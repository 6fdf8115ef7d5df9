import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { checkAddress, type OutboundPolicy } from './policy.js';

/** Resolves a host name to every address (tests inject a stub; production uses the system resolver). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((r) => r.address);

/** Thrown (as the connection error) when the destination is refused; `code` lets callers map it. */
export class OutboundBlockedError extends Error {
  readonly code = 'OUTBOUND_BLOCKED';
  constructor(host: string, reason: string) {
    super(`outbound request to ${host} refused: ${reason}`);
    this.name = 'OutboundBlockedError';
  }
}

/**
 * Decides where to connect for `host`: literal IPs are judged as they are; names are resolved once and every
 * address must pass (a name that resolves to a public and a private address is refused). The connection then
 * goes to exactly the address that was checked, so a DNS answer that changes between check and connect
 * (rebinding) cannot slip through.
 * @throws OutboundBlockedError
 */
export async function vetDestination(
  host: string,
  policy: OutboundPolicy,
  resolve: Resolver,
): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare) ? [bare] : await resolve(bare);
  if (addresses.length === 0) throw new OutboundBlockedError(bare, 'no address');
  for (const a of addresses) {
    const v = checkAddress(a, bare, policy);
    if (!v.ok) throw new OutboundBlockedError(bare, v.reason);
  }
  return addresses[0] as string;
}

declare const guarded: unique symbol;

/**
 * An undici Agent made by {@link guardedAgent}: every connection it opens is vetted. The brand exists only in
 * the type (a unique symbol nothing else can name), so a plain `Agent` or `Dispatcher` does not type-check where
 * outbound code asks for a GuardedAgent; the only way to get one is guardedAgent().
 */
export type GuardedAgent = Agent & { readonly [guarded]: true };

export interface GuardedAgentOptions {
  policy: OutboundPolicy;
  resolve?: Resolver;
  connectTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM, RAMPART_OUTBOUND_CA), added to the system roots. */
  extraCa?: string;
}

/** The CA list for outbound TLS: undefined (Node's default roots) unless extra CAs are configured. */
export const outboundCa = (extraCa: string | undefined): string[] | undefined =>
  extraCa ? [...rootCertificates, extraCa] : undefined;

/**
 * An undici dispatcher whose every connection (including each redirect hop) passes {@link vetDestination}.
 * TLS keeps the original host name for SNI and certificate checks.
 */
export function guardedAgent(opts: GuardedAgentOptions): GuardedAgent {
  const resolve = opts.resolve ?? systemResolver;
  const ca = outboundCa(opts.extraCa);
  const base = buildConnector({ timeout: opts.connectTimeoutMs ?? 10_000, ...(ca ? { ca } : {}) });
  const agent = new Agent({
    connect: (options, callback) => {
      const host = options.hostname;
      vetDestination(host, opts.policy, resolve).then(
        (ip) => {
          const bare = host.replace(/^\[|\]$/g, '');
          base(
            { ...options, hostname: ip, servername: isIP(bare) ? null : bare } as Parameters<typeof base>[0],
            callback,
          );
        },
        (err: Error) => callback(err, null),
      );
    },
  });
  return agent as GuardedAgent;
}
