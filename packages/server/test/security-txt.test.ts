/**
 * /.well-known/security.txt against RFC 9116: required fields (Contact at least once, Expires exactly once and
 * in the future but less than a year away), the optional fields we publish (Policy, Preferred-Languages,
 * Canonical equal to where the file was fetched), the text/plain media type with a UTF-8 charset, the legacy
 * /security.txt redirect, configuration, and the production warning when Contact is not set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { securityTxt } from '../src/web/security-txt.js';
import { startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

/** Parses a security.txt per RFC 9116 §4 (field lines, comments, blank lines); refuses anything else. */
function parse(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9-]+): (.+)$/.exec(line);
    if (!m) throw new Error(`not a field line: ${JSON.stringify(line)}`);
    const name = (m[1] ?? '').toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), m[2] ?? '']);
  }
  return fields;
}

/** The RFC's requirements, as assertions. */
function expectValid(text: string, fetchedFrom: string, now = Date.now()): Map<string, string[]> {
  const f = parse(text);
  const contacts = f.get('contact') ?? [];
  expect(contacts.length, 'Contact is REQUIRED (§2.5.3)').toBeGreaterThan(0);
  for (const c of contacts) expect(c).toMatch(/^(mailto:|https:\/\/|tel:)/);
  const expires = f.get('expires') ?? [];
  expect(expires, 'Expires is REQUIRED and MUST NOT appear more than once (§2.5.5)').toHaveLength(1);
  expect(expires[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const at = Date.parse(expires[0] ?? '');
  expect(at).toBeGreaterThan(now);
  expect(at - now, 'RECOMMENDED: less than a year into the future').toBeLessThan(365 * 86_400_000);
  for (const once of ['canonical', 'preferred-languages', 'policy'])
    expect((f.get(once) ?? []).length).toBeLessThanOrEqual(1);
  expect(f.get('canonical')).toEqual([fetchedFrom]);
  expect(f.get('preferred-languages')?.[0]).toMatch(/^[A-Za-z-]+(, [A-Za-z-]+)*$/);
  expect(f.get('policy')?.[0]).toMatch(/^https?:\/\//);
  return f;
}

describe('security.txt (RFC 9116)', () => {
  let srv: Srv;
  let configured: Srv;
  beforeAll(async () => {
    srv = await startTestServer('pglite', { RAMPART_PUBLIC_URL: 'https://rampart.example.com' });
    configured = await startTestServer('pglite', {
      RAMPART_PUBLIC_URL: 'https://rampart.example.org/',
      RAMPART_SECURITY_CONTACT: 'mailto:psirt@example.org, https://example.org/report',
      RAMPART_SECURITY_POLICY_URL: 'https://example.org/disclosure',
      RAMPART_SECURITY_LANGUAGES: 'en, de',
    });
  });
  afterAll(async () => {
    await srv?.close();
    await configured?.close();
  });

  it('the default: valid, text/plain UTF-8, contact at the public host, our SECURITY.md as the policy', async () => {
    const r = await fetch(`${srv.baseUrl}/.well-known/security.txt`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const f = expectValid(await r.text(), 'https://rampart.example.com/.well-known/security.txt');
    expect(f.get('contact')).toEqual(['mailto:security@rampart.example.com']);
    expect(f.get('preferred-languages')).toEqual(['en']);
    expect(f.get('policy')).toEqual(['https://rampart.example.com/.well-known/security-policy']);
    const policy = await fetch(`${srv.baseUrl}/.well-known/security-policy`);
    expect(policy.status).toBe(200);
    expect(await policy.text()).toContain('Reporting a vulnerability');
  });

  it('from configuration: several contacts, the operator’s policy, languages; Canonical follows the public URL', async () => {
    const text = await (await fetch(`${configured.baseUrl}/.well-known/security.txt`)).text();
    const f = expectValid(text, 'https://rampart.example.org/.well-known/security.txt');
    expect(f.get('contact')).toEqual(['mailto:psirt@example.org', 'https://example.org/report']);
    expect(f.get('policy')).toEqual(['https://example.org/disclosure']);
    expect(f.get('preferred-languages')).toEqual(['en, de']);
  });

  it('the legacy /security.txt redirects to the well-known path', async () => {
    const r = await fetch(`${srv.baseUrl}/security.txt`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/.well-known/security.txt');
  });

  it('Expires stays less than a year ahead whenever it is generated, and the parser refuses malformed files', () => {
    const config = loadConfig({ NODE_ENV: 'test', RAMPART_PUBLIC_URL: 'https://x.example.com' });
    for (const now of [new Date('2026-01-01T00:00:00Z'), new Date('2030-12-31T23:59:59Z')])
      expectValid(
        securityTxt(config, 'https://x.example.com', now),
        'https://x.example.com/.well-known/security.txt',
        now.getTime(),
      );
    expect(() => parse('Contact mailto:x@example.com')).toThrow();
    expect(() => expectValid('Contact: mailto:a@b.c\n', 'x')).toThrow();
  });

  it('refuses a Contact that is not a mailto:, https: or tel: URI, naming the variable', () => {
    for (const bad of ['security@example.com', 'http://example.com/report', 'javascript:alert(1)']) {
      let err: unknown;
      try {
        loadConfig({ NODE_ENV: 'test', RAMPART_SECURITY_CONTACT: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect(String((err as Error).message)).toContain('RAMPART_SECURITY_CONTACT');
    }
  });

  it('warns at start in production when Contact is not set', async () => {
    // Production also needs real keys; the test helper supplies them, so the server starts and logs the warning.
    const prod = await startTestServer('pglite', { NODE_ENV: 'production' });
    try {
      expect(prod.logs.join('\n')).toContain('RAMPART_SECURITY_CONTACT is not set');
    } finally {
      await prod.close();
    }
  });
});
