import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { z } from 'zod';
import type { Config } from '../platform/config.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import type { PlatformSettings } from '../platform/settings.js';

const TURNSTILE_ORIGIN = 'https://challenges.cloudflare.com';

/** Where the built dashboard and widget live: packages/<name>/dist, from src/web or dist/web alike. */
const builtDir = (pkg: string) => fileURLToPath(new URL(`../../../${pkg}/dist/`, import.meta.url));

/** What GET /api/config tells the dashboard before sign-in: the version and the Turnstile site key, if any. */
export const clientConfig = z.object({ version: z.string(), turnstileSiteKey: z.string().nullable() });

/**
 * The dashboard's Content-Security-Policy: only this origin's scripts, styles, images and API; no inline
 * script or style, no eval, no plugins, no framing, no base-tag or form hijacking. Turnstile's script and frame
 * are allowed only when a site key is configured.
 */
export function dashboardCsp(turnstile: boolean): string {
  const t = turnstile ? ` ${TURNSTILE_ORIGIN}` : '';
  return [
    "default-src 'none'",
    `script-src 'self'${t}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    ...(turnstile ? [`frame-src ${TURNSTILE_ORIGIN}`] : []),
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Client-side routes of the dashboard: each serves index.html, and the app routes in the browser. */
const SPA_PATHS = [
  '/',
  '/login',
  '/login/oidc',
  '/signup',
  '/forgot',
  '/reset-password',
  '/confirm-email',
  '/accept-invite',
  '/verify-email',
  '/account',
  '/device',
  '/orgs',
  '/orgs/*',
  // The operator console (platform operators only: the admin API it calls checks that).
  '/operator',
  '/operator/*',
];

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Rampart</title>
<p>The dashboard is not built. Run <code>npm run build</code> (npm install and npm start do it).</p>`;

/** The dashboard (static files at `/`), the embeddable widget script (`/widget.js`) and public client config. */
export async function registerWebRoutes(
  app: App,
  config: Config,
  version: string,
  settings: PlatformSettings,
): Promise<void> {
  const dashboardDir = config.RAMPART_DASHBOARD_DIR ?? builtDir('dashboard');
  const widgetFile = `${config.RAMPART_WIDGET_DIR ?? builtDir('widget')}widget.js`;
  // Per request: the site key is a platform setting an operator may set or clear at run time.
  const csp = () => dashboardCsp(settings.current().RAMPART_TURNSTILE_SITE_KEY !== undefined);

  await app.register(fastifyStatic, {
    root: `${dashboardDir.replace(/\/$/, '')}/assets`,
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    dotfiles: 'deny',
    // Vite names assets by content hash: a name never changes meaning, so they may be cached for good.
    setHeaders: (res) => {
      res.header('cache-control', 'public, max-age=31536000, immutable');
    },
  });

  let index: string | null = null;
  const page = async () => {
    if (index !== null && config.NODE_ENV === 'production') return index;
    try {
      index = await readFile(`${dashboardDir.replace(/\/$/, '')}/index.html`, 'utf8');
    } catch {
      index = null;
    }
    return index;
  };
  for (const url of SPA_PATHS) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      const html = await page();
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', csp())
        .header('cache-control', 'no-cache')
        .send(html ?? NOT_BUILT);
    });
  }

  app.get('/favicon.svg', { schema: { hide: true } }, async (_request, reply) => {
    try {
      const svg = await readFile(`${dashboardDir.replace(/\/$/, '')}/favicon.svg`);
      return reply
        .header('content-type', 'image/svg+xml')
        .header('cache-control', 'public, max-age=86400')
        .send(svg);
    } catch {
      throw new AppError('not_found', 'No favicon');
    }
  });

  app.get('/widget.js', { schema: { hide: true } }, async (_request, reply) => {
    let js: Buffer;
    try {
      js = await readFile(widgetFile);
    } catch {
      throw new AppError('service_unavailable', 'The widget script is not built (run npm run build)');
    }
    return (
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        // Loaded by <script src> from customers' sites: the default same-origin resource policy would block it.
        .header('cross-origin-resource-policy', 'cross-origin')
        .header('cache-control', 'public, max-age=300')
        .send(js)
    );
  });

  app.get(
    '/api/config',
    {
      schema: {
        tags: ['web'],
        summary: 'Public client configuration for the dashboard (no secrets)',
        response: { 200: clientConfig },
      },
    },
    async () => ({ version, turnstileSiteKey: settings.current().RAMPART_TURNSTILE_SITE_KEY ?? null }),
  );
}
