/**
 * A deterministic local stand-in for an embedding model: {@link stubEmbedding} (a pure function) and
 * {@link startEmbeddingStub}, a loopback HTTP server speaking OpenAI's `POST /v1/embeddings` that answers with
 * those vectors. For tests and the RAG bench (`bench/rag.ts`): no model weights, no network, the same vector
 * for the same text on every machine.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const STUB_EMBEDDING_DIMS = 256;
export const STUB_EMBEDDING_MODEL = 'stub-embedding-1';

// Words too common to say anything about a text's topic; they get no unigram feature (their trigrams remain).
const STOPWORDS = new Set(
  (
    'a about an and are as at be been but by can could did do does for from had has have how i if in into is ' +
    'it its me my no not of on or our she so than that the their them then there these they this those to ' +
    'was we were what when where which who why will with would you your'
  ).split(' '),
);

/** Light suffix stripping, so `returns`, `returned` and `returning` share their unigram feature. */
export function stubStem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of [
    'ational',
    'ization',
    'fulness',
    'ness',
    'ment',
    'ing',
    'edly',
    'ed',
    'ly',
    'ies',
    'es',
    's',
  ]) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      const stem = word.slice(0, -suffix.length);
      return suffix === 'ies' ? `${stem}y` : stem;
    }
  }
  return word;
}

/** FNV-1a, 32 bits: a stable hash of a feature's name. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The words of `text`: lower case, letters and digits only (Unicode aware). */
const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * The stub's embedding of `text`: feature hashing of stemmed word unigrams (weight 1, stopwords left out) and
 * of the character trigrams of each word padded with `#` (weight 0.5 shared over the word's trigrams), each
 * feature adding +w or −w (by a hash bit) to one of `dims` buckets; then L2-normalised. Pure and deterministic:
 * texts sharing words or word pieces get a higher cosine similarity, which is all a lexical-semantic stand-in
 * can promise. A text with no letters or digits maps to the first unit vector (never a zero vector, whose
 * cosine distance is undefined).
 * @throws RangeError when `dims` is not an integer from 1 to 4096
 */
export function stubEmbedding(text: string, dims: number = STUB_EMBEDDING_DIMS): number[] {
  if (!Number.isInteger(dims) || dims < 1 || dims > 4096)
    throw new RangeError('dims must be an integer from 1 to 4096');
  const v = new Float64Array(dims);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dims] = (v[h % dims] ?? 0) + (h & 0x80000000 ? -weight : weight);
  };
  for (const word of words(text)) {
    if (!STOPWORDS.has(word)) add(`w:${stubStem(word)}`, 1);
    const padded = `#${word}#`;
    const grams = padded.length - 2;
    for (let i = 0; i < grams; i++) add(`t:${padded.slice(i, i + 3)}`, 0.5 / Math.sqrt(grams));
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) return Array.from({ length: dims }, (_, i) => (i === 0 ? 1 : 0));
  return Array.from(v, (x) => x / norm);
}

/** One `POST /v1/embeddings` call as the stub received it. */
export interface EmbeddingCall {
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Status the stub answered (0: connection closed without an answer). */
  status: number;
}

/** What the stub does with the next calls: answer, answer 503, or close the connection without answering. */
export type EmbeddingFault = 'none' | '503' | 'close';

export interface EmbeddingStub {
  /** `http://127.0.0.1:<port>/v1`: the base URL a client (or a provider setting) takes. */
  baseUrl: string;
  origin: string;
  calls: EmbeddingCall[];
  /** Inputs embedded so far (every text of every successful call). */
  readonly embedded: number;
  /** Makes the next `times` calls (default: all until set back to 'none') fail that way. */
  fail(fault: EmbeddingFault, times?: number): void;
  close(): Promise<void>;
}

export interface EmbeddingStubOptions {
  /** When set, calls without `Authorization: Bearer <apiKey>` are answered 401 as OpenAI does. */
  apiKey?: string;
  /** Dimensions when the request names none (default 256). */
  dims?: number;
}

const openAiError = (message: string, type: string, code: string | null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } });

/** Little-endian float32 bytes in base64: what OpenAI sends for `encoding_format: "base64"`. */
function toBase64(vector: readonly number[]): string {
  const f = new Float32Array(vector);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

/** A rough token count (OpenAI counts BPE tokens; the stub counts words and punctuation). */
const tokens = (text: string) => (text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []).length;

/**
 * Starts a loopback HTTP server speaking OpenAI's `POST /v1/embeddings`: `input` a string or an array of
 * strings, `model` required, optional `dimensions` and `encoding_format` (`float` or `base64`), `usage` in the
 * answer; errors in OpenAI's `{ error: { message, type, param, code } }` shape (400 for a bad request, 401 for
 * a wrong key, 404 for another path). The vectors are {@link stubEmbedding}'s. `fail('503')` or
 * `fail('close')` makes it refuse, for tests of a provider that is down.
 */
export async function startEmbeddingStub(opts: EmbeddingStubOptions = {}): Promise<EmbeddingStub> {
  const calls: EmbeddingCall[] = [];
  let fault: EmbeddingFault = 'none';
  let faultsLeft = Number.POSITIVE_INFINITY;
  let embedded = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const call: EmbeddingCall = { headers: req.headers, body, status: 0 };
      calls.push(call);
      const send = (status: number, json: string) => {
        call.status = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(json);
      };
      if (fault !== 'none' && faultsLeft > 0) {
        faultsLeft--;
        const f = fault;
        if (faultsLeft === 0) fault = 'none';
        if (f === 'close') {
          req.socket.destroy();
          return;
        }
        send(503, openAiError('The server is overloaded, please retry', 'server_error', 'overloaded'));
        return;
      }
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method !== 'POST' || path !== '/v1/embeddings') {
        send(
          404,
          openAiError(`Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url'),
        );
        return;
      }
      if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
        send(401, openAiError('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'));
        return;
      }
      const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      const bad = (message: string, param: string) =>
        send(400, openAiError(message, 'invalid_request_error', null, param));
      if (typeof b.model !== 'string' || b.model === '') return bad('model is required', 'model');
      const input = b.input;
      const texts = typeof input === 'string' ? [input] : input;
      if (
        !Array.isArray(texts) ||
        texts.length === 0 ||
        texts.length > 2048 ||
        !texts.every((t): t is string => typeof t === 'string' && t !== '')
      )
        return bad('input must be a non-empty string or an array of 1 to 2048 non-empty strings', 'input');
      const dims = b.dimensions ?? opts.dims ?? STUB_EMBEDDING_DIMS;
      if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > 4096)
        return bad('dimensions must be an integer from 1 to 4096', 'dimensions');
      const format = b.encoding_format ?? 'float';
      if (format !== 'float' && format !== 'base64')
        return bad("encoding_format must be 'float' or 'base64'", 'encoding_format');
      const promptTokens = texts.reduce((n, t) => n + tokens(t), 0);
      embedded += texts.length;
      send(
        200,
        JSON.stringify({
          object: 'list',
          data: texts.map((t, index) => {
            const v = stubEmbedding(t, dims);
            return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(v) : v };
          }),
          model: b.model,
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
        }),
      );
    });
  });
  // Idle keep-alive connections stay open a minute: a caller whose event loop was busy (PGlite runs on the
  // caller's thread) must not reuse a socket the stub is closing at that moment.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/v1`,
    origin,
    calls,
    get embedded() {
      return embedded;
    },
    fail(f, times) {
      fault = f;
      faultsLeft = times ?? Number.POSITIVE_INFINITY;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
