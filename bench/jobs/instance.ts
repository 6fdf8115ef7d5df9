// The main thread's handle on one runner instance (a worker thread running instance-worker.ts).
import { Worker } from 'node:worker_threads';
import type { Command, DrainResult, HttpResult, InstanceConfig, RunRows, SetupResult } from './protocol.js';

type Pending = { resolve: (r: unknown) => void; reject: (e: Error) => void };

export class Instance {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #exited = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (msg: { id: number; reply?: unknown; error?: string }) => {
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.error === undefined) p.resolve(msg.reply);
      else p.reject(new Error(`runner instance: ${msg.error}`));
    });
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => {
      this.#exited = true;
      this.#fail(new Error(`runner instance exited (code ${code})`));
    });
  }

  #fail(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Starts a worker with its own Rampart (TypeScript, loaded through tsx like the bench itself). */
  static async start(config: InstanceConfig): Promise<Instance> {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./instance-worker.ts', import.meta.url).href;
    // Workers do not inherit tsx's loader hooks: register them, then load the TypeScript entry.
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    const worker = new Worker(boot, { eval: true, workerData: config });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: { ready?: boolean }) => {
        if (msg.ready) {
          worker.off('error', reject);
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.once('error', reject);
      worker.on('message', onMessage);
    });
    return new Instance(worker);
  }

  #call<T>(cmd: Command): Promise<T> {
    if (this.#exited) return Promise.reject(new Error('runner instance has exited'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.#worker.postMessage({ id, cmd });
    });
  }

  setup(orgs: number, jobsPerOrg: number, url: string, body: string): Promise<SetupResult> {
    return this.#call({ op: 'setup', orgs, jobsPerOrg, url, body });
  }

  drain(now: Date, profile = false): Promise<DrainResult> {
    return this.#call({ op: 'drain', now: now.toISOString(), profile });
  }

  setDue(slot: Date, orgs: number | null = null): Promise<void> {
    return this.#call({ op: 'due', slot: slot.toISOString(), orgs });
  }

  retarget(url: string): Promise<void> {
    return this.#call({ op: 'retarget', url });
  }

  runs(filter: { slot?: Date; since?: Date }): Promise<RunRows> {
    return this.#call({
      op: 'runs',
      slot: filter.slot?.toISOString() ?? null,
      since: filter.since?.toISOString() ?? null,
    });
  }

  start(): Promise<void> {
    return this.#call({ op: 'start' });
  }

  stop(): Promise<void> {
    return this.#call({ op: 'stop' });
  }

  http(
    mode: 'plain' | 'guarded',
    url: string,
    body: string,
    requests: number,
    concurrency: number,
  ): Promise<HttpResult> {
    return this.#call({ op: 'http', mode, url, body, requests, concurrency });
  }

  async close(): Promise<void> {
    try {
      if (!this.#exited) await this.#call({ op: 'close' });
    } finally {
      await this.#worker.terminate();
    }
  }
}
