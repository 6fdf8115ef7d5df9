import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { ERROR_CODES } from '../src/platform/errors.js';
import { type Account, api, signup, uniqueEmail } from './fixtures.js';
import { startTestServer } from './helpers.js';

/**
 * Fuzz sweep over every documented route: malformed inputs generated from each route's own OpenAPI schema
 * (wrong types, missing and unknown properties, `__proto__` / `constructor` / `prototype` keys, huge strings,
 * deep nesting, unicode edge cases, extreme numbers, garbage path parameters and query strings, broken JSON,
 * wrong content types, missing or bogus credentials). Every generated input is checked against the schema by
 * a small validator below, so only inputs the route must refuse are sent: every answer must be a 4xx with a
 * JSON error code, within 10 s, the server must stay up, and the database must be unchanged.
 *
 * Reproduce a failure with the seed it prints: `RAMPART_FUZZ_SEED=<seed> npx vitest run fuzz-sweep`.
 */

const SEED = Number(process.env.RAMPART_FUZZ_SEED ?? 20_240_601);
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 10_000;
const HUGE = 200 * 1024;
const DEPTH = 2_000;

type Srv = Awaited<ReturnType<typeof startTestServer>>;

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  propertyNames?: Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  default?: unknown;
}

interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema: Schema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  security?: unknown[];
}

interface Route {
  method: string;
  path: string;
  op: Operation;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function hasType(t: string, v: unknown): boolean {
  switch (t) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isObj(v);
    default:
      return true;
  }
}

/**
 * Whether `v` may satisfy `s`. Over-approximates validity (anything not understood passes), so `!valid(...)`
 * proves a value must be refused. Lengths count UTF-16 units and patterns are JS regexes, as zod does.
 */
function valid(s: Schema | boolean | undefined, v: unknown): boolean {
  if (s === undefined || s === true) return true;
  if (s === false) return false;
  if (s.anyOf && !s.anyOf.some((b) => valid(b, v))) return false;
  if (s.oneOf && !s.oneOf.some((b) => valid(b, v))) return false;
  if (s.allOf && !s.allOf.every((b) => valid(b, v))) return false;
  if (s.enum && !s.enum.some((e) => e === v)) return false;
  if ('const' in s && s.const !== v) return false;
  if (s.type !== undefined && ![s.type].flat().some((t) => hasType(t, v))) return false;
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength) return false;
    if (s.maxLength !== undefined && v.length > s.maxLength) return false;
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(v)) return false;
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return false;
    if (s.maximum !== undefined && v > s.maximum) return false;
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return false;
    if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) return false;
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) return false;
    if (s.maxItems !== undefined && v.length > s.maxItems) return false;
    if (s.items && !v.every((x) => valid(s.items, x))) return false;
  }
  if (isObj(v)) {
    for (const k of s.required ?? []) if (!Object.hasOwn(v, k)) return false;
    for (const [k, x] of Object.entries(v)) {
      if (s.propertyNames && !valid(s.propertyNames, k)) return false;
      const p = s.properties && Object.hasOwn(s.properties, k) ? s.properties[k] : undefined;
      if (p ? !valid(p, x) : !valid(s.additionalProperties, x)) return false;
    }
  }
  return true;
}

/** A query-string value as zod sees it: numbers may be coerced, so judge the coerced number too. */
function validQuery(s: Schema, v: string): boolean {
  const types = s.type === undefined ? [] : [s.type].flat();
  if (types.includes('boolean')) return true; // z.coerce.boolean() takes anything
  if (types.includes('integer') || types.includes('number')) return valid(s, v) || valid(s, Number(v));
  return valid(s, v);
}

