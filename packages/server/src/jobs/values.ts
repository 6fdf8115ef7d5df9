import { mask } from '@rampart/core/seal';
import { configSchema } from '../platform/config.js';
import { AppError } from '../platform/errors.js';

/**
 * Secret-bearing job values (header values, the auth value) are either a literal, sealed at rest, or an
 * `env:NAME` reference that names an environment variable of the server process. References are stored as
 * they are and resolved only when the request is sent, and only for names under a prefix the operator allowed
 * for this org (RAMPART_JOB_ENV_ALLOW entries `<orgId>:PREFIX` or `*:PREFIX`): a tenant must not be able to read
 * arbitrary server environment (the master key lives there), nor another tenant's variables.
 */
const ENV_REF = /^env:(.*)$/s;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

export type JobValue = { kind: 'literal'; value: string } | { kind: 'env'; name: string };

/** One allow-list entry (config.ts parses them): `org` is an org id or `*`. */
export interface EnvAllow {
  org: string;
  prefix: string;
}

/** Whether `raw` is an `env:` reference (of any shape). */
export const isEnvRef = (raw: string): boolean => ENV_REF.test(raw);

/** Parses a value, refusing malformed references and those `orgId` is not allowed. `field` names it in the error. */
export function parseJobValue(
  raw: string,
  field: string,
  allow: readonly EnvAllow[],
  orgId: string,
): JobValue {
  const m = ENV_REF.exec(raw);
  if (!m) return { kind: 'literal', value: raw };
  const name = m[1] ?? '';
  if (!ENV_NAME.test(name)) {
    throw new AppError(
      'validation_failed',
      `${field}: an env: reference must name a variable in upper case letters, digits and underscores`,
      { details: { field } },
    );
  }
  assertEnvAllowed(name, field, allow, orgId);
  return { kind: 'env', name };
}

/** The prefixes `orgId` may use: its own entries and the `*` ones. */
export const prefixesFor = (allow: readonly EnvAllow[], orgId: string): string[] => [
  ...new Set(allow.filter((e) => e.org === '*' || e.org === orgId.toLowerCase()).map((e) => e.prefix)),
];

/**
 * The server's own settings (RAMPART_MASTER_KEYS, RAMPART_JWT_SECRET, DATABASE_URL...): never resolvable, whatever
 * prefix the operator allowed (`*:RAMPART_` or `*:D` would otherwise hand every tenant the master key).
 */
const SERVER_SETTINGS: ReadonlySet<string> = new Set(Object.keys(configSchema.shape));

export function isEnvAllowed(name: string, allow: readonly EnvAllow[], orgId: string): boolean {
  if (SERVER_SETTINGS.has(name)) return false;
  return prefixesFor(allow, orgId).some((prefix) => prefix.length > 0 && name.startsWith(prefix));
}

function assertEnvAllowed(name: string, field: string, allow: readonly EnvAllow[], orgId: string): void {
  if (isEnvAllowed(name, allow, orgId)) return;
  // Only this org's prefixes are named: other orgs' entries are theirs.
  const mine = prefixesFor(allow, orgId);
  const rule = SERVER_SETTINGS.has(name)
    ? 'it is a setting of the Rampart server itself, never readable by jobs'
    : mine.length
      ? `this org may use only names starting with ${mine.join(', ')}`
      : 'this org may use no env: references';
  throw new AppError(
    'env_not_allowed',
    `${field}: env:${name} is not allowed: ${rule} (operator setting RAMPART_JOB_ENV_ALLOW, scoped per org)`,
    { details: { field } },
  );
}

/** What a value looks like on read: references as written (they are not secret), literals masked. */
export const displayValue = (raw: string): string => (ENV_REF.test(raw) ? raw : mask(raw));

/** Thrown at run time when a reference cannot be resolved; its message names the variable, never a value. */
export class EnvResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvResolutionError';
  }
}

/**
 * The value to send. References are re-checked against the allow-list of the moment for the job's org (an
 * operator may have narrowed it since the job was saved) and must be set and non-empty.
 * @throws EnvResolutionError
 */
export function resolveJobValue(
  raw: string,
  allow: readonly EnvAllow[],
  orgId: string,
  env: NodeJS.ProcessEnv,
): string {
  const m = ENV_REF.exec(raw);
  if (!m) return raw;
  const name = m[1] ?? '';
  if (!ENV_NAME.test(name) || !isEnvAllowed(name, allow, orgId))
    throw new EnvResolutionError(`env:${name} is not allowed for this org by RAMPART_JOB_ENV_ALLOW`);
  const v = env[name];
  if (v === undefined || v === '') throw new EnvResolutionError(`env:${name} is not set on this server`);
  return v;
}

// RFC 9110 token; plus names the HTTP client owns (framing, hop-by-hop, routing) that a job may not set.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Validates a header map: names are tokens and not reserved, values have no control characters. */
export function checkHeaders(
  headers: Record<string, string>,
  allow: readonly EnvAllow[],
  orgId: string,
): void {
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name))
      throw new AppError('validation_failed', 'headers: a header name must be an HTTP token');
    if (RESERVED.has(lower) || lower.startsWith('proxy-'))
      throw new AppError(
        'validation_failed',
        `headers: ${lower} is set by the HTTP client and cannot be set`,
      );
    if (seen.has(lower)) throw new AppError('validation_failed', `headers: ${lower} appears twice`);
    seen.add(lower);
    if (!HEADER_VALUE.test(value))
      throw new AppError('validation_failed', `headers: the value of ${lower} contains control characters`);
    parseJobValue(value, `headers.${lower}`, allow, orgId);
  }
}
