/** A loopback HTTP server standing in for the outside URLs a server under test calls, recording every request. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the target saw it. */
export interface Hit {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Target {
  origin: string;
  port: number;
  hits: Hit[];
  /** Hits whose path starts with `prefix`. */
  on(prefix: string): Hit[];
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for the URLs jobs and alert channels call. Behaviour by path:
 * `/ok`, `/echo` (answers with the request's headers and body, plus some PII), `/status/<code>`,
 * `/flaky/<key>/<n>` (503 for the first n hits of that key, then 200), `/slow/<ms>`, `/redirect?to=<url>`
 * (302), anything else 200.
 */
export async function startTarget(host = '127.0.0.1'): Promise<Target> {
  const hits: Hit[] = [];
  const flaky = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      hits.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body, at: Date.now() });
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts[0] === 'echo') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            headers: req.headers,
            body,
            contact: 'Questions? Mail jane.doe@example.com or call (415) 555-0134.',
            padding: 'x'.repeat(4_000),
          }),
        );
      } else if (parts[0] === 'status') {
        res.writeHead(Number(parts[1] ?? 500));
        res.end(`status ${parts[1]}`);
      } else if (parts[0] === 'flaky') {
        const key = parts[1] ?? '';
        const n = flaky.get(key) ?? 0;
        flaky.set(key, n + 1);
        res.writeHead(n < Number(parts[2] ?? 0) ? 503 : 200);
        res.end(n < Number(parts[2] ?? 0) ? 'busy' : 'ok');
      } else if (parts[0] === 'slow') {
        setTimeout(
          () => {
            if (!res.destroyed) res.end('late');
          },
          Number(parts[1] ?? 2_000),
        );
      } else if (parts[0] === 'redirect') {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    origin: `http://${h}:${port}`,
    port,
    hits,
    on: (prefix) => hits.filter((x) => x.path.startsWith(prefix)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