/** A best-effort valid value, so a single malformed property is what the route sees. */
function example(s: Schema | undefined, depth = 0): unknown {
  if (!s || depth > 6) return 'x';
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if ('const' in s) return s.const;
  const branch = s.anyOf?.[0] ?? s.oneOf?.[0];
  if (branch) return example(branch, depth + 1);
  const t = [s.type ?? 'string'].flat()[0];
  if (t === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(s.properties ?? {})) out[k] = example(p, depth + 1);
    return out;
  }
  if (t === 'array') return Array.from({ length: s.minItems ?? 1 }, () => example(s.items, depth + 1));
  if (t === 'integer' || t === 'number') return s.minimum ?? 1;
  if (t === 'boolean') return false;
  if (t === 'null') return null;
  const candidates = [
    'x'.repeat(Math.max(1, s.minLength ?? 1)),
    'fuzz@example.com',
    randomUUID(),
    new Date().toISOString(),
    'https://fuzz.example.com/hook',
    '*/5 * * * *',
    'fuzz-value-0123456789abcdef',
  ];
  return candidates.find((c) => valid(s, c)) ?? candidates[0];
}

const WRONG = [{ nested: [] }, 'fuzz', 12_345.5, true, null, [], -1, ''];

/** A value of the wrong kind for `s`, or undefined when `s` accepts everything we can think of. */
const wrongFor = (s: Schema | undefined): unknown => WRONG.find((w) => !valid(s, w));

/** Object bodies as raw JSON text: keys like `__proto__` survive, numbers like `-0` and `1e999` stay as written. */
type Entries = Array<[string, string]>;
const render = (e: Entries): string => `{${e.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const entriesOf = (o: Record<string, unknown>): Entries =>
  Object.entries(o).map(([k, v]) => [k, JSON.stringify(v)]);

/** Makes a body text the schema refuses, if it does not already: one property of the wrong type, or an array. */
function forceInvalid(s: Schema, text: string): { text: string; forced: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { text, forced: false };
  }
  if (!valid(s, parsed)) return { text, forced: false };
  if (isObj(parsed) && text.trimStart().startsWith('{')) {
    const props = [...(s.required ?? []), ...Object.keys(s.properties ?? {})];
    for (const p of props) {
      const w = wrongFor(s.properties?.[p]);
      if (w === undefined) continue;
      // JSON.parse keeps the last duplicate: the wrong value wins.
      const t = `${text.trimEnd().slice(0, -1)}${text.trim() === '{}' ? '' : ','}${JSON.stringify(p)}:${JSON.stringify(w)}}`;
      if (!valid(s, JSON.parse(t))) return { text: t, forced: true };
    }
  }
  return { text: `[${text}]`, forced: true };
}

const nested = (kind: 'array' | 'object' | 'mixed', depth: number): string => {
  let s = '0';
  for (let i = 0; i < depth; i++) {
    const arr = kind === 'array' || (kind === 'mixed' && i % 2 === 0);
    s = arr ? `[${s}]` : `{"a":${s}}`;
  }
  return s;
};

const UNICODE_EDGES = [
  '\ud800',
  '\udfff',
  'a\udc00\ud800b',
  '\u0000',
  'nul\u0000inside',
  '\u202egnp.exe',
  '\u200f\u202b\u2066rtl',
  '\ufeff',
  '\uffff\ufffe',
  '\u{1F4A9}\u{1F469}\u200d\u{1F469}\u200d\u{1F467}',
  '\u{10FFFF}',
  `e${'\u0301'.repeat(10_000)}`,
  '\u200b'.repeat(100),
  'İıſK',
  '\r\n\t\u2028\u2029',
];
const unicodeArb = fc.oneof(
  fc.constantFrom(...UNICODE_EDGES),
  fc.string({
    unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    minLength: 1,
  }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
const NUMBER_EDGES = [
  '1e308',
  '-1e308',
  '1e999',
  '-1e999',
  '-0',
  '"NaN"',
  '"Infinity"',
  '9007199254740993',
  '1e-400',
  '0.1',
  '-1',
];
const jsonValueArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const brokenJsonArb = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    "{'a':1}",
    '{"a":1,}',
    '[1,2',
    'nul',
    '{"a":"\\x41"}',
    '{"a":"\\ud800',
    '\u0000',
    '{"a":01}',
    'NaN',
    '{"a":1}{"b":2}',
    `{"a":"${'x'.repeat(HUGE)}`,
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((t) => {
    try {
      JSON.parse(t);
      return false;
    } catch {
      return true;
    }
  }),
);
const garbageParamArb = fc.oneof(
  fc.constantFrom(
    'not-a-uuid',
    '../../../etc/passwd',
    '..',
    '.',
    '__proto__',
    'constructor',
    'prototype',
    "1' OR '1'='1",
    '0',
    '-1',
    'null',
    'x'.repeat(5_000),
    `${randomUUID()}x`,
    '\u202e\u0000',
    '%00',
    'UPPER_CASE-NAME!',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
);
const garbageQueryValueArb = fc.oneof(
  fc.constantFrom(
    '',
    'abc',
    '-1',
    '0',
    '1.5',
    '1e309',
    'NaN',
    'Infinity',
    '99999999999999999999',
    'true',
    '[]',
  ),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.constant('q'.repeat(10_000)),
);
const BAD_TOKENS = [
  'rk_not-a-real-key',
  'rt_0000',
  'cli_zzzz',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'x'.repeat(4_096),
  '__proto__',
];
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'text/html',
  'application/x-www-form-urlencoded',
];
const POLLUTION_QUERY =
  '__proto__[polluted]=1&constructor[prototype][polluted]=1&__proto__=x&%5F%5Fproto%5F%5F.polluted=1&a[b][c][d]=1';

