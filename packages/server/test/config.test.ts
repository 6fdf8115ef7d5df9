/**
 * Configuration is validated once, at start, from one schema (platform/config.ts), and key material comes from
 * the environment or, in development only, from generated 0600 files (platform/keys.ts). Errors name the
 * variable and never echo its value: a secret pasted into the wrong variable must not end up in a log.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openString, seal } from '@rampart/core/seal';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { resolveKeyMaterial } from '../src/platform/keys.js';

/** Runs `fn`, expecting a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const key32 = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const mode = (path: string) => statSync(path).mode & 0o777;

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8787);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.RAMPART_DATA_DIR).toBe('./.rampart');
    expect(config.NODE_ENV).toBe('development');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.RAMPART_MASTER_KEYS).toBeUndefined();
    expect(config.RAMPART_JWT_SECRET).toBeUndefined();
    expect(config.RAMPART_BODY_LIMIT_BYTES).toBe(10 * 1024 * 1024);
    expect(config.RAMPART_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(config.RAMPART_TRUST_PROXY).toBe(false);
    expect(config.RAMPART_JOB_ENV_ALLOW).toEqual([]);
  });

  it('accepts valid values', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '::1',
      DATABASE_URL: 'postgresql://u@db.internal:5432/rampart',
      RAMPART_MASTER_KEYS: `k2:${key32(2)},k1:${key32(1)}`,
      RAMPART_JWT_SECRET: 'ab'.repeat(32),
      NODE_ENV: 'production',
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1, 10.0.0.0/8',
    });
    expect(config.PORT).toBe(0);
    expect(config.HOST).toBe('::1');
    expect(config.RAMPART_OUTBOUND_ALLOW).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });

  it('ignores variables outside the schema', () => {
    expect(() => loadConfig({ SOMETHING_ELSE: 'x', PATH: '/usr/bin' })).not.toThrow();
  });

  // Distinctive bad values, so "the message does not contain the value" cannot pass by accident.
  const cases: Array<[variable: string, bad: string]> = [
    ['PORT', 'abc'],
    ['PORT', 'eighty-QZ81'],
    ['PORT', '99999'],
    ['PORT', '-4431'],
    ['PORT', '80.75'],
    ['HOST', 'not a host QZ82'],
    ['HOST', 'evil.example.QZ83'],
    ['DATABASE_URL', 'mysql://qzuser:qzpassword84@db.example/qz'],
    ['DATABASE_URL', 'not a url QZ85'],
    ['RAMPART_MASTER_KEYS', `k1:${Buffer.alloc(16, 0xab).toString('base64')}`],
    ['RAMPART_MASTER_KEYS', 'QZ86-no-colon-here'],
    ['RAMPART_JWT_SECRET', 'tooShortQZ87'],
    ['NODE_ENV', 'staging'],
    ['REDIS_URL', 'http://qz88.example'],
    ['LOG_LEVEL', 'verboseQZ89'],
    ['RAMPART_REQUEST_TIMEOUT_MS', '7'],
    ['RAMPART_TRUST_PROXY', 'yesQZ90'],
    ['RAMPART_TURNSTILE_VERIFY_URL', 'ftp://qz91.example/verify'],
  ];
  it.each(cases)('%s=%s is refused, naming the variable and not echoing the value', (variable, bad) => {
    const err = configError(() => loadConfig({ [variable]: bad }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(new RegExp(`^${variable}: `));
    expect(err.message).toContain(variable);
    expect(err.message).not.toContain(bad);
    // Nor a recognisable part of it (the password in a URL, the key bytes).
    for (const part of bad.split(/[:/@,\s]+/).filter((p) => p.length >= 6))
      expect(err.message).not.toContain(part);
  });

  it('names every bad variable at once', () => {
    const err = configError(() =>
      loadConfig({
        PORT: 'abc',
        HOST: 'not a host',
        DATABASE_URL: 'mysql://x',
        RAMPART_MASTER_KEYS: `k1:${Buffer.alloc(16, 1).toString('base64')}`,
        RAMPART_JWT_SECRET: 'short',
        NODE_ENV: 'staging',
      }),
    );
    const named = err.problems.map((p) => p.slice(0, p.indexOf(':')));
    expect(named.sort()).toEqual(
      ['DATABASE_URL', 'HOST', 'NODE_ENV', 'PORT', 'RAMPART_JWT_SECRET', 'RAMPART_MASTER_KEYS'].sort(),
    );
  });

  it('treats an empty or blank string as unset (a blank line in an env file is not a key)', () => {
    const config = loadConfig({
      PORT: '',
      HOST: '   ',
      RAMPART_MASTER_KEYS: '',
      RAMPART_JWT_SECRET: ' ',
      DATABASE_URL: '',
      NODE_ENV: '',
    });
    expect(config.PORT).toBe(8787);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.RAMPART_MASTER_KEYS).toBeUndefined();
    expect(config.RAMPART_JWT_SECRET).toBeUndefined();
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.NODE_ENV).toBe('development');
  });

  it('property: a refused value never appears in the error, whatever it is', () => {
    const variables = [
      'PORT',
      'HOST',
      'DATABASE_URL',
      'REDIS_URL',
      'RAMPART_MASTER_KEYS',
      'NODE_ENV',
      'LOG_LEVEL',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...variables),
        fc.string({ unit: 'grapheme-ascii', minLength: 6, maxLength: 40 }),
        (variable, tail) => {
          const bad = `QZ${tail}`;
          let err: unknown;
          try {
            loadConfig({ [variable]: bad });
          } catch (e) {
            err = e;
          }
          // Every such value is invalid for these variables (no port, address, URL or ring starts with QZ).
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).message).toContain(variable);
          expect((err as ConfigError).message).not.toContain(bad);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('resolveKeyMaterial', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rampart-keys-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const dev = (dataDir: string, env: Record<string, string> = {}) =>
    loadConfig({ NODE_ENV: 'development', RAMPART_DATA_DIR: dataDir, ...env });

  it('development: generates master.key and jwt.secret with mode 0600 and warns; a second start reuses them', () => {
    const dataDir = join(dir, 'nested', 'data-dir');
    const first = resolveKeyMaterial(dev(dataDir));
    const masterPath = join(dataDir, 'master.key');
    const jwtPath = join(dataDir, 'jwt.secret');
    expect(mode(masterPath)).toBe(0o600);
    expect(mode(jwtPath)).toBe(0o600);
    // The data directory it had to create is private too.
    expect(mode(dataDir)).toBe(0o700);
    expect(first.warnings).toHaveLength(2);
    expect(first.warnings.join('\n')).toMatch(/generated a development master key at .*master\.key/);
    expect(first.warnings.join('\n')).toMatch(/generated a development JWT secret at .*jwt\.secret/);
    expect(first.warnings.join('\n')).toContain('RAMPART_MASTER_KEYS');
    // The warning says where the key is, never what it is.
    const masterText = readFileSync(masterPath, 'utf8').trim();
    const jwtText = readFileSync(jwtPath, 'utf8').trim();
    expect(first.warnings.join('\n')).not.toContain(masterText.slice(masterText.indexOf(':') + 1));
    expect(first.warnings.join('\n')).not.toContain(jwtText);
    expect(first.jwtKeys.ids).toEqual(['default']);
    expect(first.jwtKeys.keyFor('default')).toHaveLength(32);

    const second = resolveKeyMaterial(dev(dataDir));
    expect(second.warnings).toEqual([]);
    expect(second.ring.primaryId).toBe(first.ring.primaryId);
    expect(second.jwtKeys.keyFor('default')?.equals(first.jwtKeys.keyFor('default') as Buffer)).toBe(true);
    const ctx = { orgId: null, table: 'platform_settings', column: 'value', rowId: 'r1' };
    const envelope = seal(first.ring, 'sealed before a restart', ctx);
    expect(openString(second.ring, envelope, ctx)).toBe('sealed before a restart');
  });

  it('repairs a key file readable by other users to 0600, with a warning', () => {
    resolveKeyMaterial(dev(dir));
    const masterPath = join(dir, 'master.key');
    chmodSync(masterPath, 0o644);
    const again = resolveKeyMaterial(dev(dir));
    expect(mode(masterPath)).toBe(0o600);
    expect(again.warnings).toHaveLength(1);
    expect(again.warnings[0]).toContain(masterPath);
    expect(again.warnings[0]).toMatch(/644.*600/);
  });

  it('uses keys from the environment without touching the data directory', () => {
    const keys = resolveKeyMaterial(
      dev(dir, { RAMPART_MASTER_KEYS: `k2:${key32(2)},k1:${key32(1)}`, RAMPART_JWT_SECRET: key32(9) }),
    );
    expect(keys.warnings).toEqual([]);
    expect(keys.ring.primaryId).toBe('k2');
    expect(keys.jwtKeys.ids).toEqual(['default']);
    expect(keys.jwtKeys.keyFor('default')?.equals(Buffer.alloc(32, 9))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('production: refuses to start without RAMPART_MASTER_KEYS and RAMPART_JWT_SECRET, naming both', () => {
    const err = configError(() =>
      resolveKeyMaterial(loadConfig({ NODE_ENV: 'production', RAMPART_DATA_DIR: dir })),
    );
    expect(err.problems.map((p) => p.slice(0, p.indexOf(':'))).sort()).toEqual([
      'RAMPART_JWT_SECRET',
      'RAMPART_MASTER_KEYS',
    ]);
    expect(err.message).toContain('RAMPART_MASTER_KEYS');
    expect(err.message).toContain('RAMPART_JWT_SECRET');
    // Nothing was generated: a key written to an ephemeral disk would be lost with every sealed value.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('production: names only the missing one, and ignores key files a development run left behind', () => {
    writeFileSync(join(dir, 'master.key'), `dev1:${key32(3)}\n`, { mode: 0o600 });
    const err = configError(() =>
      resolveKeyMaterial(
        loadConfig({ NODE_ENV: 'production', RAMPART_DATA_DIR: dir, RAMPART_JWT_SECRET: key32(4) }),
      ),
    );
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^RAMPART_MASTER_KEYS: /);
    expect(err.message).not.toContain('RAMPART_JWT_SECRET');
  });

  it('production: starts with both keys set', () => {
    const keys = resolveKeyMaterial(
      loadConfig({
        NODE_ENV: 'production',
        RAMPART_DATA_DIR: dir,
        RAMPART_MASTER_KEYS: `k1:${key32(5)}`,
        RAMPART_JWT_SECRET: key32(6),
      }),
    );
    expect(keys.warnings).toEqual([]);
    expect(existsSync(join(dir, 'master.key'))).toBe(false);
  });
});

describe('RAMPART_TRUST_PROXY', () => {
  it('takes a list of proxy addresses, and refuses true (every hop trusted = client-chosen IPs)', () => {
    expect(loadConfig({ RAMPART_TRUST_PROXY: '10.0.0.5, 10.1.0.0/16' }).RAMPART_TRUST_PROXY).toEqual([
      '10.0.0.5',
      '10.1.0.0/16',
    ]);
    expect(() => loadConfig({ RAMPART_TRUST_PROXY: 'true' })).toThrow(/RAMPART_TRUST_PROXY/);
    expect(() => loadConfig({ RAMPART_TRUST_PROXY: '2' })).toThrow(/RAMPART_TRUST_PROXY/);
  });
});
