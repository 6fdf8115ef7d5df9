// The bare pass-through proxy the gateway bench compares Rampart with: node:http in, undici out, no auth,
// database, validation or redaction. Imports nothing of Rampart's, so bench/gateway/cluster-proxy.ts can run it
// in light processes of its own.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

export const PROXY_PATH = '/v1/chat/completions';
export const PROXY_UPSTREAM_KEY = 'sk-bench-upstream-0123456789abcdef';

/** The floor for any Node.js hop: a pass-through proxy with no auth, database, validation or redaction. */
export async function startBareProxy(
  stubOrigin: string,
  port = 0,
): Promise<{ origin: string; close(): Promise<void> }> {
  const upstream = new Pool(stubOrigin);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      upstream
        .request({
          path: PROXY_PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${PROXY_UPSTREAM_KEY}` },
          body: Buffer.concat(chunks),
        })
        .then(async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}