/** Deterministic per-route, per-kind seeds so one failing variant reproduces alone. */
const seedFor = (key: string): number =>
  (SEED ^ createHash('sha256').update(key).digest().readUInt32BE(0)) >>> 0;
const sample = <T>(arb: fc.Arbitrary<T>, key: string): T => {
  const [v] = fc.sample(arb, { seed: seedFor(key), numRuns: 1 });
  if (v === undefined) throw new Error(`no sample for ${key}`);
  return v;
};

interface Variant {
  route: Route;
  kind: string;
  path: string;
  query?: string;
  body?: string;
  contentType?: string;
  token: string | null;
  /** Only unknown query keys on a read: the route may legitimately answer 2xx. */
  tolerated?: boolean;
}

interface Targets {
  owner: Account;
  apiKey: string;
  apiKeyId: string;
  runtimeToken: string;
  runtimeTokenId: string;
  jobId: string;
  widgetId: string;
  secretName: string;
}

function paramValue(route: Route, name: string, t: Targets): string {
  const p = route.path;
  if (name === 'orgId') return t.owner.orgId;
  if (name === 'userId') return t.owner.userId;
  if (name === 'widgetId') return t.widgetId;
  if (name === 'id') {
    if (p.includes('/jobs/')) return t.jobId;
    if (p.includes('/widgets/')) return t.widgetId;
    if (p.includes('/api-keys/')) return t.apiKeyId;
    if (p.includes('/runtime-tokens/')) return t.runtimeTokenId;
    return randomUUID();
  }
  if (name === 'name') {
    if (p.includes('/secrets/')) return t.secretName;
    if (p.includes('/skills/')) return 'fuzz-skill';
    if (p.includes('/providers/')) return 'fuzz-provider';
    return 'fuzz';
  }
  return randomUUID();
}

/** The credential the route's surface accepts, so authentication passes and validation is what answers. */
function tokenFor(route: Route, t: Targets): string {
  if (route.path.startsWith('/v1/') || route.path === '/mcp') return t.apiKey;
  if (route.path.startsWith('/api/runtime/')) return t.runtimeToken;
  return t.owner.token;
}

function buildPath(route: Route, t: Targets, override?: { name: string; raw: string }): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    override?.name === name ? override.raw : encodeURIComponent(paramValue(route, name, t)),
  );
}

