/**
 * Outbound guard (SSRF): decisions are tested with a stub resolver before any connection; end-to-end refusals
 * only ever target loopback addresses outside the allow-list (never a packet beyond 127.0.0.0/8 and ::1).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedAgent, OutboundBlockedError, vetDestination } from '../src/platform/outbound/dispatcher.js';
import { guardedFetch } from '../src/platform/outbound/fetch.js';
import { checkAddress, parsePolicy } from '../src/platform/outbound/policy.js';

const none = parsePolicy([]);

describe('checkAddress: the decision, before any connection', () => {
  it.each([
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.0.0.2', 'loopback'],
    ['169.254.169.254', 'link-local cloud metadata'],
    ['100.100.100.200', 'CGNAT metadata (Alibaba)'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fc00::1', 'IPv6 unique-local'],
    ['fd00:ec2::254', 'AWS metadata over IPv6'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:2', 'IPv4-mapped loopback, hex form'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['2002:a9fe:a9fe::1', '6to4 of 169.254.169.254'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of 169.254.169.254'],
    ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['2001:db8::1', 'IPv6 documentation'],
  ])('refuses %s (%s)', (ip) => {
    expect(checkAddress(ip, 'example.test', none).ok).toBe(false);
  });

  it.each([
    ['93.184.216.34'],
    ['1.1.1.1'],
    ['8.8.8.8'],
    ['2606:4700:4700::1111'],
    ['64:ff9b::808:808'],
    ['::ffff:8.8.8.8'],
  ])('allows public %s', (ip) => {
    expect(checkAddress(ip, 'example.test', none)).toEqual({ ok: true });
  });

  it('the operator allow-list admits exact IPs, CIDRs and host names, nothing more', () => {
    const p = parsePolicy(['127.0.0.1', '10.0.0.0/8', 'Internal.Example', '[::1]']);
    expect(checkAddress('127.0.0.1', 'x', p).ok).toBe(true);
    expect(checkAddress('127.0.0.2', 'x', p).ok).toBe(false);
    expect(checkAddress('10.200.3.4', 'x', p).ok).toBe(true);
    expect(checkAddress('192.168.0.1', 'x', p).ok).toBe(false);
    expect(checkAddress('192.168.0.1', 'internal.example', p).ok).toBe(true);
    expect(checkAddress('::1', 'x', p).ok).toBe(true);
    expect(checkAddress('::ffff:127.0.0.1', 'x', p).ok).toBe(true);
  });

  it('refuses malformed allow-list entries by position, without echoing them', () => {
    expect(() => parsePolicy(['127.0.0.1', '10.0.0.0/99'])).toThrow(/entry 2 is not a valid CIDR/);
    expect(() => parsePolicy(['bad host!'])).toThrow(/entry 1/);
  });

  it('every spelling of an IPv4 literal is normalised by the URL parser before the check', () => {
    for (const u of [
      'http://2130706434/',
      'http://0177.0.0.2/',
      'http://0x7f.0.0.2/',
      'http://0x7f000002/',
      'http://127.2/',
    ]) {
      const host = new URL(u).hostname;
      expect(host).toBe('127.0.0.2');
      expect(checkAddress(host, host, none).ok).toBe(false);
    }
    const mapped = new URL('http://[::ffff:127.0.0.2]/').hostname;
    expect(checkAddress(mapped.replace(/^\[|\]$/g, ''), mapped, none).ok).toBe(false);
  });
});

describe('vetDestination: names are resolved and every address must pass', () => {
  const resolver = (table: Record<string, string[]>) => async (h: string) => table[h] ?? [];
  it('refuses a name resolving to a private or metadata address (stub resolver, no packet sent)', async () => {
    const r = resolver({
      'internal.test': ['10.1.2.3'],
      'meta.test': ['169.254.169.254'],
      'mixed.test': ['8.8.8.8', '192.168.1.9'],
    });
    for (const h of ['internal.test', 'meta.test', 'mixed.test', 'nothing.test']) {
      await expect(vetDestination(h, none, r)).rejects.toBeInstanceOf(OutboundBlockedError);
    }
  });
  it('returns the vetted address for a public name, so the connection goes exactly there', async () => {
    const r = resolver({ 'public.test': ['93.184.216.34', '2606:2800:220:1::1'] });
    expect(await vetDestination('public.test', none, r)).toBe('93.184.216.34');
  });
});

describe('guardedFetch end to end on loopback (allow-list: 127.0.0.1 only)', () => {
  let server: Server;
  let port: number;
  const policy = parsePolicy(['127.0.0.1']);
  // The stub resolver stands in for DNS: a name that resolves to loopback outside the allow-list.
  const agent = guardedAgent({
    policy,
    resolve: async (h) =>
      (({ 'ok.test': ['127.0.0.1'], 'evil.test': ['127.0.0.2'] }) as Record<string, string[]>)[h] ?? [],
  });
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect-evil') {
        res.writeHead(302, { location: `http://127.0.0.2:${port}/` }).end();
      } else if (req.url === '/redirect-ok') {
        res.writeHead(302, { location: '/hello' }).end();
      } else if (req.url === '/big') {
        res.end('x'.repeat(100_000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2_000);
      } else {
        res.end(`hello ${req.headers.host}`);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await agent.close();
  });
  const get = (url: string, extra: Partial<Parameters<typeof guardedFetch>[2]> = {}) =>
    guardedFetch(agent, url, { timeoutMs: 1_000, maxBytes: 1_000, ...extra });

  it('reaches an allow-listed address, by IP and by a name that resolves to it (Host header kept)', async () => {
    expect((await get(`http://127.0.0.1:${port}/`)).body.toString()).toBe(`hello 127.0.0.1:${port}`);
    expect((await get(`http://ok.test:${port}/`)).body.toString()).toBe(`hello ok.test:${port}`);
  });

  it.each([
    ['127.0.0.2', () => `http://127.0.0.2:${port}/`],
    ['decimal 2130706434', () => `http://2130706434:${port}/`],
    ['IPv4-mapped [::ffff:127.0.0.2]', () => `http://[::ffff:127.0.0.2]:${port}/`],
    ['[::1]', () => `http://[::1]:${port}/`],
    ['a DNS name resolving to loopback', () => `http://evil.test:${port}/`],
    ['a redirect to loopback', () => `http://127.0.0.1:${port}/redirect-evil`],
  ])('refuses %s', async (_name, url) => {
    const err = await get(url()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const chain = [err, (err as Error).cause, ((err as Error).cause as Error | undefined)?.cause];
    expect(chain.some((e) => e instanceof OutboundBlockedError)).toBe(true);
  });

  it('follows a redirect that stays allowed', async () => {
    expect((await get(`http://127.0.0.1:${port}/redirect-ok`)).body.toString()).toMatch(/^hello/);
  });

  it('caps the response body and says it was truncated', async () => {
    const r = await get(`http://127.0.0.1:${port}/big`);
    expect(r.body.length).toBe(1_000);
    expect(r.truncated).toBe(true);
  });

  it('enforces the timeout', async () => {
    await expect(get(`http://127.0.0.1:${port}/slow`, { timeoutMs: 200 })).rejects.toThrow();
  });
});
