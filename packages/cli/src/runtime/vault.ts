/**
 * The local vault: small secrets this machine keeps for the CLI (browser session storage state today, CLI login
 * tokens next), encrypted at rest with AES-256-GCM under a 32-byte key file that never leaves the machine.
 *
 * Layout (the config dir is created with mode 0700; every file is written with mode 0600):
 *
 *   <dir>/vault.key                      base64 of 32 random bytes, one line (override: keyFile / RAMPART_VAULT_KEY_FILE)
 *   <dir>/<kind dir>/<name>.vault        {"v":1,"kind","name","updatedAt","envelope"}; kind 'browser-session' -> sessions/
 *
 * Encryption is `@rampart/core/seal` (AES-256-GCM, fresh 96-bit IV per write), with the AAD context
 * `{ orgId: null, table: 'vault:<kind>', column: 'content', rowId: <name> }`: a file copied to another name or
 * kind, or edited, fails to open. The JSON header is a convenience for `list`; the authenticated copy of kind and
 * name is the AAD, and `updatedAt` is informational only.
 *
 * The API is synchronous: it serves a CLI, files are small, and sync calls keep the error paths simple.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { CoreError } from '@rampart/core/errors';
import { KeyRing, open, parseEnvelope, type SealContext, SealError, seal } from '@rampart/core/seal';

/**
 * Why a vault operation failed. Callers branch on `code`; messages are fixed text plus names and paths, never
 * key material or plaintext.
 *
 * - `invalid_name` / `invalid_kind`: the caller passed a name or kind the vault refuses (a usage error).
 * - `not_found`: nothing is stored under that kind and name.
 * - `key_missing`: the key file does not exist (get), or would have to be created next to existing sealed files.
 * - `key_insecure`: the key file is readable or writable by group/other, not a regular file, or not the user's.
 * - `key_invalid`: the key file is not one base64 line of exactly 32 bytes.
 * - `open_failed`: authentication failed: wrong key file, a modified file, or a file copied from another name/kind.
 * - `malformed`: a stored file is not a vault file at all (not JSON, wrong fields).
 * - `io`: the file system refused (permissions, disk full, missing directory).
 */
export type VaultErrorCode =
  | 'invalid_name'
  | 'invalid_kind'
  | 'not_found'
  | 'key_missing'
  | 'key_insecure'
  | 'key_invalid'
  | 'open_failed'
  | 'malformed'
  | 'io';

export class VaultError extends CoreError<VaultErrorCode> {
  override readonly name = 'VaultError';
}

/** One stored item, as `list` reports it: never the contents. */
export interface VaultEntry {
  name: string;
  /** Size of the plaintext in bytes (GCM adds no padding, so this is known without decrypting). */
  bytes: number;
  /** ISO 8601 time of the last `put` (from the file header; informational, not authenticated). */
  updatedAt: string;
  /** The file on disk. */
  path: string;
  /** True when the file is unreadable as a vault file of this kind; `bytes` is then the file size. */
  damaged: boolean;
}

export interface VaultOptions {
  /** The config dir; default `RAMPART_CONFIG_DIR`, else `$XDG_CONFIG_HOME/rampart`, else `~/.config/rampart`. */
  dir?: string | undefined;
  /** The key file; default `RAMPART_VAULT_KEY_FILE`, else `<dir>/vault.key`. */
  keyFile?: string | undefined;
}

export interface Vault {
  readonly dir: string;
  readonly keyFile: string;
  /** Where `kind`/`name` is (or would be) stored. @throws {VaultError} invalid_kind / invalid_name */
  pathFor(kind: string, name: string): string;
  /**
   * Encrypts and stores `bytes`, replacing any previous value atomically. Creates the key file on first use.
   * The caller's bytes are not modified (wipe them yourself when done).
   */
  put(kind: string, name: string, bytes: Uint8Array): { path: string; replaced: boolean };
  /** Decrypts a stored value. The caller owns the returned Buffer: `fill(0)` it after use. */
  get(kind: string, name: string): Buffer;
  /** Every stored item of `kind`, sorted by name. Needs no key. */
  list(kind: string): VaultEntry[];
  /** Removes a stored item; false when there was none. */
  delete(kind: string, name: string): boolean;
}