const encodable = (s: string): string | undefined => {
  try {
    return encodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/** Every malformed variant for one route; each provably refused by the route's schema or transport. */
function variantsFor(route: Route, t: Targets): Variant[] {
  const key = `${route.method} ${route.path}`;
  const params = route.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const jsonSchema = route.op.requestBody?.content['application/json']?.schema;
  const hasBody = route.method !== 'GET';
  const secured = (route.op.security ?? []).length > 0;
  const token = tokenFor(route, t);
  const basePath = buildPath(route, t);
  const baseQuery = queryParams
    .filter((q) => q.required)
    .map((q) => `${q.name}=${encodeURIComponent(String(example(q.schema)))}`)
    .join('&');
  const baseBody = jsonSchema ? JSON.stringify(example(jsonSchema)) : undefined;
  const out: Variant[] = [];
  const add = (v: Omit<Variant, 'route' | 'path' | 'token'> & { path?: string; token?: string | null }) =>
    out.push({ route, path: basePath, token, ...(baseQuery ? { query: baseQuery } : {}), ...v });

  if (jsonSchema && isObj(example(jsonSchema))) {
    const s = jsonSchema;
    const base = example(s) as Record<string, unknown>;
    const props = Object.keys(s.properties ?? {});
    const stringProps = props.filter((p) => [s.properties?.[p]?.type ?? 'string'].flat().includes('string'));
    const numberProps = props.filter((p) =>
      [s.properties?.[p]?.type].flat().some((x) => x === 'integer' || x === 'number'),
    );
    const json = (kind: string, text: string) => {
      const f = forceInvalid(s, text);
      add({
        kind: f.forced ? `${kind}+forced-invalid` : kind,
        body: f.text,
        contentType: 'application/json',
      });
    };
    // Wrong types, one property at a time.
    for (const [i, p] of props
      .filter((x) => wrongFor(s.properties?.[x]) !== undefined)
      .slice(0, 3)
      .entries()) {
      const sub = s.properties?.[p];
      const w = sample(
        jsonValueArb.filter((v) => !valid(sub, v)),
        `${key}:wrong:${i}`,
      );
      json(`wrong-type ${p}`, render([...entriesOf(base).filter(([k]) => k !== p), [p, JSON.stringify(w)]]));
    }
    // Missing required property, with the missing one planted on the prototype (must not count as present).
    for (const r of (s.required ?? []).slice(0, 1)) {
      const rest = entriesOf(base).filter(([k]) => k !== r);
      json(
        `missing ${r} (offered via __proto__)`,
        render([['__proto__', JSON.stringify({ [r]: base[r] })], ...rest]),
      );
    }
    // Prototype-pollution keys.
    const pollution = sample(
      fc.constantFrom<Entries>(
        [['__proto__', '{"isAdmin":true,"role":"owner"}']],
        [['constructor', '{"prototype":{"isAdmin":true}}']],
        [['prototype', '{"polluted":true}']],
        [
          ['__proto__', '{"polluted":1}'],
          ['constructor', '{"prototype":{"polluted":1}}'],
        ],
      ),
      `${key}:proto`,
    );
    json('prototype keys', render([...entriesOf(base), ...pollution]));
    // Unknown extra properties.
    const extra = sample(
      fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), jsonValueArb, {
        minKeys: 1,
        maxKeys: 5,
      }),
      `${key}:extra`,
    );
    json(
      'unknown properties',
      render([...entriesOf(base), ...entriesOf(extra).filter(([k]) => !props.includes(k))]),
    );
    // A huge string.
    if (stringProps.length) {
      const p = sample(fc.constantFrom(...stringProps), `${key}:huge`);
      const ch = sample(fc.constantFrom('a', '\u{1F4A9}', '\u0000', '"', '\\', '\ud800'), `${key}:hugech`);
      json(
        `huge string ${p}`,
        render([...entriesOf(base), [p, JSON.stringify(ch.repeat(HUGE / ch.length))]]),
      );
    }
    // Deep nesting, in a property or as the whole body.
    const deepKind = sample(
      fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
      `${key}:deep`,
    );
    const deepProp = props[0];
    if (deepProp && sample(fc.boolean(), `${key}:deepwhere`)) {
      json(
        `nesting depth ${DEPTH} (${deepKind}) in ${deepProp}`,
        render([...entriesOf(base), [deepProp, nested(deepKind, DEPTH)]]),
      );
    } else
      add({
        kind: `nesting depth ${DEPTH} (${deepKind}) as body`,
        body: nested(deepKind, DEPTH),
        contentType: 'application/json',
      });
    // Unicode edge cases (lone surrogates are written as \ud800 escapes by JSON.stringify).
    if (stringProps.length) {
      const p = sample(fc.constantFrom(...stringProps), `${key}:uni`);
      const u = sample(unicodeArb, `${key}:univ`);
      json(`unicode ${p}`, render([...entriesOf(base), [p, JSON.stringify(u)]]));
    }
    // Extreme numbers.
    const np = numberProps[0] ?? props[0];
    if (np) {
      const n = sample(fc.constantFrom(...NUMBER_EDGES), `${key}:num`);
      json(`number ${n} in ${np}`, render([...entriesOf(base), [np, n]]));
    }
    // Not an object at all.
    const root = sample(
      fc.oneof(
        fc.array(jsonValueArb, { maxLength: 3 }),
        fc.string({ maxLength: 10 }),
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
      ),
      `${key}:root`,
    );
    add({ kind: 'non-object body', body: JSON.stringify(root), contentType: 'application/json' });
  }
  if (hasBody) {
    add({
      kind: 'broken JSON',
      body: sample(brokenJsonArb, `${key}:broken`),
      contentType: 'application/json',
    });
    const accepted = Object.keys(route.op.requestBody?.content ?? {});
    const ct = sample(
      fc.constantFrom(...WRONG_CONTENT_TYPES.filter((c) => !accepted.includes(c.split(';')[0] ?? c))),
      `${key}:ct`,
    );
    add({ kind: `content-type ${ct}`, body: baseBody ?? 'x=1', contentType: ct });
    if (!jsonSchema) {
      add({
        kind: 'prototype keys (no body schema)',
        body: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
        contentType: 'application/json',
      });
    }
  }
  // Garbage path parameters (percent-encoded, so `../` stays inside its segment), with a polluting query.
  for (const p of pathParams) {
    const g = sample(
      garbageParamArb.filter((v) => !valid(p.schema, v) && encodable(v) !== undefined),
      `${key}:path:${p.name}`,
    );
    add({
      kind: `path ${p.name}=${JSON.stringify(g.slice(0, 40))}${g.length > 40 ? `…(${g.length})` : ''}`,
      path: buildPath(route, t, { name: p.name, raw: encodable(g) ?? '' }),
      query: [baseQuery, POLLUTION_QUERY].filter(Boolean).join('&'),
      ...(baseBody ? { body: baseBody, contentType: 'application/json' } : {}),
    });
  }
  if (pathParams.length) {
    const p = pathParams[0] as Parameter;
    const raw = sample(fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80'), `${key}:rawpath`);
    add({
      kind: `undecodable path ${p.name}=${raw}`,
      path: buildPath(route, t, { name: p.name, raw }),
      ...(baseBody ? { body: baseBody, contentType: 'application/json' } : {}),
    });
  }
  // Invalid query values, and a missing required one.
  for (const q of queryParams.slice(0, 3)) {
    const v = sample(
      garbageQueryValueArb.filter((x) => !validQuery(q.schema, x) && encodable(x) !== undefined),
      `${key}:query:${q.name}`,
    );
    const others = queryParams.filter((o) => o.required && o.name !== q.name);
    add({
      kind: `query ${q.name}=${JSON.stringify(v.slice(0, 40))}`,
      query: [
        ...others.map((o) => `${o.name}=${encodeURIComponent(String(example(o.schema)))}`),
        `${q.name}=${encodable(v)}`,
        POLLUTION_QUERY,
      ].join('&'),
    });
  }
  for (const q of queryParams.filter((x) => x.required)) {
    add({ kind: `query ${q.name} missing`, query: POLLUTION_QUERY });
  }
  // Credentials: none, and bogus ones. A public route gets a body it must refuse instead.
  const mustRefuseBody = (kind: string) => {
    if (!jsonSchema || !baseBody) return {};
    const f = forceInvalid(jsonSchema, baseBody);
    return {
      body: f.text,
      contentType: 'application/json',
      kind: f.forced ? `${kind}+forced-invalid` : kind,
    };
  };
  if (secured) {
    add({
      kind: 'no credentials',
      token: null,
      ...(baseBody ? { body: baseBody, contentType: 'application/json' } : {}),
    });
    const bad = sample(fc.constantFrom(...BAD_TOKENS), `${key}:token`);
    add({
      kind: `bogus credential ${bad.slice(0, 20)}`,
      token: bad,
      ...(baseBody ? { body: baseBody, contentType: 'application/json' } : {}),
    });
  } else if (jsonSchema) {
    add({ kind: 'no credentials', token: null, ...mustRefuseBody('no credentials') });
  }
  // Reads: unknown and polluting query keys may be ignored (2xx allowed), but never crash.
  if (route.method === 'GET' && !queryParams.some((q) => q.required)) {
    for (let i = 0; i < 3; i++) {
      const junk = sample(
        garbageQueryValueArb.filter((x) => encodable(x) !== undefined),
        `${key}:junk:${i}`,
      );
      add({
        kind: `unknown query keys #${i}`,
        query: `${POLLUTION_QUERY}&${encodable(junk)}=${encodable(junk)}`,
        tolerated: true,
      });
    }
  }
  return out;
}

interface Outcome {
  v: Variant;
  status: number;
  text: string;
  contentType: string;
  location: string | null;
  ms: number;
  error?: string;
}

async function send(baseUrl: string, v: Variant): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (v.token !== null) headers.authorization = `Bearer ${v.token}`;
  if (v.contentType) headers['content-type'] = v.contentType;
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}${v.path}${v.query ? `?${v.query}` : ''}`, {
      method: v.route.method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(v.body !== undefined ? { body: v.body } : {}),
    });
    const text = await res.text();
    return {
      v,
      status: res.status,
      text,
      contentType: res.headers.get('content-type') ?? '',
      location: res.headers.get('location'),
      ms: performance.now() - started,
    };
  } catch (err) {
    return {
      v,
      status: 0,
      text: '',
      contentType: '',
      location: null,
      ms: performance.now() - started,
      error: String(err),
    };
  }
}

/**
 * Rows that refused requests add by design, each with the reason. Everything else must be byte-for-byte equal.
 * Only the rows named here are left out, so any other audit entry a refused request writes still fails the test.
 */
const EXCLUDED_ROWS: Record<string, { keep: string; why: string }> = {
  audit_log: {
    keep: `NOT (org_id IS NULL AND action IN ('auth.oidc_refused', 'billing.webhook_rejected'))`,
    why: 'refused OIDC callbacks and unsigned billing webhooks are recorded on the platform audit chain',
  },
  audit_heads: {
    keep: 'org_id IS NOT NULL',
    why: 'the platform audit chain head advances with those records (org chains must not move)',
  },
};

/** Columns left out of every table: `last_used_at` is stamped when a credential authenticates (the read probes allowed to succeed use the API key). */
const EXCLUDED_COLUMNS = ['last_used_at'];

/** Row count and content hash of every public table, read as the owner (past RLS). */
async function snapshot(db: Database): Promise<Record<string, string>> {
  return db.owner(async (q) => {
    const { rows: tables } = await q.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const out: Record<string, string> = {};
    for (const { t } of tables) {
      const where = EXCLUDED_ROWS[t] ? `WHERE ${EXCLUDED_ROWS[t].keep}` : '';
      const { rows } = await q.query<{ n: number; h: string }>(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(j, E'\\n' ORDER BY j), '')) AS h
           FROM (SELECT (to_jsonb(x) - $1::text[])::text AS j FROM "${t}" x ${where}) s`,
        [EXCLUDED_COLUMNS],
      );
      out[t] = `${rows[0]?.n} rows, md5 ${rows[0]?.h}`;
    }
    return out;
  });
}

