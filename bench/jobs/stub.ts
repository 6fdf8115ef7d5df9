// The jobs' target: a local HTTP server on 127.0.0.1 that answers `POST /hit` at once and counts what it
// received by `x-rampart-run-id`, so the bench can check that every run was delivered exactly once. It runs on
// the main thread, which is otherwise idle while the runner instances (worker threads) work.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const STUB_PATH = '/hit';
/** What a typical webhook receiver answers. */
const ANSWER = Buffer.from(JSON.stringify({ ok: true, received: true }));

export interface Stub {
  readonly url: string;
  /** Requests per run id since the last reset (baseline requests carry `baseline-…` ids). */
  readonly hits: ReadonlyMap<string, number>;
  /** Requests without a run id or to another path, since the last reset. */
  readonly stray: number;
  /** TCP connections accepted since the last reset. */
  readonly connections: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startStub(): Promise<Stub> {
  let hits = new Map<string, number>();
  let stray = 0;
  let connections = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['x-rampart-run-id'];
      if (req.method === 'POST' && req.url === STUB_PATH && typeof id === 'string') {
        hits.set(id, (hits.get(id) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': ANSWER.length });
        res.end(ANSWER);
      } else {
        stray++;
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
  });
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${STUB_PATH}`,
    get hits() {
      return hits;
    },
    get stray() {
      return stray;
    },
    get connections() {
      return connections;
    },
    reset() {
      hits = new Map();
      stray = 0;
      connections = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
