import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { KeyRing } from '@rampart/core/seal';
import { SessionKeyRing } from '@rampart/core/tokens';
import { z } from 'zod';
import { parseBillingPlans } from './billing-config.js';
import { smtpUrlProblem } from './smtp-url.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .default([]);

/** One RAMPART_JOB_ENV_ALLOW entry: `org` is an org id, or `*` for every org. */
export interface EnvAllowEntry {
  org: string;
  prefix: string;
}

const ORG_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENV_PREFIX = /^[A-Z_][A-Z0-9_]{0,127}$/;

/**
 * RAMPART_JOB_ENV_ALLOW: `<orgId>:PREFIX` lets one org's jobs resolve `env:` names starting with PREFIX, and
 * `*:PREFIX` every org's. A bare `PREFIX` (the old, unscoped syntax) is refused at start rather than read as
 * `*:`: it silently shared the variables with every tenant, and the operator must now say which org they
 * belong to. Problems name the entry by position, never its text.
 */
const envAllow = z
  .string()
  .default('')
  .transform((s, ctx): EnvAllowEntry[] => {
    const out: EnvAllowEntry[] = [];
    const entries = s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    entries.forEach((e, i) => {
      const at = e.lastIndexOf(':');
      if (at < 0) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1} has no org scope: write <orgId>:PREFIX to let one org use the variables, or *:PREFIX to let every org use them`,
        });
        return;
      }
      const org = e.slice(0, at).toLowerCase();
      const prefix = e.slice(at + 1);
      if (org !== '*' && !ORG_ID.test(org)) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: the scope must be an org id or *` });
        return;
      }
      if (!ENV_PREFIX.test(prefix)) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1}: the prefix must be upper case letters, digits and underscores`,
        });
        return;
      }
      out.push({ org, prefix });
    });
    return out;
  });

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return schemes.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL with scheme ${schemes.join(' or ')}`,
  );

/** A 256-bit secret given as base64, base64url or hex. */
const secret256 = z
  .string()
  .refine((s) => decodeSecret(s) !== null, 'must encode at least 32 random bytes (base64 or hex)');

export function decodeSecret(s: string): Buffer | null {
  const t = s.trim();
  // Strict alphabets: Buffer.from(x, 'base64') silently skips invalid characters, which would let a
  // 43-character passphrase pass as "32 random bytes".
  let buf: Buffer;
  if (/^(?:[0-9a-f]{2})+$/i.test(t)) buf = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(t) || /^[A-Za-z0-9_-]+$/.test(t))
    buf = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  else return null;
  return buf.length >= 32 ? buf : null;
}

/**
 * RAMPART_JWT_SECRETS: `id:secret,id2:secret2`, each secret as in RAMPART_JWT_SECRET (at least 32 random bytes,
 * base64, base64url or hex). The first key signs sessions, every key verifies them (docs/OPERATIONS.md, "JWT
 * secret"). Problems name the entry by position (and a duplicate id by its id), never a secret.
 * @throws ConfigError-ready text: an Error whose message is `entry N: ...`
 */
export function parseJwtSecrets(spec: string): SessionKeyRing {
  const entries = spec.split(',').map((raw, index) => {
    const entry = index + 1;
    const text = raw.trim();
    if (text === '') throw new Error(`entry ${entry}: empty entry (stray comma?)`);
    const colon = text.indexOf(':');
    if (colon < 0) throw new Error(`entry ${entry}: expected id:secret`);
    const key = decodeSecret(text.slice(colon + 1));
    if (!key)
      throw new Error(`entry ${entry}: the secret must encode at least 32 random bytes (base64 or hex)`);
    return { id: text.slice(0, colon).trim(), key };
  });
  return SessionKeyRing.fromKeys(entries);
}

