/**
 * The one HTTP client of the tests and benches: fetch against a real listening server ({@link send}), bound to a
 * base URL and a bearer token ({@link api}) or to a source address with the token given per call ({@link client}).
 */
import { randomBytes } from 'node:crypto';

/** A documentation-range IPv6 address, random per call: per-IP counters (memory or Redis) never collide. */
export const randomIp = (): string => {
  const h = randomBytes(12).toString('hex');
  return `2001:db8:${h.match(/.{4}/g)?.join(':')}`;
};

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  /** Parsed JSON when the response is JSON, else an empty object. */
  body: T;
  /** The raw response text (for "never contains" checks). */
  text: string;
  headers: Headers;
  /** Milliseconds from sending the request to reading the whole answer (for timing comparisons). */
  ms: number;
}

export interface Api {
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
  get<T = Record<string, unknown>>(path: string): Promise<ApiResponse<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  put<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  patch<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  del<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
}

/**
 * One request to a real listening server with fetch. A body is sent as JSON only when given, so body-less DELETEs
 * carry no content-type (Fastify refuses an empty JSON body); bytes (a skill package) go as they are.
 */
export async function send<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; ip?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const h: Record<string, string> = { ...opts.headers };
  if (opts.ip !== undefined) h['x-forwarded-for'] = opts.ip;
  if (opts.token) h.authorization = `Bearer ${opts.token}`;
  const { body } = opts;
  const raw = body instanceof Uint8Array;
  if (body !== undefined) h['content-type'] ??= raw ? 'application/octet-stream' : 'application/json';
  const started = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: h,
    ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: unknown = {};
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, text, headers: res.headers, ms };
}

/** {@link send} bound to a server and (optionally) a bearer token. */
export function api(baseUrl: string, token?: string): Api {
  const request = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send<T>(baseUrl, method, path, { body, headers, ...(token ? { token } : {}) });
  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    patch: (path, body) => request('PATCH', path, body),
    del: (path, body) => request('DELETE', path, body),
  };
}

export interface Client {
  /** The address every request says it comes from (X-Forwarded-For). */
  readonly ip: string;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown },
  ): Promise<ApiResponse<T>>;
  get<T = Record<string, unknown>>(path: string, token?: string): Promise<ApiResponse<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown, token?: string): Promise<ApiResponse<T>>;
}

/**
 * {@link send} bound to a server and a source address, with the token given per call. The servers of these suites
 * trust X-Forwarded-For (RAMPART_TRUST_PROXY=127.0.0.1), so each client can be a distinct source IP: one test's
 * failed logins never spend another test's per-IP allowance.
 */
export function client(baseUrl: string, ip: string = randomIp()): Client {
  const call = <T>(method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
    send<T>(baseUrl, method, path, { ...opts, ip });
  return {
    ip,
    call,
    get: (path, token) => call('GET', path, token === undefined ? {} : { token }),
    post: (path, body, token) =>
      call('POST', path, {
        ...(body === undefined ? {} : { body }),
        ...(token === undefined ? {} : { token }),
      }),
  };
}