/** Names are file names: a letter or digit first, then up to 63 of `A-Z a-z 0-9 . _ -` (no `/`, no `..` lead). */
export const VAULT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KIND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** Kinds with a friendlier directory name than the kind itself. */
const KIND_DIRS: Readonly<Record<string, string>> = { 'browser-session': 'sessions' };
const SUFFIX = '.vault';
const KEY_BYTES = 32;
const KEY_ID = 'local';
const FORMAT_VERSION = 1;

/** The default config dir, from the environment (see {@link VaultOptions.dir}). */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RAMPART_CONFIG_DIR) return resolve(env.RAMPART_CONFIG_DIR);
  // The XDG spec says relative values are invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'rampart');
  return join(homedir(), '.config', 'rampart');
}

function checkKind(kind: string): string {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    throw new VaultError('invalid_kind', 'a vault kind must be 1-32 characters of a-z, 0-9 and -');
  }
  // A kind must not land in a directory another kind is mapped to (e.g. a kind named 'sessions').
  const mapped = KIND_DIRS[kind];
  if (mapped === undefined && Object.values(KIND_DIRS).includes(kind)) {
    throw new VaultError('invalid_kind', `"${kind}" is reserved as a vault directory name`);
  }
  return mapped ?? kind;
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !VAULT_NAME_PATTERN.test(name)) {
    throw new VaultError(
      'invalid_name',
      'a name must start with a letter or digit and hold at most 64 characters of A-Z, a-z, 0-9, ".", "_" and "-"',
    );
  }
}

const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function ioError(what: string, err: unknown): VaultError {
  const code = errnoOf(err);
  return new VaultError('io', `${what}${code ? ` (${code})` : ''}`);
}

/** Creates `dir` (and missing parents) with mode 0700; leaves an existing directory as it is. */
function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(`cannot create directory ${dir}`, err);
  }
}

/** fsync a directory, so a rename or a new entry in it survives a power cut, not only a process crash. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Writes `bytes` to `path` so a crash leaves the old file or the new one, never a torn mix: a temp file in the
 * same directory created exclusively (`wx`) with `mode`, written, fsynced, closed, then renamed over the target
 * (or, with `overwrite: false`, hard-linked into place, which fails atomically if the target exists), and the
 * directory fsynced. The temp file is removed on any error.
 *
 * @throws the underlying errno error (`EEXIST` when `overwrite` is false and the target exists).
 */
export function writeFileAtomicSync(
  path: string,
  bytes: Uint8Array,
  opts: { mode?: number; overwrite?: boolean } = {},
): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o600);
  let fdOpen = true;
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fdOpen = false;
    if (opts.overwrite === false) {
      try {
        linkSync(tmp, path);
      } catch (err) {
        // File systems without hard links: fall back to check-then-rename (a small race, still never torn).
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errnoOf(err) ?? '')) throw err;
        if (existsNoFollow(path)) throw Object.assign(new Error(`${path} exists`), { code: 'EEXIST' });
        renameSync(tmp, path);
      }
      rmSync(tmp, { force: true });
    } else {
      renameSync(tmp, path);
    }
  } catch (err) {
    if (fdOpen) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the useful one
      }
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dir);
}

function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Canonical base64 of exactly 32 bytes, or undefined. */
function decodeKey(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    key.fill(0);
    return undefined;
  }
  return key;
}

/**
 * Reads and checks the key file like ssh checks a private key: a regular file, owned by this user (or root),
 * with no permission bits for group or other. The checks run on the opened descriptor, so the file cannot be
 * swapped between the check and the read.
 */
function readKeyFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') throw new VaultError('key_missing', `no vault key file at ${path}`);
    if (code === 'ELOOP') {
      throw new VaultError(
        'key_insecure',
        `the vault key file ${path} is a symbolic link; refusing to use it`,
      );
    }
    throw ioError(`cannot read the vault key file ${path}`, err);
  }
  let raw: Buffer | undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new VaultError('key_insecure', `the vault key file ${path} is not a regular file`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      throw new VaultError(
        'key_insecure',
        `the vault key file ${path} is owned by another user; refusing it`,
      );
    }
    const mode = st.mode & 0o777;
    if (mode & 0o077) {
      throw new VaultError(
        'key_insecure',
        `permissions ${mode.toString(8).padStart(4, '0')} for the vault key file ${path} are too open: it must not be accessible by others; run \`chmod 600 ${path}\``,
      );
    }
    if (st.size > 1024) {
      throw new VaultError('key_invalid', `the vault key file ${path} is not a vault key (too large)`);
    }
    raw = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // One line of base64; a single trailing newline (or CRLF) is allowed so the file can be edited by hand.
    const text = raw.toString('latin1').replace(/\r?\n$/, '');
    const key = decodeKey(text);
    if (key === undefined) {
      throw new VaultError(
        'key_invalid',
        `the vault key file ${path} is not a vault key (expected one line of base64 of ${KEY_BYTES} bytes)`,
      );
    }
    return key;
  } finally {
    raw.fill(0);
  }
}