/** Routes whose success answer is not JSON (redirects, streams, CSV, packages). */
const nonJsonSuccess = (r: Route): boolean =>
  !Object.keys(r.op.responses?.['200']?.content ?? r.op.responses?.['201']?.content ?? {}).includes(
    'application/json',
  ) && !Object.keys(r.op.responses?.['202']?.content ?? {}).includes('application/json');

function problem(o: Outcome): string | undefined {
  const r = o.v.route;
  if (o.error) return `no answer: ${o.error}`;
  if (o.status >= 500) return 'server error';
  if (o.ms > REQUEST_TIMEOUT_MS) return `slow: ${Math.round(o.ms)} ms`;
  if (o.status < 400) {
    if (o.v.tolerated && o.status < 300) return undefined;
    // The OIDC callback refuses by redirecting to the dashboard with #error=... (documented).
    if (r.path === '/api/auth/oidc/callback' && o.status === 303 && o.location?.includes('#error='))
      return undefined;
    return 'malformed input accepted';
  }
  let body: unknown;
  try {
    body = JSON.parse(o.text);
  } catch {
    return 'error answer is not JSON';
  }
  if (!o.contentType.includes('application/json')) return `error answer content-type ${o.contentType}`;
  if (isObj(body) && typeof body.error === 'string' && body.error.length > 0) return undefined;
  // MCP speaks JSON-RPC: its errors are { jsonrpc, error: { code, message } }.
  if (nonJsonSuccess(r) && isObj(body) && isObj(body.error) && typeof body.error.code === 'number')
    return undefined;
  return 'error answer has no error code';
}

