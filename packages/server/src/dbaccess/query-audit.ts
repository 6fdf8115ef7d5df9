import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { redact } from '@rampart/core/redact';
import type { SessionKeyRing } from '@rampart/core/tokens';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { canonicalJson } from '../platform/audit/canonical.js';

/** Each recorded parameter value is cut to this many characters (after redaction). */
export const PARAM_CHARS = 256;
/** The audit row's whole meta must fit in 8 KiB (platform/audit/append.ts); this much is kept for the rest. */
const META_LIMIT = 8 * 1024;
const META_MARGIN = 256;
const CLIENT_CHARS = 100;

/** A parameter as the query audit stores it: redacted and cut strings, finite numbers, booleans, null. */
export type AuditParam = string | number | boolean | null;

const cut = (s: string, n: number): string => {
  if (s.length <= n) return s;
  const head = s.slice(0, n);
  // Never end on half a surrogate pair.
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
};

/**
 * One bound value as the query audit keeps it: personal data replaced by the core redactor (`[EMAIL]`,
 * `[PHONE]`...) on the whole value, then cut to {@link PARAM_CHARS} characters (redacting first, so a cut never
 * leaves the start of an address). A number whose digits the redactor would change (a card or phone number sent
 * as a number) is stored as the redacted string.
 */
export function auditParam(v: unknown): AuditParam {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint') {
    const text = String(v);
    const red = redact(text);
    return red === text && typeof v === 'number' && Number.isFinite(v) ? v : cut(red, PARAM_CHARS);
  }
  return cut(redact(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v))), PARAM_CHARS);
}

/**
 * The recorded values of a call's parameters, in order, within `budget` bytes of canonical JSON: values past the
 * budget are left out (the row's `params` count still says how many there were).
 */
export function auditParams(values: readonly unknown[], budget: number): AuditParam[] {
  const out: AuditParam[] = [];
  let used = 2;
  for (const v of values) {
    const p = auditParam(v);
    const bytes = Buffer.byteLength(canonicalJson(p)) + 1;
    if (used + bytes > budget) break;
    used += bytes;
    out.push(p);
  }
  return out;
}

/** How many bytes of the 8 KiB audit meta are left for the parameter values once `rest` is in it. */
export const paramBudget = (rest: Record<string, unknown>): number =>
  Math.max(0, META_LIMIT - META_MARGIN - Buffer.byteLength(canonicalJson(rest)) - '"paramValues":,'.length);

/** The MCP client as the query audit records it. */
export interface McpClient {
  name: string;
  version: string;
  /** The handshake's client when name and version came from a bridge's headers (`rampart-mcp-bridge/0.1.0`). */
  via: string | null;
}

const clientInfo = z.object({ name: z.string(), version: z.string() });
const clip = (s: string) => cut(s, CLIENT_CHARS);

/** `clientInfo` of an `initialize` JSON-RPC request body (a lone message or in a batch), clipped; else null. */
export function initializeClient(body: unknown): { name: string; version: string } | null {
  for (const m of Array.isArray(body) ? body : [body]) {
    if (!m || typeof m !== 'object' || (m as { method?: unknown }).method !== 'initialize') continue;
    const info = clientInfo.safeParse((m as { params?: { clientInfo?: unknown } }).params?.clientInfo);
    if (info.success) return { name: clip(info.data.name), version: clip(info.data.version) };
  }
  return null;
}

// A signed MCP session id: `ms1.<payload>.<mac>`, payload base64url JSON {k: API key id, n: name, v: version}
// and the base64url HMAC-SHA256 of `ms1.<payload>` under a key derived with HKDF from each JWT key (own label,
// so it stands in for nothing else). The endpoint stays stateless: the id carries what the initialize said.
const PREFIX = 'ms1';
const MAX_SESSION_ID = 1024;
const derived = new WeakMap<SessionKeyRing, Buffer[]>();
function sessionKeys(ring: SessionKeyRing): Buffer[] {
  let keys = derived.get(ring);
  if (!keys) {
    keys = ring.ids.map((id) =>
      Buffer.from(hkdfSync('sha256', ring.keyFor(id) as Buffer, 'rampart', 'rampart mcp session v1', 32)),
    );
    derived.set(ring, keys);
  }
  return keys;
}
const mac = (key: Buffer, signed: string) => createHmac('sha256', key).update(signed).digest();

/** The session id returned on `initialize`: the client's name and version, bound to the API key, signed. */
export function signMcpSession(
  ring: SessionKeyRing,
  keyId: string,
  client: { name: string; version: string },
): string {
  const payload = Buffer.from(JSON.stringify({ k: keyId, n: client.name, v: client.version })).toString(
    'base64url',
  );
  const signed = `${PREFIX}.${payload}`;
  return `${signed}.${mac(sessionKeys(ring)[0] as Buffer, signed).toString('base64url')}`;
}

/** The client a session id names, if it is ours, intact, and issued to this API key; else null. */
export function readMcpSession(
  ring: SessionKeyRing,
  keyId: string,
  sessionId: string | undefined,
): { name: string; version: string } | null {
  if (!sessionId || sessionId.length > MAX_SESSION_ID) return null;
  const [prefix, payload = '', sig = '', ...rest] = sessionId.split('.');
  if (prefix !== PREFIX || rest.length > 0) return null;
  const given = Buffer.from(sig, 'base64url');
  let valid = false;
  for (const key of sessionKeys(ring)) {
    const want = mac(key, `${PREFIX}.${payload}`);
    valid = (given.length === want.length && timingSafeEqual(given, want)) || valid;
  }
  if (!valid) return null;
  try {
    const p = z
      .object({ k: z.string(), n: z.string(), v: z.string() })
      .parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    return p.k === keyId ? { name: clip(p.n), version: clip(p.v) } : null;
  } catch {
    return null;
  }
}

const header = (request: FastifyRequest, name: string): string | null => {
  const raw = request.headers[name];
  if (typeof raw !== 'string' || raw === '') return null;
  try {
    return clip(decodeURIComponent(raw));
  } catch {
    return clip(raw);
  }
};

/**
 * The MCP client of a request: the end client named by a bridge (`x-mcp-client-name` and
 * `x-mcp-client-version`, percent-encoded, which `rampart mcp` sets from its own stdio handshake), with the
 * handshake's client as `via`; else the client of the signed session id; else null. Both are what the client
 * declares about itself: the signature only proves the name was given at initialize under this API key.
 */
export function mcpClientOf(
  request: FastifyRequest,
  handshake: { name: string; version: string } | null,
): McpClient | null {
  const name = header(request, 'x-mcp-client-name');
  if (name !== null)
    return {
      name,
      version: header(request, 'x-mcp-client-version') ?? '',
      via: handshake ? `${handshake.name}/${handshake.version}` : null,
    };
  return handshake ? { ...handshake, via: null } : null;
}

/** The x-ai-model header: the model the client says it is, at most 200 characters; null when absent. */
export const declaredModel = (request: FastifyRequest): string | null =>
  String(request.headers['x-ai-model'] ?? '').slice(0, 200) || null;