/** Opens the vault rooted at the config dir. Nothing is read or created until an operation needs it. */
export function openVault(opts: VaultOptions = {}): Vault {
  const dir = opts.dir ? resolve(opts.dir) : defaultConfigDir();
  const keyFile = resolve(opts.keyFile ?? process.env.RAMPART_VAULT_KEY_FILE ?? join(dir, 'vault.key'));

  const kindDir = (kind: string) => join(dir, checkKind(kind));
  const pathFor = (kind: string, name: string) => {
    const folder = kindDir(kind);
    checkName(name);
    return join(folder, `${name}${SUFFIX}`);
  };
  const context = (kind: string, name: string): SealContext => ({
    orgId: null,
    table: `vault:${kind}`,
    column: 'content',
    rowId: name,
  });

  /** Sealed files anywhere in the vault (one level of kind directories), to refuse minting a second key. */
  const hasSealedFiles = (): boolean => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return false;
    }
    for (const entry of entries) {
      try {
        if (readdirSync(join(dir, entry)).some((f) => f.endsWith(SUFFIX))) return true;
      } catch {
        // not a directory
      }
    }
    return false;
  };

  const ring = (create: boolean): KeyRing => {
    let key: Buffer;
    try {
      key = readKeyFile(keyFile);
    } catch (err) {
      if (!(err instanceof VaultError && err.code === 'key_missing' && create)) {
        if (err instanceof VaultError && err.code === 'key_missing') {
          throw new VaultError(
            'key_missing',
            `no vault key file at ${keyFile}: nothing was saved with it, or it was moved or deleted (without it, sealed files cannot be opened)`,
          );
        }
        throw err;
      }
      if (hasSealedFiles()) {
        throw new VaultError(
          'key_missing',
          `no vault key file at ${keyFile}, but ${dir} already holds encrypted files: restore the key file (or pass the right --key-file) instead of creating a new key`,
        );
      }
      ensureDir(dirname(keyFile));
      const fresh = randomBytes(KEY_BYTES);
      const line = Buffer.from(`${fresh.toString('base64')}\n`, 'latin1');
      fresh.fill(0);
      try {
        // Exclusive create: two processes racing here never clobber each other's key; the loser reads it.
        const fd = openSync(keyFile, 'wx', 0o600);
        try {
          writeAll(fd, line);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        fsyncDirSync(dirname(keyFile));
      } catch (writeErr) {
        if (errnoOf(writeErr) !== 'EEXIST')
          throw ioError(`cannot create the vault key file ${keyFile}`, writeErr);
      } finally {
        line.fill(0);
      }
      key = readKeyFile(keyFile);
    }
    try {
      return KeyRing.fromKeys([{ id: KEY_ID, key }]);
    } finally {
      key.fill(0);
    }
  };

  const readStored = (kind: string, name: string, path: string): { envelope: string; updatedAt: string } => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new VaultError('not_found', `no ${kind} named "${name}"`);
      throw ioError(`cannot read ${path}`, err);
    }
    const bad = (why: string) => new VaultError('malformed', `${path} is not a valid vault file: ${why}`);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw bad('not JSON');
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('not a JSON object');
    const rec = doc as Record<string, unknown>;
    const keys = Object.keys(rec).sort().join(',');
    if (keys !== 'envelope,kind,name,updatedAt,v') throw bad('unexpected fields');
    if (rec.v !== FORMAT_VERSION) throw bad(`unsupported version (this build reads v${FORMAT_VERSION})`);
    if (typeof rec.envelope !== 'string' || typeof rec.updatedAt !== 'string') throw bad('wrong field types');
    if (rec.kind !== kind || rec.name !== name) {
      throw new VaultError(
        'open_failed',
        `${path} was not saved as ${kind} "${name}" (was it copied or renamed?); refusing to open it`,
      );
    }
    return { envelope: rec.envelope, updatedAt: rec.updatedAt };
  };

  return {
    dir,
    keyFile,
    pathFor,

    put(kind, name, bytes) {
      const path = pathFor(kind, name);
      if (!(bytes instanceof Uint8Array)) throw new TypeError('vault.put: bytes must be a Uint8Array');
      ensureDir(dir);
      const keys = ring(true);
      ensureDir(dirname(path));
      const envelope = seal(keys, bytes, context(kind, name));
      const doc = { v: FORMAT_VERSION, kind, name, updatedAt: new Date().toISOString(), envelope };
      const replaced = existsNoFollow(path);
      try {
        writeFileAtomicSync(path, Buffer.from(`${JSON.stringify(doc)}\n`, 'utf8'), { mode: 0o600 });
      } catch (err) {
        throw ioError(`cannot write ${path}`, err);
      }
      return { path, replaced };
    },

    get(kind, name) {
      const path = pathFor(kind, name);
      const { envelope } = readStored(kind, name, path);
      const keys = ring(false);
      try {
        return open(keys, envelope, context(kind, name));
      } catch (err) {
        if (!(err instanceof SealError)) throw err;
        if (err.code === 'open_failed') {
          throw new VaultError(
            'open_failed',
            `cannot decrypt ${kind} "${name}": the key file ${keyFile} is not the one it was saved with, or ${path} was modified or copied from another name`,
          );
        }
        throw new VaultError(
          'open_failed',
          `cannot decrypt ${kind} "${name}": ${path} is damaged or was modified`,
        );
      }
    },

    list(kind) {
      const folder = kindDir(kind);
      let files: string[];
      try {
        files = readdirSync(folder);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return [];
        throw ioError(`cannot list ${folder}`, err);
      }
      const entries: VaultEntry[] = [];
      for (const file of files.sort()) {
        if (!file.endsWith(SUFFIX)) continue;
        const name = file.slice(0, -SUFFIX.length);
        if (!VAULT_NAME_PATTERN.test(name)) continue;
        const path = join(folder, file);
        try {
          const { envelope, updatedAt } = readStored(kind, name, path);
          const { body } = parseEnvelope(envelope);
          entries.push({ name, bytes: body.length - 16, updatedAt, path, damaged: false });
        } catch {
          let size = 0;
          let mtime = new Date(0);
          try {
            const st = statSync(path);
            size = st.size;
            mtime = st.mtime;
          } catch {
            // vanished meanwhile
          }
          entries.push({ name, bytes: size, updatedAt: mtime.toISOString(), path, damaged: true });
        }
      }
      return entries;
    },

    delete(kind, name) {
      const path = pathFor(kind, name);
      try {
        unlinkSync(path);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return false;
        throw ioError(`cannot delete ${path}`, err);
      }
      fsyncDirSync(dirname(path));
      return true;
    },
  };
}
