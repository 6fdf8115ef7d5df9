import ipaddr from 'ipaddr.js';

/**
 * Which outbound destinations user-supplied URLs (jobs, alert webhooks, provider base URLs) may reach.
 * Only globally routable unicast addresses pass; private, loopback, link-local (incl. cloud metadata
 * 169.254.169.254 and fd00:ec2::254), CGNAT (100.64/10, incl. 100.100.100.200), multicast, reserved,
 * documentation and benchmarking ranges are refused, and IPv6 forms that embed an IPv4 address (IPv4-mapped,
 * 6to4, NAT64, Teredo) are judged by the IPv4 address they carry. The operator allow-list
 * (RAMPART_OUTBOUND_ALLOW: host names, IPs or CIDRs) overrides.
 */
export interface OutboundPolicy {
  hosts: ReadonlySet<string>;
  cidrs: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Parses the allow-list entries.
 * @throws Error naming the bad entry by position
 */
export function parsePolicy(entries: readonly string[]): OutboundPolicy {
  const hosts = new Set<string>();
  const cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  entries.forEach((raw, i) => {
    const e = raw.trim().toLowerCase();
    if (!e) return;
    if (e.includes('/')) {
      try {
        cidrs.push(ipaddr.parseCIDR(e));
      } catch {
        throw new Error(`RAMPART_OUTBOUND_ALLOW entry ${i + 1} is not a valid CIDR`);
      }
    } else if (ipaddr.isValid(e.replace(/^\[|\]$/g, ''))) {
      const a = ipaddr.parse(e.replace(/^\[|\]$/g, ''));
      cidrs.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^[a-z0-9.-]{1,253}$/.test(e)) {
      hosts.add(e);
    } else {
      throw new Error(`RAMPART_OUTBOUND_ALLOW entry ${i + 1} is not a host name, IP or CIDR`);
    }
  });
  return { hosts, cidrs };
}

const ALLOWED_V4 = new Set(['unicast']);
const ALLOWED_V6 = new Set(['unicast']);

/** The IPv4 address an IPv6 address embeds (mapped, 6to4, NAT64, Teredo), if any. */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4 | null {
  const range = a.range();
  const b = a.toByteArray();
  if (range === 'ipv4Mapped') return a.toIPv4Address();
  if (range === 'rfc6052' || range === 'rfc6145') return new ipaddr.IPv4(b.slice(12, 16));
  if (range === '6to4') return new ipaddr.IPv4(b.slice(2, 6));
  if (range === 'teredo') return new ipaddr.IPv4(b.slice(12, 16).map((x) => x ^ 0xff));
  // IPv4-compatible (deprecated ::a.b.c.d)
  if (b.slice(0, 12).every((x) => x === 0)) return new ipaddr.IPv4(b.slice(12, 16));
  return null;
}

function allowListed(a: ipaddr.IPv4 | ipaddr.IPv6, policy: OutboundPolicy): boolean {
  return policy.cidrs.some(([net, bits]) => a.kind() === net.kind() && a.match(net, bits));
}

/**
 * Decides whether a resolved address may be connected to. `host` is the name from the URL (for host
 * allow-list entries).
 */
export function checkAddress(ip: string, host: string, policy: OutboundPolicy): Verdict {
  if (policy.hosts.has(host.toLowerCase())) return { ok: true };
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(ip);
  } catch {
    return { ok: false, reason: 'unparseable address' };
  }
  if (allowListed(a, policy)) return { ok: true };
  if (a.kind() === 'ipv6') {
    const v6 = a as ipaddr.IPv6;
    const v4 = embeddedV4(v6);
    if (v4) {
      if (allowListed(v4, policy)) return { ok: true };
      return ALLOWED_V4.has(v4.range())
        ? { ok: true }
        : { ok: false, reason: `embedded IPv4 is ${v4.range()}` };
    }
    const r = v6.range();
    // fd00:ec2::254 (AWS metadata over IPv6) is uniqueLocal, refused with the rest of fc00::/7.
    return ALLOWED_V6.has(r) ? { ok: true } : { ok: false, reason: `address is ${r}` };
  }
  const r = (a as ipaddr.IPv4).range();
  return ALLOWED_V4.has(r) ? { ok: true } : { ok: false, reason: `address is ${r}` };
}
