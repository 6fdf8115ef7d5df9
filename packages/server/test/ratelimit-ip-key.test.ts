/**
 * Per-IP limits key IPv6 clients on their /64 (review finding): a host is routinely given a whole /64, so keying
 * on the full address handed an attacker 2^64 fresh buckets. IPv4 stays as it is; IPv4-mapped IPv6 is the IPv4.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipLimitKey } from '../src/platform/ratelimit.js';
import { startTestServer, type TestServer } from './helpers.js';

describe('ipLimitKey', () => {
  it('IPv4 as is, IPv4-mapped IPv6 as its IPv4, other IPv6 as its /64', () => {
    expect(ipLimitKey('203.0.113.7')).toBe('203.0.113.7');
    expect(ipLimitKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(ipLimitKey('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(ipLimitKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(ipLimitKey('2001:0DB8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(ipLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipLimitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(ipLimitKey('not an ip')).toBe('not an ip');
  });

  it('/64 rotation: every address of one /64 shares a key, and different /64s never do', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const prefix = fc.tuple(group, group, group, group);
    const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
    fc.assert(
      fc.property(prefix, prefix, fc.tuple(group, group, group, group), (a, b, host) => {
        fc.pre(a[0] !== 0 || a[1] !== 0); // leave ::/32 (mapped and compatible forms) to the example test
        const same = ipLimitKey(`${hex(a)}:${hex(host)}`) === ipLimitKey(`${hex(a)}::1`);
        const differs = ipLimitKey(`${hex(a)}::1`) !== ipLimitKey(`${hex(b)}::1`);
        return same && (differs || hex(a) === hex(b));
      }),
    );
  });
});

describe('per-IP limits through the HTTP stack', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer('pglite', {
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_FORGOT_PER_IP_PER_HOUR: '2',
    });
  });
  afterAll(() => srv?.close());
  const forgot = (ip: string) =>
    fetch(`${srv.baseUrl}/api/auth/forgot-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ email: 'nobody@example.com' }),
    }).then((r) => r.status);

  it('IPv6 address rotation within one /64 shares one bucket; another /64 has its own', async () => {
    expect(await forgot('2001:db8:aa:1::1')).toBe(202);
    expect(await forgot('2001:db8:aa:1::2')).toBe(202);
    // A third address of the same /64: the budget of 2 is spent.
    expect(await forgot('2001:db8:aa:1:ffff:ffff:ffff:ffff')).toBe(429);
    expect(await forgot('2001:db8:aa:2::1')).toBe(202);
    // IPv4 and its mapped form are one client too.
    expect(await forgot('198.51.100.9')).toBe(202);
    expect(await forgot('::ffff:198.51.100.9')).toBe(202);
    expect(await forgot('198.51.100.9')).toBe(429);
  });
});
