// The mixed load: three autocannon instances at once against one server, their connections weighted
// (gateway calls with an API key, widget messages with an allowed Origin and a visitor token, audit reads
// with a session). Every answer's status and latency is recorded per route.
import autocannon from 'autocannon';
import type { ServerProcess, Tenant } from './server.js';
import { SHOP, sleep } from './server.js';

export const CHAT_BODY = JSON.stringify({
  model: 'bench-model',
  messages: [
    { role: 'system', content: 'You are a concise assistant for a customer-success team.' },
    {
      role: 'user',
      content:
        'Summarise this thread: Dana Whitfield (dana.whitfield@northwind-logistics.com, (415) 555-0134) says ' +
        'the warehouse dashboard takes 30 seconds to load since 4.2.1 and CSV exports over 90 days time out.',
    },
  ],
  max_tokens: 200,
});
const WIDGET_BODY = JSON.stringify({
  message: 'Hi! My hiking boots are too small. Can I exchange them, and how long does shipping take?',
});
/** Client addresses the widget load cycles through (RFC 2544 range), so the per-IP limit never binds. */
const CLIENT_IPS = Array.from({ length: 1024 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);

export interface RouteStats {
  readonly route: string;
  readonly connections: number;
  readonly latencies: number[];
  ok: number;
  non2xx: number;
  errors: number;
  readonly statuses: Map<number, number>;
}

export interface MixResult {
  readonly seconds: number;
  readonly routes: readonly RouteStats[];
}

/** Connections per route: gateway-heavy, as a gateway deployment's traffic is. */
export const MIX = { gateway: 12, widget: 6, audit: 2 } as const;

export async function runMix(server: ServerProcess, t: Tenant, seconds: number): Promise<MixResult> {
  let ip = 0;
  const specs = [
    {
      route: 'POST /v1/chat/completions (API key)',
      connections: MIX.gateway,
      request: {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.apiKey}` },
        body: CHAT_BODY,
      },
    },
    {
      route: 'POST /widget/:id/messages (Origin + visitor token)',
      connections: MIX.widget,
      request: {
        method: 'POST',
        path: `/widget/${t.widgetId}/messages`,
        headers: {
          'content-type': 'application/json',
          origin: SHOP,
          authorization: `Bearer ${t.visitorToken}`,
        },
        body: WIDGET_BODY,
        setupRequest: (req: { headers?: Record<string, string> }) => ({
          ...req,
          headers: { ...req.headers, 'x-forwarded-for': CLIENT_IPS[ip++ % CLIENT_IPS.length] ?? '' },
        }),
      },
    },
    {
      route: 'GET /api/orgs/:orgId/audit (session)',
      connections: MIX.audit,
      request: {
        method: 'GET',
        path: `/api/orgs/${t.orgId}/audit?limit=50`,
        headers: { authorization: `Bearer ${t.session}` },
      },
    },
  ];
  const started = performance.now();
  const runs = specs.map((spec) => {
    const stats: RouteStats = {
      route: spec.route,
      connections: spec.connections,
      latencies: [],
      ok: 0,
      non2xx: 0,
      errors: 0,
      statuses: new Map(),
    };
    const done = new Promise<RouteStats>((resolve, reject) => {
      const inst = autocannon(
        {
          url: server.origin,
          connections: spec.connections,
          duration: seconds,
          timeout: 30,
          requests: [spec.request],
        },
        (err) => (err ? reject(err) : resolve(stats)),
      );
      inst.on('response', (_client, status, _bytes, ms) => {
        stats.latencies.push(ms);
        if (status >= 200 && status < 300) stats.ok++;
        else stats.non2xx++;
        stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
      });
      inst.on('reqError', () => {
        stats.errors++;
      });
    });
    return done;
  });
  const routes = await Promise.all(runs);
  return { seconds: (performance.now() - started) / 1000, routes };
}

export interface MemorySample {
  readonly atS: number;
  readonly rssMb: number;
  readonly heapMb: number;
  /** V8 heap committed (used + free pages V8 keeps). */
  readonly heapTotalMb: number;
  /** Memory outside the V8 heap that JS objects hold (Buffers, ArrayBuffers, WASM memory). */
  readonly externalMb: number;
}

/** The mixed load for `seconds`, sampling the server's RSS (from /proc) and heap (over IPC) every `everyS`. */
export async function soak(
  server: ServerProcess,
  t: Tenant,
  seconds: number,
  everyS: number,
): Promise<{ mix: MixResult; samples: MemorySample[] }> {
  const samples: MemorySample[] = [];
  const started = performance.now();
  const sample = () =>
    samples.push({
      atS: (performance.now() - started) / 1000,
      rssMb: server.rss() / 2 ** 20,
      heapMb: server.heapUsed / 2 ** 20,
      heapTotalMb: server.memory.heapTotal / 2 ** 20,
      externalMb: server.memory.external / 2 ** 20,
    });
  sample();
  let running = true;
  const sampler = (async () => {
    while (running) {
      await sleep(everyS * 1000);
      if (running) sample();
    }
  })();
  const mix = await runMix(server, t, seconds);
  running = false;
  await sampler;
  sample();
  return { mix, samples };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    den += ((xs[i] ?? 0) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
