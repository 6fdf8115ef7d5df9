/**
 * Platform settings (issue 27 part 1): what an operator may change at run time, without a restart. Each value is
 * kept in `platform_settings` sealed (AES-256-GCM, AAD null/platform_settings/value_sealed/<key>), validated by
 * the very schema that validates its environment variable, and the environment variable, when set, wins: a
 * deployment that pins a value in its environment keeps it whatever is stored. Every node holds the stored
 * values in memory; a change is announced on the node bus (sealed, as every invalidation) and every node reloads
 * at once, with a {@link RELOAD_MS} re-read as the bound when a message is lost. Changes are audited on the
 * platform chain with the setting's name, never its value.
 */
import { type KeyRing, mask, openString, seal } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from './audit/append.js';
import { type Config, configSchema } from './config.js';
import { AppError } from './errors.js';
import type { Invalidations } from './invalidation.js';

/** The settings an operator may store, each tied to the environment variable that overrides it. */
export const SETTING_DEFS = {
  billing_webhook_secret: {
    env: 'RAMPART_BILLING_WEBHOOK_SECRET',
    secret: true,
    label: 'Billing webhook signing secret',
  },
  billing_plans: {
    env: 'RAMPART_BILLING_PLANS',
    secret: false,
    label: 'Billing plans (product → variant, price, currency, checkout URL)',
  },
  turnstile_secret: { env: 'RAMPART_TURNSTILE_SECRET', secret: true, label: 'Turnstile secret key' },
  turnstile_site_key: { env: 'RAMPART_TURNSTILE_SITE_KEY', secret: false, label: 'Turnstile site key' },
  slack_webhook_url: {
    env: 'RAMPART_SLACK_WEBHOOK_URL',
    secret: true,
    label: 'Operators’ Slack incoming webhook',
  },
  teams_webhook_url: {
    env: 'RAMPART_TEAMS_WEBHOOK_URL',
    secret: true,
    label: 'Operators’ Microsoft Teams webhook',
  },
  smtp_url: { env: 'RAMPART_SMTP_URL', secret: true, label: 'SMTP server URL' },
  security_contact: {
    env: 'RAMPART_SECURITY_CONTACT',
    secret: false,
    label: 'Security contact (security.txt Contact URIs)',
  },
} as const satisfies Record<string, { env: keyof Config; secret: boolean; label: string }>;

export type SettingKey = keyof typeof SETTING_DEFS;
export const SETTING_KEYS = Object.keys(SETTING_DEFS) as SettingKey[];
type EnvName = (typeof SETTING_DEFS)[SettingKey]['env'];

/** The values in force, typed as the configuration types them (a stored value is parsed by the same schema). */
export type EffectiveSettings = Pick<Config, EnvName>;

export type SettingSource = 'env' | 'database' | 'unset';

export interface SettingView {
  key: SettingKey;
  env: EnvName;
  label: string;
  secret: boolean;
  source: SettingSource;
  /** A secret's mask, a non-secret's value; null when unset. The plaintext of a secret is never returned. */
  value: string | null;
  /** Whether a value is stored (it may be overridden by the environment). */
  stored: boolean;
  updatedAt: string | null;
}

/** How often a node re-reads the table even without a bus message (the bound when one is lost). */
export const RELOAD_MS = 30_000;
/** The invalidation id for "the settings changed" (the bus carries uuid-shaped ids only). */
const ALL = '00000000-0000-0000-0000-000000000000';
const MAX_VALUE = 8_192;

const aad = (key: string) => ({
  orgId: null,
  table: 'platform_settings',
  column: 'value_sealed',
  rowId: key,
});

export function isSettingKey(k: string): k is SettingKey {
  return Object.hasOwn(SETTING_DEFS, k);
}

/** Whether the environment set this variable (loadConfig drops empty strings; a list counts when not empty). */
function envSet(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : v !== undefined;
}

/**
 * Parses `raw` as the variable's schema parses it.
 * @throws AppError validation_failed naming the setting, never echoing the value
 */
