// The worker side of lib/http-load.ts: a closed-loop HTTP load generator and a fixed-answer upstream stub,
// on their own event loop (a worker thread) so that neither competes with the server under test for its
// thread. Started only through `LoadWorker.start()`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { Pool } from 'undici';
import type { LoadCommand, LoadReply, LoadRequest, LoadResult, StubStats } from './http-load.js';

const port = parentPort;
if (port === null) throw new Error('http-load-worker.ts runs as a worker thread only');

let stub: Server | undefined;
let stubReceived = 0;
let stubLast: Buffer[] = [];
const pools = new Map<string, Pool>();

function startStub(path: string, response: string, contentType: string): Promise<number> {
  const answer = Buffer.from(response);
  const headers = { 'content-type': contentType, 'content-length': String(answer.length) };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === path) {
        stubReceived++;
        stubLast = chunks;
        res.writeHead(200, headers).end(answer);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
  });
  // Keep-alive connections must survive the pauses between measured rounds. At 60 s a full run once lost the
  // race: the client reused a connection the stub was closing just then ("other side closed").
  server.keepAliveTimeout = 15 * 60_000;
  stub = server;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** One pool per target and concurrency, kept between rounds so connections are reused (as clients do). */
function poolFor(origin: string, connections: number): Pool {
  const key = `${origin} ${connections}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    pools.set(key, pool);
  }
  return pool;
}

/**
 * `requests` requests from `concurrency` loops that each send the next request as soon as the previous answer
 * has been read in full. Latency is from just before the request is handed to undici to the end of the body.
 */
async function closedLoop(pool: Pool, r: LoadRequest, requests: number, record: boolean) {
  const latencies = new Float64Array(record ? requests : 0);
  const failures: Record<string, number> = {};
  const body = Buffer.from(r.body);
  const cycle = r.cycleHeader;
  const headerSets = cycle ? cycle.values.map((v) => ({ ...r.headers, [cycle.name]: v })) : [r.headers];
  let next = 0;
  const loop = async () => {
    while (next < requests) {
      const i = next++;
      const t0 = performance.now();
      let status: number;
      try {
        const headers = headerSets[i % headerSets.length] ?? r.headers;
        const res = await pool.request({ path: r.path, method: r.method, headers, body });
        await res.body.text();
        status = res.statusCode;
      } catch {
        status = 0;
      }
      if (record) latencies[i] = performance.now() - t0;
      if (status !== r.expectStatus) {
        const k = status === 0 ? 'network error' : String(status);
        failures[k] = (failures[k] ?? 0) + 1;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(r.concurrency, Math.max(requests, 1)) }, loop));
  return { latencies, wallMs: performance.now() - started, failures };
}

async function load(r: LoadRequest): Promise<LoadResult> {
  const pool = poolFor(r.origin, r.concurrency);
  const warm = await closedLoop(pool, r, r.warmup, false);
  const measured = await closedLoop(pool, r, r.requests, true);
  const failures = { ...warm.failures };
  for (const [k, n] of Object.entries(measured.failures)) failures[k] = (failures[k] ?? 0) + n;
  return { latencies: measured.latencies, wallMs: measured.wallMs, failures };
}

async function close(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close()));
  pools.clear();
  const s = stub;
  if (s !== undefined) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

async function handle(cmd: LoadCommand): Promise<LoadReply> {
  switch (cmd.op) {
    case 'stub':
      return { op: 'stub', port: await startStub(cmd.path, cmd.response, cmd.contentType) };
    case 'load':
      return { op: 'load', result: await load(cmd.request) };
    case 'stubStats': {
      const stats: StubStats = { received: stubReceived, lastBody: Buffer.concat(stubLast).toString('utf8') };
      return { op: 'stubStats', stats };
    }
    case 'closePools':
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
      return { op: 'closePools' };
    case 'close':
      await close();
      return { op: 'close' };
  }
}

port.on('message', (msg: { id: number; cmd: LoadCommand }) => {
  handle(msg.cmd).then(
    (reply) => {
      const transfer = reply.op === 'load' ? [reply.result.latencies.buffer as ArrayBuffer] : [];
      port.postMessage({ id: msg.id, reply }, transfer);
    },
    (err: unknown) =>
      port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
port.postMessage({ ready: true });
