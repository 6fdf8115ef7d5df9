// The part of autocannon 9's programmatic API the load bench uses (the package ships no types).
declare module 'autocannon' {
  interface AcRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (req: AcRequest, context: Record<string, unknown>) => AcRequest;
  }
  interface AcOptions {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    requests?: AcRequest[];
  }
  interface AcResult {
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
  }
  interface AcInstance {
    on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
    on(event: 'reqError', fn: (err: Error) => void): void;
    stop(): void;
  }
  function autocannon(opts: AcOptions, cb: (err: Error | null, result: AcResult) => void): AcInstance;
  export default autocannon;
}