export function parseSetting(key: SettingKey, raw: string): unknown {
  const text = raw.trim();
  if (text === '' || text.length > MAX_VALUE)
    throw new AppError('validation_failed', `value must be 1 to ${MAX_VALUE} characters`, {
      details: { field: 'value' },
    });
  // An unpaired surrogate (JSON allows the escape) has no UTF-8 form: the seal refuses it, which was a 500.
  if (/\p{Cs}/u.test(text))
    throw new AppError(
      'validation_failed',
      'value must be well-formed Unicode text (no unpaired surrogate)',
      {
        details: { field: 'value' },
      },
    );
  const r = configSchema.shape[SETTING_DEFS[key].env].safeParse(text);
  if (!r.success) {
    // The schema's messages name the problem, never the value (the config loader prints them at start).
    const why = r.error.issues.map((i) => i.message).join('; ');
    throw new AppError('validation_failed', `${key}: ${why}`, { details: { field: 'value' } });
  }
  return r.data;
}

interface Row {
  key: string;
  value_sealed: string;
  value_masked: string | null;
  updated_at: Date;
}

interface Stored {
  raw: string;
  parsed: unknown;
  masked: string;
  updatedAt: Date;
}

/** An extra check a domain adds for one setting (e.g. billing plans name products the server sells). */
export type SettingCheck = (parsed: unknown) => void;

export class PlatformSettings {
  readonly #db: Database;
  readonly #ring: KeyRing;
  readonly #config: Config;
  readonly #log: Logger | undefined;
  #stored = new Map<SettingKey, Stored>();
  #effective: EffectiveSettings;
  #timer: NodeJS.Timeout | undefined;
  #inv: Invalidations | undefined;
  readonly #checks = new Map<SettingKey, SettingCheck>();
  readonly #listeners = new Set<() => void>();

  constructor(db: Database, ring: KeyRing, config: Config, log?: Logger) {
    this.#db = db;
    this.#ring = ring;
    this.#config = config;
    this.#log = log;
    this.#effective = this.#compute();
  }