/**
 * Every environment variable Rampart reads, validated once at start with its default. Absent secrets are
 * allowed here; {@link resolveKeyMaterial} decides (dev: generate and warn; production: refuse).
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  HOST: z
    .string()
    .refine((h) => h === 'localhost' || isIP(h) !== 0, 'must be an IP address or localhost')
    .default('127.0.0.1'),
  DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']).optional(),
  RAMPART_DATA_DIR: z.string().min(1).default('./.rampart'),
  /**
   * Server processes `rampart start` runs on one port (node:cluster): a count, or `auto` for one per core.
   * More than one needs PostgreSQL (see {@link workerCount} and docs/OPERATIONS.md "Workers").
   */
  RAMPART_WORKERS: z
    .string()
    .default('1')
    .transform((v, ctx): number | 'auto' => {
      const t = v.trim().toLowerCase();
      if (t === 'auto') return 'auto';
      const n = /^[0-9]{1,4}$/.test(t) ? Number(t) : 0;
      if (n >= 1 && n <= MAX_WORKERS) return n;
      ctx.addIssue({
        code: 'custom',
        message: `must be a whole number from 1 to ${MAX_WORKERS}, or auto (one per core)`,
      });
      return z.NEVER;
    }),
  /** PostgreSQL connections per process (job runs, requests and the agent hub share them). */
  RAMPART_DB_POOL_MAX: z.coerce.number().int().min(2).max(500).default(20),
  REDIS_URL: urlWithScheme(['redis:', 'rediss:']).optional(),
  RAMPART_MASTER_KEYS: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        KeyRing.parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  RAMPART_JWT_SECRET: secret256.optional(),
  /** Session signing keys with ids (`id:secret,...`; first signs, all verify); replaces RAMPART_JWT_SECRET. */
  RAMPART_JWT_SECRETS: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        parseJwtSecrets(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  RAMPART_TURNSTILE_SECRET: z.string().min(1).optional(),
  /** Public Turnstile site key the dashboard renders the challenge with (pairs with the secret). */
  RAMPART_TURNSTILE_SITE_KEY: z
    .string()
    .regex(/^[0-9A-Za-z_-]{1,100}$/)
    .optional(),
  /** Built dashboard and widget locations (default: packages/dashboard/dist and packages/widget/dist). */
  RAMPART_DASHBOARD_DIR: z.string().min(1).optional(),
  RAMPART_WIDGET_DIR: z.string().min(1).optional(),
  RAMPART_TURNSTILE_VERIFY_URL: urlWithScheme(['https:', 'http:']).default(
    'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  ),
  /** How long to wait for the Turnstile verifier before refusing (fail closed). */
  RAMPART_TURNSTILE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(5_000),
  RAMPART_JOB_ENV_ALLOW: envAllow,
  RAMPART_OUTBOUND_ALLOW: csv,
  RAMPART_JOB_RUNNER: z.enum(['on', 'off']).default('on'),
  RAMPART_JOB_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  RAMPART_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Runs of one org in flight per runner node at most (the rest of the node's slots stay free for other orgs). */
  RAMPART_JOB_MAX_INFLIGHT_PER_ORG: z.coerce.number().int().min(1).max(256).default(4),
  /** Manual "run now" requests per org per minute (429 rate_limited beyond; shared through Redis when set). */
  RAMPART_JOB_MANUAL_RUNS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  RAMPART_JOB_RETRY_BASE_MS: z.coerce.number().int().min(1).max(600_000).default(1_000),
  RAMPART_JOB_RETRY_MAX_MS: z.coerce.number().int().min(1).max(3_600_000).default(60_000),
  RAMPART_JOB_MAX_PER_ORG: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  RAMPART_JOB_SWEEP_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(3_600_000),
  RAMPART_BILLING_WEBHOOK_SECRET: z.string().min(16).optional(),
  /**
   * Replaced by RAMPART_BILLING_PLANS: one checkout URL for every product let a checkout for one product be paid
   * with another. Refused at start so a deployment that still sets it does not silently lose billing.
   */
  RAMPART_BILLING_CHECKOUT_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined, 'replaced by RAMPART_BILLING_PLANS (each product its own checkout URL)'),
  /** Each product's provider variant, price, currency and checkout URL (format: platform/billing-config.ts). */
  RAMPART_BILLING_PLANS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        return parseBillingPlans(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * The platform operators' own Slack incoming webhook and Teams webhook (docs/OPERATIONS.md "Platform
   * settings"): support actions and incident notices are posted there. Each URL is a credential.
   */
  RAMPART_SLACK_WEBHOOK_URL: urlWithScheme(['https:', 'http:']).optional(),
  RAMPART_TEAMS_WEBHOOK_URL: urlWithScheme(['https:', 'http:']).optional(),
  /** Days a paid plan stays after a failed renewal payment before it lapses to free. */
  RAMPART_BILLING_GRACE_DAYS: z.coerce.number().int().min(0).max(60).default(7),
  /** Rejected billing webhook calls per client address (IPv6: its /64) per minute; audited within, 429 beyond. */
  RAMPART_BILLING_REJECTS_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(10),
  RAMPART_WIDGET_DOCUMENT_MAX_BYTES: z.coerce.number().int().min(1_000).max(50_000_000).default(1_048_576),
  /** Largest skill package accepted on upload (its own body limit, above the general one). */
  RAMPART_SKILL_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(512 * 1024 * 1024)
    .default(50 * 1024 * 1024),
  /** Runtime telemetry: days kept, sweep interval, batches per runtime token per minute. */
  RAMPART_TELEMETRY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  RAMPART_TELEMETRY_SWEEP_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(3_600_000),
  RAMPART_TELEMETRY_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  /** Account events (GET /api/me/events): days kept; swept on the telemetry sweep interval. */
  RAMPART_ACCOUNT_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  /**
   * When set, every log line also goes to a daily file in this directory (created 0700, files 0600), with the
   * same redaction as stdout. The characters refused are the ones the rotation library refuses in a path.
   */
  RAMPART_LOG_DIR: z
    .string()
    .refine((d) => !/[<>"|?*:\0]/.test(d), 'must be a directory path without any of < > " | ? * :')
    .optional(),
  /** Days a log file is kept after its day ends (only with RAMPART_LOG_DIR). */
  RAMPART_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Gateway upstream timeouts: ordinary models, and models a provider lists as reasoning models. */
  RAMPART_GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  RAMPART_GATEWAY_REASONING_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(120_000),
  /** Database access: a query's statement_timeout (the client gives up 1 s later), and the connect timeout. */
  RAMPART_DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
  RAMPART_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(10_000),
  /** Per-IP hourly limits on the unauthenticated, bcrypt- or mail-heavy routes. */
  RAMPART_SIGNUP_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(20),
  RAMPART_FORGOT_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Invitations (each one mails an address the inviter chooses) sent per inviting user per hour. */
  RAMPART_INVITES_PER_USER_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(100),
  /** OIDC sign-in starts and callbacks per client IP per minute (they write rows before anyone is known). */
  RAMPART_OIDC_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  /** `rampart login` (RFC 8628): device codes issued per client IP per hour, and days a CLI credential lives. */
  RAMPART_DEVICE_CODES_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(30),
  RAMPART_CLI_CREDENTIAL_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /**
   * Database agents (`/agent` WebSocket): an upgrade not authenticated and switched within this many ms is
   * dropped, and at most this many upgrades may be in progress at once from one address (IPv6: its /64).
   */
  RAMPART_AGENT_HANDSHAKE_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(10_000),
  RAMPART_AGENT_HANDSHAKES_PER_IP: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Keep-alive ping on `/agent` sockets; one that misses a pong by the next ping is closed. */
  // At most 30 s: agents take 65 s without a ping for a dead link (agent-client.ts silenceTimeoutMs), so a
  // late or lost ping still leaves them one more before they reconnect.
  RAMPART_AGENT_PING_MS: z.coerce.number().int().min(100).max(30_000).default(20_000),
  RAMPART_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  RAMPART_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(10 * 1024 * 1024),
  /**
   * Outgoing mail (docs/OPERATIONS.md "Mail"): `smtp://user:pass@host:port` (STARTTLS, required unless the host is
   * loopback) or `smtps://` (TLS from the first byte). Without it, mail goes to the development log mailer, and a
   * production start warns. The URL carries a password: it is never logged or echoed in an error.
   */
  RAMPART_SMTP_URL: z
    .string()
    .optional()
    .superRefine((u, ctx) => {
      const problem = u === undefined ? null : smtpUrlProblem(u);
      // Fixed text only: the URL holds a password.
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: `${problem} (smtp://[user:password@]host[:port] or smtps://...)`,
        });
    }),
  /** The From address of every mail, e.g. `Rampart <no-reply@example.com>`. */
  RAMPART_MAIL_FROM: z
    .string()
    .trim()
    .min(3)
    .max(320)
    .refine(
      (v) => !/[\r\n]/.test(v) && /@/.test(v),
      'must be one address, e.g. Rampart <no-reply@example.com>',
    )
    .default('Rampart <no-reply@localhost>'),
  /** Outbox delivery: attempts before a message is marked failed, back-off base and cap, poll interval. */
  RAMPART_MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  RAMPART_MAIL_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  RAMPART_MAIL_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  /** Widget embeddings (issue 25): how often each node looks for chunks to embed, and chunks per provider call. */
  RAMPART_WIDGET_EMBED_POLL_MS: z.coerce.number().int().min(20).max(600_000).default(5_000),
  RAMPART_WIDGET_EMBED_BATCH: z.coerce.number().int().min(1).max(256).default(32),
  RAMPART_MAIL_POLL_MS: z.coerce.number().int().min(20).max(600_000).default(2_000),
  /**
   * Audit sinks (docs/SECURITY-CONTROLS.md "Audit sinks"): how often each node looks for sinks with rows to
   * deliver, rows per batch, back-off base and cap after a failed delivery, and the interval at which the
   * platform chain's head hash is sent to every sink and written to the log (0: never).
   */
  RAMPART_AUDIT_SINK_WORKER: z.enum(['on', 'off']).default('on'),
  RAMPART_AUDIT_SINK_POLL_MS: z.coerce.number().int().min(20).max(600_000).default(1_000),
  RAMPART_AUDIT_SINK_BATCH: z.coerce.number().int().min(1).max(5_000).default(500),
  RAMPART_AUDIT_SINK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  RAMPART_AUDIT_SINK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(600_000),
  RAMPART_AUDIT_ANCHOR_MS: z.coerce.number().int().min(0).max(604_800_000).default(3_600_000),
  /**
   * Extra certificate authorities (PEM text) trusted for outbound TLS: audit sinks, jobs, alert webhooks. For a
   * receiver on a private PKI, and how tests trust their self-signed receivers. Adds to the system roots.
   */
  RAMPART_OUTBOUND_CA: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
  /** Days a sent or failed outbox row (no body, only the delivery record) is kept. */
  RAMPART_MAIL_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Base URL used in e-mailed links; defaults to http://HOST:PORT. */
  RAMPART_PUBLIC_URL: urlWithScheme(['https:', 'http:']).optional(),
  /** security.txt (RFC 9116): Contact URIs (mailto:, https: or tel:), policy URL, preferred languages. */
  RAMPART_SECURITY_CONTACT: csv.pipe(
    z.array(
      z
        .string()
        .regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+|tel:\+?[0-9 ()-]+)$/, 'a mailto:, https: or tel: URI'),
    ),
  ),
  RAMPART_SECURITY_POLICY_URL: urlWithScheme(['https:', 'http:']).optional(),
  RAMPART_SECURITY_LANGUAGES: csv
    .pipe(z.array(z.string().regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/)))
    .transform((l) => (l.length ? l : ['en'])),
  /**
   * Test-only: lowers the bcrypt cost so the suite stays fast. Ignored unless NODE_ENV=test; production always
   * uses cost 12 (a test pins that).
   */
  RAMPART_TEST_BCRYPT_COST: z.coerce.number().int().min(4).max(12).optional(),
  /**
   * Which proxies may set X-Forwarded-For: 'false' (none, the default) or a comma list of the proxies' IPs/CIDRs.
   * 'true' is refused: trusting every hop would let a client pick its own IP by prepending to the header (and
   * Fastify treats hop counts as "trust nothing").
   */
  RAMPART_TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx): false | string[] => {
      const t = v.trim().toLowerCase();
      if (t === 'false') return false;
      const list = t
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      if (t !== 'true' && list.length && list.every((x) => isIP(x.split('/')[0] ?? '') !== 0)) return list;
      ctx.addIssue({ code: 'custom', message: "must be 'false' or a comma list of your proxies' IPs/CIDRs" });
      return z.NEVER;
    }),
});