const describeOutcome = (o: Outcome, why: string): string =>
  `${why}: ${o.v.route.method} ${o.v.route.path} [${o.v.kind}] -> ${o.status} ` +
  `(${o.v.path.slice(0, 120)}${o.v.query ? `?${o.v.query.slice(0, 80)}` : ''}; body ${o.v.body?.length ?? 0} B) ` +
  `answer: ${o.text.slice(0, 300)}`;

describe(`fuzz sweep over every documented route (seed ${SEED})`, () => {
  let srv: Srv;
  let t: Targets;
  let routes: Route[];
  /** Filled by the sweep, read by the error-model check after it. */
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    srv = await startTestServer('pglite', {
      RAMPART_BILLING_WEBHOOK_SECRET: 'fuzz-billing-secret-0123456789',
    });
    const owner = await signup(srv.baseUrl, { email: uniqueEmail('fuzz-owner'), orgName: 'Fuzz Corp' });
    const a = api(srv.baseUrl, owner.token);
    const o = `/api/orgs/${owner.orgId}`;
    const key = await a.post<{ id: string; key: string }>(`${o}/api-keys`, { name: 'fuzz key' });
    const rt = await a.post<{ id: string; token: string }>(`${o}/runtime-tokens`, { name: 'fuzz runtime' });
    const secret = await a.put(`${o}/secrets/FUZZ_SECRET`, { value: 'sk-fuzz-secret-value-0000' });
    const job = await a.post<{ id: string }>(`${o}/jobs`, {
      name: 'fuzz job',
      schedule: '*/5 * * * *',
      url: 'https://fuzz.example.com/hook',
    });
    const widget = await a.post<{ id: string }>(`${o}/widgets`, {
      name: 'fuzz widget',
      allowedOrigins: ['https://fuzz.example.com'],
      model: 'm',
    });
    expect([key.status, rt.status, secret.status, job.status, widget.status], widget.text).toEqual([
      201, 201, 200, 201, 201,
    ]);
    t = {
      owner,
      apiKey: key.body.key,
      apiKeyId: key.body.id,
      runtimeToken: rt.body.token,
      runtimeTokenId: rt.body.id,
      jobId: job.body.id,
      widgetId: widget.body.id,
      secretName: 'FUZZ_SECRET',
    };
    const doc = (await (await fetch(`${srv.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const methods = new Set(['get', 'post', 'put', 'patch', 'delete']);
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([m]) => methods.has(m))
        .map(([m, op]) => ({ method: m.toUpperCase(), path, op })),
    );
  });
  afterAll(() => srv?.close());

  it('refuses every malformed input with a 4xx JSON error, stays up, and changes nothing', async () => {
    expect(routes.length).toBeGreaterThanOrEqual(90);
    const variants = routes.flatMap((r) => variantsFor(r, t));
    // Let anything the setup started (last-used stamps, audit batches) land before the first snapshot.
    await new Promise((r) => setTimeout(r, 500));
    const before = await snapshot(srv.rampart.services.db);

    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < variants.length) {
          const v = variants[next++] as Variant;
          outcomes.push(await send(srv.baseUrl, v));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    const health = await fetch(`${srv.baseUrl}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await new Promise((r) => setTimeout(r, 500));
    const after = await snapshot(srv.rampart.services.db);

    const perRoute = new Map<string, number>();
    for (const v of variants)
      perRoute.set(
        `${v.route.method} ${v.route.path}`,
        (perRoute.get(`${v.route.method} ${v.route.path}`) ?? 0) + 1,
      );
    const statuses = new Map<number, number>();
    for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
    const tolerated2xx = outcomes.filter((o) => o.v.tolerated && o.status < 300).length;
    const slowest = outcomes.reduce((m, o) => (o.ms > m.ms ? o : m));
    console.log(
      `[fuzz-sweep] seed ${SEED}: ${routes.length} routes, ${outcomes.length} requests ` +
        `(${Math.min(...perRoute.values())}-${Math.max(...perRoute.values())} per route) in ${seconds.toFixed(1)} s; ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}; ` +
        `${tolerated2xx} read probes with unknown query keys answered 2xx; ` +
        `slowest ${Math.round(slowest.ms)} ms (${slowest.v.route.method} ${slowest.v.route.path} [${slowest.v.kind}])`,
    );

    const problems = outcomes
      .map((o) => ({ o, why: problem(o) }))
      .filter((x): x is { o: Outcome; why: string } => x.why !== undefined)
      .map(({ o, why }) => describeOutcome(o, why))
      .sort();
    expect(problems, `seed ${SEED}:\n${problems.join('\n')}`).toEqual([]);
    expect(health.status).toBe(200);
    expect(after, `seed ${SEED}: the database changed`).toEqual(before);
  }, 180_000);

  it("every refusal in the sweep uses Rampart's error model and does not echo the request path", () => {
    expect(outcomes.length).toBeGreaterThan(0);
    const codes = new Set<string>(ERROR_CODES);
    const problems = outcomes
      .filter((o) => o.status >= 400 && !(nonJsonSuccess(o.v.route) && o.text.includes('"jsonrpc"')))
      .map((o) => {
        let body: unknown;
        try {
          body = JSON.parse(o.text);
        } catch {
          return describeOutcome(o, 'error answer is not JSON');
        }
        if (!isObj(body) || typeof body.error !== 'string' || !codes.has(body.error)) {
          return describeOutcome(o, 'error is not a documented error code');
        }
        if (typeof body.requestId !== 'string') return describeOutcome(o, 'error answer has no requestId');
        // The not-found handler never echoes the path: it may carry a token. No other refusal may either.
        const segment = o.v.path.split('/').find((x) => x.length > 40);
        if (segment && o.text.includes(segment.slice(0, 40)))
          return describeOutcome(o, 'error answer echoes the path');
        return undefined;
      })
      .filter((x): x is string => x !== undefined)
      .sort();
    expect(problems, `seed ${SEED}:\n${problems.join('\n')}`).toEqual([]);
  });
});