  /** Loads the stored values, then reloads on every announcement and every {@link RELOAD_MS}. */
  async start(inv?: Invalidations, reloadMs = RELOAD_MS): Promise<void> {
    await this.reload();
    if (inv) {
      this.#inv = inv;
      inv.on('platform_settings', () => void this.#reloadQuietly());
      inv.onReset(() => void this.#reloadQuietly());
    }
    this.#timer = setInterval(() => void this.#reloadQuietly(), reloadMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The values in force now (environment first, then the stored value). Cheap: no I/O. */
  current(): EffectiveSettings {
    return this.#effective;
  }

  /** Adds a domain's own check of a setting (run on save, and on stored values at load). */
  addCheck(key: SettingKey, check: SettingCheck): void {
    this.#checks.set(key, check);
  }

  /** Called after the values in force may have changed on this node (a mailer rebuilding its transport). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Re-reads every stored value. A value that no longer opens or parses is skipped and logged by name. */
  async reload(): Promise<void> {
    const rows = await this.#db.platform((q) =>
      q.query<Row>('SELECT key, value_sealed, value_masked, updated_at FROM platform_settings'),
    );
    const next = new Map<SettingKey, Stored>();
    for (const r of rows.rows) {
      if (!isSettingKey(r.key)) continue;
      try {
        const raw = openString(this.#ring, r.value_sealed, aad(r.key));
        const parsed = parseSetting(r.key, raw);
        this.#checks.get(r.key)?.(parsed);
        next.set(r.key, { raw, parsed, masked: r.value_masked ?? mask(raw), updatedAt: r.updated_at });
      } catch (err) {
        this.#log?.error(
          { setting: r.key, reason: (err as Error).message },
          'a stored platform setting is unusable and is ignored',
        );
      }
    }
    this.#stored = next;
    this.#setEffective(this.#compute());
  }

  async #reloadQuietly(): Promise<void> {
    try {
      await this.reload();
    } catch (err) {
      this.#log?.warn({ err }, 'platform settings reload failed; the values in force are kept');
    }
  }

  #compute(): EffectiveSettings {
    const out: Record<string, unknown> = {};
    for (const key of SETTING_KEYS) {
      const env = SETTING_DEFS[key].env;
      const fromEnv = this.#config[env];
      out[env] = envSet(fromEnv) ? fromEnv : (this.#stored.get(key)?.parsed ?? fromEnv);
    }
    return out as EffectiveSettings;
  }

  #setEffective(next: EffectiveSettings): void {
    const changed = SETTING_KEYS.some((k) => {
      const env = SETTING_DEFS[k].env;
      return JSON.stringify(next[env]) !== JSON.stringify(this.#effective[env]);
    });
    this.#effective = next;
    if (!changed) return;
    for (const fn of this.#listeners) {
      try {
        fn();
      } catch (err) {
        this.#log?.error({ err }, 'a platform settings listener failed');
      }
    }
  }

  /** Every setting with its source; secrets masked. */
  list(): SettingView[] {
    return SETTING_KEYS.map((k) => this.view(k));
  }

  view(key: SettingKey): SettingView {
    const def = SETTING_DEFS[key];
    const stored = this.#stored.get(key);
    const fromEnv = envSet(this.#config[def.env]);
    const source: SettingSource = fromEnv ? 'env' : stored ? 'database' : 'unset';
    let value: string | null = null;
    if (source === 'database' && stored) value = def.secret ? stored.masked : stored.raw;
    else if (source === 'env') {
      const v = this.#config[def.env];
      const text = Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : null;
      // Billing plans parse to an object: the environment's own text is not kept, so it is described.
      value = def.secret ? (text === null ? '(set)' : mask(text)) : (text ?? '(set in the environment)');
    }
    return {
      key,
      env: def.env,
      label: def.label,
      secret: def.secret,
      source,
      value,
      stored: stored !== undefined,
      updatedAt: stored ? stored.updatedAt.toISOString() : null,
    };
  }

  /**
   * Stores `raw` (validated, sealed) and announces the change; audited `platform.setting_updated` with the key.
   * @throws AppError validation_failed (the value does not parse; nothing stored)
   */
  async set(actor: AuditActor, key: SettingKey, raw: string): Promise<SettingView> {
    const parsed = parseSetting(key, raw);
    const check = this.#checks.get(key);
    if (check) {
      try {
        check(parsed);
      } catch (err) {
        throw new AppError('validation_failed', `${key}: ${(err as Error).message}`, {
          details: { field: 'value' },
        });
      }
    }
    const text = raw.trim();
    await this.#db.platform(async (q) => {
      await q.query(
        `INSERT INTO platform_settings (key, value_sealed, value_masked, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (key) DO UPDATE SET value_sealed = EXCLUDED.value_sealed,
           value_masked = EXCLUDED.value_masked, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [key, seal(this.#ring, text, aad(key)), mask(text), actor.userId],
      );
      await this.#audit(q, actor, key, 'set');
    });
    await this.#changed();
    return this.view(key);
  }

  /** Removes the stored value (the environment's, if any, or none is then in force); audited. */
  async clear(actor: AuditActor, key: SettingKey): Promise<SettingView> {
    await this.#db.platform(async (q) => {
      const del = await q.query('DELETE FROM platform_settings WHERE key = $1', [key]);
      if (del.rowCount > 0) await this.#audit(q, actor, key, 'cleared');
    });
    await this.#changed();
    return this.view(key);
  }

  #audit(q: Queryable, actor: AuditActor, key: SettingKey, change: 'set' | 'cleared') {
    const overridden = envSet(this.#config[SETTING_DEFS[key].env]);
    return appendAudit(q, actor, {
      orgId: null,
      action: 'platform.setting_updated',
      target: `setting:${key}`,
      meta: { setting: key, change, overriddenByEnv: overridden },
    });
  }

  async #changed(): Promise<void> {
    await this.reload();
    await this.#inv?.announce('platform_settings', ALL);
  }
}
