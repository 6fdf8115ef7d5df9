// Closed-loop HTTP load from a worker thread, plus an upstream stub in the same worker. The server under test
// keeps the calling thread to itself; the load generator and the stub share the worker's event loop, so the
// same client and stub work is done whether the load goes to the stub directly or through the server.
import { Worker } from 'node:worker_threads';

export interface LoadRequest {
  /** `http://127.0.0.1:1234` */
  readonly origin: string;
  readonly path: string;
  readonly method: 'POST' | 'GET';
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Requests in flight at once (one connection each). */
  readonly concurrency: number;
  /** Unrecorded requests first (JIT, connections, caches). */
  readonly warmup: number;
  /** Recorded requests. */
  readonly requests: number;
  /** Any other status counts as a failure. */
  readonly expectStatus: number;
  /**
   * A header whose value changes from request to request: request `i` (counted from 0 in the warm-up and
   * again in the recorded part) sends `values[i % values.length]`, e.g. many client addresses in
   * `x-forwarded-for` so that a per-address rate limit is not what is measured.
   */
  readonly cycleHeader?: { readonly name: string; readonly values: readonly string[] };
}

export interface LoadResult {
  /** Per-request latency in ms, in the order the requests were started. */
  readonly latencies: Float64Array;
  /** Wall time of the recorded requests. */
  readonly wallMs: number;
  /** Unexpected statuses (or `network error`) and how often, warm-up included. */
  readonly failures: Record<string, number>;
}

export interface StubStats {
  /** Requests the stub answered. */
  readonly received: number;
  /** The body of the last one, as the stub received it. */
  readonly lastBody: string;
}

export type LoadCommand =
  | { op: 'stub'; path: string; response: string; contentType: string }
  | { op: 'load'; request: LoadRequest }
  | { op: 'stubStats' }
  | { op: 'closePools' }
  | { op: 'close' };

export type LoadReply =
  | { op: 'stub'; port: number }
  | { op: 'load'; result: LoadResult }
  | { op: 'stubStats'; stats: StubStats }
  | { op: 'closePools' }
  | { op: 'close' };

type Pending = { resolve: (r: LoadReply) => void; reject: (e: Error) => void };

export class LoadWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (msg: { id: number; reply?: LoadReply; error?: string }) => {
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.reply !== undefined) p.resolve(msg.reply);
      else p.reject(new Error(`load worker: ${msg.error ?? 'no reply'}`));
    });
    worker.on('error', (err) => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
  }

  /** Starts the worker (TypeScript, loaded through tsx like the bench itself). */
  static async start(): Promise<LoadWorker> {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./http-load-worker.ts', import.meta.url).href;
    // Workers do not inherit tsx's loader hooks: register them, then load the TypeScript entry.
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    const worker = new Worker(boot, { eval: true });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: { ready?: boolean }) => {
        if (msg.ready) {
          worker.off('error', reject);
          resolve();
        }
      };
      worker.once('error', reject);
      worker.on('message', onMessage);
    });
    return new LoadWorker(worker);
  }

  #call(cmd: LoadCommand): Promise<LoadReply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, cmd });
    });
  }

  /** Starts the stub on 127.0.0.1 (ephemeral port): `POST path` answers 200 with `response`, anything else 404. */
  async stub(path: string, response: string, contentType = 'application/json'): Promise<number> {
    const r = await this.#call({ op: 'stub', path, response, contentType });
    if (r.op !== 'stub') throw new Error('load worker: unexpected reply');
    return r.port;
  }

  async load(request: LoadRequest): Promise<LoadResult> {
    const r = await this.#call({ op: 'load', request });
    if (r.op !== 'load') throw new Error('load worker: unexpected reply');
    return r.result;
  }

  async stubStats(): Promise<StubStats> {
    const r = await this.#call({ op: 'stubStats' });
    if (r.op !== 'stubStats') throw new Error('load worker: unexpected reply');
    return r.stats;
  }

  /** Closes the client connections (before the server under test shuts down). */
  async closePools(): Promise<void> {
    await this.#call({ op: 'closePools' });
  }

  /** Closes every connection and the stub, then ends the thread. */
  async close(): Promise<void> {
    try {
      await this.#call({ op: 'close' });
    } finally {
      await this.#worker.terminate();
    }
  }
}
