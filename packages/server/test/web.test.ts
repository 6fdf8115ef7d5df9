/**
 * The web surface of the server: the dashboard's HTML with its Content-Security-Policy on every client route,
 * hashed assets cached for good, the widget script loadable from other sites, the public client config, and
 * no path escaping the built folders. (The dashboard itself is tested in a browser: packages/dashboard/test.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardCsp } from '../src/web/routes.js';
import { startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
const DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

describe('web routes (dashboard, widget script, client config)', () => {
  let srv: Srv;
  let withTurnstile: Srv;
  beforeAll(async () => {
    srv = await startTestServer('pglite');
    withTurnstile = await startTestServer('pglite', {
      RAMPART_TURNSTILE_SECRET: 'turnstile-secret',
      RAMPART_TURNSTILE_SITE_KEY: '0x4AAAAAAATESTSITEKEY',
    });
  });
  afterAll(async () => {
    await srv?.close();
    await withTurnstile?.close();
  });

  it('every client route answers the app with the strict CSP (no inline script, no eval, no framing)', async () => {
    for (const path of [
      '/',
      '/login',
      '/signup',
      '/account',
      '/orgs/00000000-0000-4000-8000-000000000000/keys',
    ]) {
      const r = await fetch(`${srv.baseUrl}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/html');
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toBe(dashboardCsp(false));
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(await r.text()).toContain('<div id="root"></div>');
    }
  });

  it('the built index.html has no inline script or style for the CSP to refuse', async () => {
    const html = await (await fetch(`${srv.baseUrl}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
  });

  it('hashed assets are served with immutable caching; nothing outside the asset folder is reachable', async () => {
    const assets = existsSync(`${DIST}assets`) ? readdirSync(`${DIST}assets`) : [];
    expect(assets.length, 'run npm run build first (npm test does)').toBeGreaterThan(0);
    const js = assets.find((a) => a.endsWith('.js'));
    const r = await fetch(`${srv.baseUrl}/assets/${js}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(r.headers.get('content-type')).toContain('javascript');
    for (const path of [
      '/assets/../index.html',
      '/assets/%2e%2e/index.html',
      '/assets/..%2f..%2fpackage.json',
    ]) {
      const bad = await fetch(`${srv.baseUrl}${path}`);
      expect([400, 403, 404], path).toContain(bad.status);
      expect(await bad.text()).not.toContain('"workspaces"');
    }
  });

  it('an unknown path is still the JSON 404, not the app', async () => {
    const r = await fetch(`${srv.baseUrl}/nope`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toBe('not_found');
  });

  it('/widget.js is JavaScript that other sites may load (cross-origin resource policy)', async () => {
    const r = await fetch(`${srv.baseUrl}/widget.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/javascript');
    expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await r.text()).length).toBeGreaterThan(100);
  });

  it('/api/config says whether Turnstile is on; the CSP allows its origin only then', async () => {
    const off = (await (await fetch(`${srv.baseUrl}/api/config`)).json()) as {
      turnstileSiteKey: string | null;
    };
    expect(off.turnstileSiteKey).toBeNull();
    expect(dashboardCsp(false)).not.toContain('challenges.cloudflare.com');
    const on = (await (await fetch(`${withTurnstile.baseUrl}/api/config`)).json()) as {
      turnstileSiteKey: string;
    };
    expect(on.turnstileSiteKey).toBe('0x4AAAAAAATESTSITEKEY');
    const csp = (await fetch(`${withTurnstile.baseUrl}/login`)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self' https://challenges.cloudflare.com");
    expect(csp).toContain('frame-src https://challenges.cloudflare.com');
  });
});