export type Config = z.output<typeof configSchema>;

/** RAMPART_WORKERS' ceiling: each worker is a whole server (memory, a database pool of RAMPART_DB_POOL_MAX). */
export const MAX_WORKERS = 64;

/** RAMPART_WORKERS resolved: `auto` is os.availableParallelism(), at most {@link MAX_WORKERS}. */
export function workerCount(config: Config, cores: number = availableParallelism()): number {
  return config.RAMPART_WORKERS === 'auto'
    ? Math.max(1, Math.min(cores, MAX_WORKERS))
    : config.RAMPART_WORKERS;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validates the environment. Empty strings count as unset (a blank line in an env file must not become a key).
 * @throws ConfigError naming each bad variable, never echoing its value
 * @example const config = loadConfig(process.env)
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') input[key] = v;
  }
  const parsed = configSchema.safeParse(input);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  // Two sources for the session keys would leave it unclear which one signs: refused, never guessed.
  if (input.RAMPART_JWT_SECRET !== undefined && input.RAMPART_JWT_SECRETS !== undefined)
    problems.push(
      'RAMPART_JWT_SECRETS: set either RAMPART_JWT_SECRETS or RAMPART_JWT_SECRET, not both (to keep the old secret, list it as default:<secret>)',
    );
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  return parsed.data;
}

/** The bcrypt cost in force: 12, or the test-only override when NODE_ENV=test. */
export function bcryptCost(config: Config): number {
  return config.NODE_ENV === 'test' && config.RAMPART_TEST_BCRYPT_COST ? config.RAMPART_TEST_BCRYPT_COST : 12;
}
