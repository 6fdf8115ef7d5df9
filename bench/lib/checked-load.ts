// Closed-loop loads through the load worker, each checked against the worker's stub: every answer as
// expected, and the stub saw exactly the requests sent (none lost, none doubled).
import type { LoadRequest, LoadResult, LoadWorker } from './http-load.js';
import { concatSamples, type LatencySummary, summarise } from './latency.js';

/** A load at a concurrency, with warm-up and recorded request counts. */
export type Target = (concurrency: number, warmup: number, requests: number) => LoadRequest;

/** JSON POSTs of `body` to `origin` + `path`, each expected to be answered 200. */
export const postTarget =
  (origin: string, path: string, headers: Record<string, string>, body: string): Target =>
  (concurrency, warmup, requests) => ({
    origin,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    concurrency,
    warmup,
    requests,
    expectStatus: 200,
  });

/** One summary of the latencies of several rounds, over their summed wall time. */
export const pooled = (rs: readonly LoadResult[]): LatencySummary =>
  summarise(
    concatSamples(rs.map((x) => x.latencies)),
    rs.reduce((t, x) => t + x.wallMs, 0),
  );

/** Sends loads through the worker and checks each against what the stub saw. */
export class CheckedLoader {
  readonly #worker: LoadWorker;
  readonly #failures: string[];
  #expectedAtStub = 0;
  /** Requests sent through the worker, and those answered with another status or not at all. */
  sent = 0;
  failed = 0;

  constructor(worker: LoadWorker, failures: string[]) {
    this.#worker = worker;
    this.#failures = failures;
  }

  /** Requests that reached the stub by another way (the main thread's checks). */
  sentOutside(n: number): void {
    this.#expectedAtStub += n;
  }

  async run(what: string, req: LoadRequest): Promise<LoadResult> {
    const result = await this.#worker.load(req);
    this.#expectedAtStub += req.warmup + req.requests;
    const bad = Object.entries(result.failures);
    this.sent += req.warmup + req.requests;
    this.failed += bad.reduce((t, [, n]) => t + n, 0);
    if (bad.length > 0)
      this.#failures.push(`${what}: unexpected answers ${bad.map(([k, n]) => `${k} × ${n}`).join(', ')}`);
    const { received } = await this.#worker.stubStats();
    if (bad.length === 0 && received !== this.#expectedAtStub)
      this.#failures.push(
        `${what}: the stub saw ${received} requests in all, expected ${this.#expectedAtStub}`,
      );
    this.#expectedAtStub = received;
    return result;
  }

  /** The body the stub received last. */
  async lastBody(): Promise<string> {
    return (await this.#worker.stubStats()).lastBody;
  }
}
