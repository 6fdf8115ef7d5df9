/**
 * Generators and a small JSON-schema validator for the fuzz sweep (fuzz-sweep.test.ts): every input produced here
 * is proven invalid for its route's OpenAPI schema before it is sent.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Account } from '@rampart/testing';
import fc from 'fast-check';
import type { startTestServer } from './helpers.js';

export const SEED = Number(process.env.RAMPART_FUZZ_SEED ?? 20_240_601);
export const CONCURRENCY = 4;
export const REQUEST_TIMEOUT_MS = 10_000;
export const HUGE = 200 * 1024;
export const DEPTH = 2_000;

export type Srv = Awaited<ReturnType<typeof startTestServer>>;

export interface Schema {
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

export interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema: Schema;
}

export interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  security?: unknown[];
}

export interface Route {
  method: string;
  path: string;
  op: Operation;
}

export const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function hasType(t: string, v: unknown): boolean {
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
export function valid(s: Schema | boolean | undefined, v: unknown): boolean {
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
export function validQuery(s: Schema, v: string): boolean {
  const types = s.type === undefined ? [] : [s.type].flat();
  if (types.includes('boolean')) return true; // z.coerce.boolean() takes anything
  if (types.includes('integer') || types.includes('number')) return valid(s, v) || valid(s, Number(v));
  return valid(s, v);
}

/** A best-effort valid value, so a single malformed property is what the route sees. */
export function example(s: Schema | undefined, depth = 0): unknown {
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

export const WRONG = [{ nested: [] }, 'fuzz', 12_345.5, true, null, [], -1, ''];

/** A value of the wrong kind for `s`, or undefined when `s` accepts everything we can think of. */
export const wrongFor = (s: Schema | undefined): unknown => WRONG.find((w) => !valid(s, w));

/** Object bodies as raw JSON text: keys like `__proto__` survive, numbers like `-0` and `1e999` stay as written. */
export type Entries = Array<[string, string]>;
export const render = (e: Entries): string => `{${e.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
export const entriesOf = (o: Record<string, unknown>): Entries =>
  Object.entries(o).map(([k, v]) => [k, JSON.stringify(v)]);

/** Makes a body text the schema refuses, if it does not already: one property of the wrong type, or an array. */
export function forceInvalid(s: Schema, text: string): { text: string; forced: boolean } {
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

export const nested = (kind: 'array' | 'object' | 'mixed', depth: number): string => {
  let s = '0';
  for (let i = 0; i < depth; i++) {
    const arr = kind === 'array' || (kind === 'mixed' && i % 2 === 0);
    s = arr ? `[${s}]` : `{"a":${s}}`;
  }
  return s;
};

export const UNICODE_EDGES = [
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
export const unicodeArb = fc.oneof(
  fc.constantFrom(...UNICODE_EDGES),
  fc.string({
    unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    minLength: 1,
  }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
export const NUMBER_EDGES = [
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
export const jsonValueArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
export const brokenJsonArb = fc.oneof(
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
export const garbageParamArb = fc.oneof(
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
export const garbageQueryValueArb = fc.oneof(
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
export const BAD_TOKENS = [
  'rk_not-a-real-key',
  'rt_0000',
  'cli_zzzz',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'x'.repeat(4_096),
  '__proto__',
];
export const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'text/html',
  'application/x-www-form-urlencoded',
];
export const POLLUTION_QUERY =
  '__proto__[polluted]=1&constructor[prototype][polluted]=1&__proto__=x&%5F%5Fproto%5F%5F.polluted=1&a[b][c][d]=1';

/** Deterministic per-route, per-kind seeds so one failing variant reproduces alone. */
export const seedFor = (key: string): number =>
  (SEED ^ createHash('sha256').update(key).digest().readUInt32BE(0)) >>> 0;
export const sample = <T>(arb: fc.Arbitrary<T>, key: string): T => {
  const [v] = fc.sample(arb, { seed: seedFor(key), numRuns: 1 });
  if (v === undefined) throw new Error(`no sample for ${key}`);
  return v;
};

export interface Variant {
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

export interface Targets {
  owner: Account;
  apiKey: string;
  apiKeyId: string;
  runtimeToken: string;
  runtimeTokenId: string;
  jobId: string;
  widgetId: string;
  secretName: string;
}

export function paramValue(route: Route, name: string, t: Targets): string {
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
export function tokenFor(route: Route, t: Targets): string {
  if (route.path.startsWith('/v1/') || route.path === '/mcp') return t.apiKey;
  if (route.path.startsWith('/api/runtime/')) return t.runtimeToken;
  return t.owner.token;
}

export function buildPath(route: Route, t: Targets, override?: { name: string; raw: string }): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    override?.name === name ? override.raw : encodeURIComponent(paramValue(route, name, t)),
  );
}

export const encodable = (s: string): string | undefined => {
  try {
    return encodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/** Every malformed variant for one route; each provably refused by the route's schema or transport. */
export function variantsFor(route: Route, t: Targets): Variant[] {
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
