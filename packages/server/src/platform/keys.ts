import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { KeyRing } from '@rampart/core/seal';
import { SessionKeyRing } from '@rampart/core/tokens';
import { type Config, ConfigError, decodeSecret, parseJwtSecrets } from './config.js';

export interface KeyMaterial {
  ring: KeyRing;
  /**
   * Session (JWT) keys: RAMPART_JWT_SECRETS as given, or the single RAMPART_JWT_SECRET (or development
   * `jwt.secret` file) as the key with id `default`. The first key signs; every key verifies.
   */
  jwtKeys: SessionKeyRing;
  /** Human-readable warnings about generated development keys; the caller prints them loudly. */
  warnings: string[];
}

/** Reads a key file, repairing permissions that let other users read it. */
function readKeyFile(path: string, warnings: string[]): string {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(path, 0o600);
    warnings.push(`${path} was readable by other users (mode ${mode.toString(8)}); changed to 600`);
  }
  return readFileSync(path, 'utf8').trim();
}

function createKeyFile(path: string, contents: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  // Written whole under a private name, then hard-linked into place: link() refuses to overwrite, so two
  // processes racing here (several `rampart start` workers or nodes on one data directory) never clobber each
  // other's key, and a reader never sees a half-written file. The loser reads the winner's file.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${contents}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    // A filesystem without hard links (some network and FUSE mounts): create-exclusive in place instead.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    try {
      writeFileSync(path, `${contents}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Master keys and the JWT keys. From the environment when set (RAMPART_JWT_SECRETS, else RAMPART_JWT_SECRET as
 * the key `default`; config refuses both at once); in development, from (or freshly generated into)
 * `<dataDir>/master.key` and `<dataDir>/jwt.secret` (one secret, the key `default`) with mode 0600; in
 * production, missing keys refuse to start, because generated keys on an ephemeral disk would make every sealed
 * value unreadable later.
 * @throws ConfigError in production when a key is missing
 */
export function resolveKeyMaterial(config: Config): KeyMaterial {
  const warnings: string[] = [];
  const prod = config.NODE_ENV === 'production';
  const missing = [
    ...(config.RAMPART_MASTER_KEYS ? [] : ['RAMPART_MASTER_KEYS']),
    ...(config.RAMPART_JWT_SECRET || config.RAMPART_JWT_SECRETS ? [] : ['RAMPART_JWT_SECRET']),
  ];
  if (prod && missing.length) {
    throw new ConfigError(
      missing.map(
        (v) =>
          `${v}: required when NODE_ENV=production${v === 'RAMPART_JWT_SECRET' ? ' (or RAMPART_JWT_SECRETS, a key ring)' : ''} (see docs/OPERATIONS.md)`,
      ),
    );
  }

  let ringSpec = config.RAMPART_MASTER_KEYS;
  if (!ringSpec) {
    const path = join(config.RAMPART_DATA_DIR, 'master.key');
    if (!existsSync(path)) {
      const id = `dev${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
      createKeyFile(path, `${id}:${KeyRing.generateKey().toString('base64')}`);
      warnings.push(`generated a development master key at ${path}; set RAMPART_MASTER_KEYS in production`);
    }
    ringSpec = readKeyFile(path, warnings);
  }

  if (config.RAMPART_JWT_SECRETS) {
    return { ring: KeyRing.parse(ringSpec), jwtKeys: parseJwtSecrets(config.RAMPART_JWT_SECRETS), warnings };
  }
  let jwt = config.RAMPART_JWT_SECRET;
  if (!jwt) {
    const path = join(config.RAMPART_DATA_DIR, 'jwt.secret');
    if (!existsSync(path)) {
      createKeyFile(path, randomBytes(32).toString('base64'));
      warnings.push(`generated a development JWT secret at ${path}; set RAMPART_JWT_SECRET in production`);
    }
    jwt = readKeyFile(path, warnings);
  }
  const jwtSecret = decodeSecret(jwt);
  if (!jwtSecret) throw new ConfigError(['RAMPART_JWT_SECRET: must encode at least 32 random bytes']);
  return { ring: KeyRing.parse(ringSpec), jwtKeys: SessionKeyRing.single(jwtSecret), warnings };
}
