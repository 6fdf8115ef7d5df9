import { lstatSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openVault, type Vault, VaultError, writeFileAtomicSync } from '../runtime/vault.js';
import { readStdin, runCommand, UsageError, vaultCall } from './common.js';

/** The vault kind browser sessions are stored under (files in `<config dir>/sessions/`). */
export const SESSION_KIND = 'browser-session';

interface Locations {
  dir?: string;
  keyFile?: string;
}

const vaultFrom = (opts: Locations): Vault => openVault({ dir: opts.dir, keyFile: opts.keyFile });

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const notFound = (name: string, path: string) => `no saved session named "${name}" (no file ${path})`;

function notFoundAsSession<T>(name: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof VaultError && err.code === 'not_found') throw new Error(notFound(name, path));
    throw err;
  }
}

function requireName(vault: Vault, name: string | undefined): { name: string; path: string } {
  if (name === undefined || name === '') throw new UsageError('give the session a name with --name <name>');
  return { name, path: vaultCall(() => vault.pathFor(SESSION_KIND, name)) };
}

const STORAGE_STATE_HINT =
  'expected a Playwright/Puppeteer storage state: a JSON object with "cookies" and "origins" arrays (e.g. from `context.storageState({ path })`)';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks that `bytes` is a browser storage state and counts what it holds. Error messages name positions and
 * fields, never values: the input is cookies and localStorage.
 *
 * @throws {UsageError} for anything that is not a storage state.
 */
export function checkStorageState(bytes: Uint8Array): { cookies: number; origins: number } {
  let doc: unknown;
  try {
    // Node's JSON.parse messages quote the input around the error, so they are never shown.
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new UsageError(`the input is not JSON; ${STORAGE_STATE_HINT}`);
  }
  if (!isRecord(doc) || !Array.isArray(doc.cookies) || !Array.isArray(doc.origins)) {
    throw new UsageError(`the input is not a storage state; ${STORAGE_STATE_HINT}`);
  }
  doc.cookies.forEach((cookie: unknown, i) => {
    if (
      !isRecord(cookie) ||
      typeof cookie.name !== 'string' ||
      typeof cookie.value !== 'string' ||
      (typeof cookie.domain !== 'string' && typeof cookie.url !== 'string')
    ) {
      throw new UsageError(
        `the input is not a storage state: cookies[${i}] must be an object with string "name", "value" and "domain"`,
      );
    }
  });
  doc.origins.forEach((origin: unknown, i) => {
    const items = isRecord(origin) ? origin.localStorage : undefined;
    if (
      !isRecord(origin) ||
      typeof origin.origin !== 'string' ||
      (items !== undefined &&
        (!Array.isArray(items) ||
          !items.every((e) => isRecord(e) && typeof e.name === 'string' && typeof e.value === 'string')))
    ) {
      throw new UsageError(
        `the input is not a storage state: origins[${i}] must be an object with a string "origin" and a "localStorage" array of { name, value } strings`,
      );
    }
  });
  return { cookies: doc.cookies.length, origins: doc.origins.length };
}

async function readInput(file: string | undefined): Promise<Buffer> {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) {
      process.stderr.write('reading the storage state JSON from standard input (end with Ctrl-D)\n');
    }
    let bytes: Buffer;
    try {
      bytes = await readStdin();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read standard input${code ? ` (${code})` : ''}; pass --file <path>`);
    }
    if (bytes.length === 0) {
      throw new UsageError('no input: pipe a storage state JSON on standard input, or pass --file <path>');
    }
    return bytes;
  }
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read --file ${file}${code ? ` (${code})` : ''}`);
  }
}

/** Writes to stdout and waits until the bytes are handed off, so the caller can wipe its buffer afterwards. */
function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((done) => {
    process.stdout.write(bytes, () => done());
  });
}

function withLocations(cmd: Command): Command {
  return cmd
    .option(
      '--dir <dir>',
      'the config dir (default: $RAMPART_CONFIG_DIR, $XDG_CONFIG_HOME/rampart, ~/.config/rampart)',
    )
    .option('--key-file <file>', 'the vault key file (default: $RAMPART_VAULT_KEY_FILE or <dir>/vault.key)');
}

/** `rampart runtime session save|load|list|delete`: browser storage state, encrypted at rest in the local vault. */
export function registerSessionCommands(runtime: Command): void {
  const session = runtime
    .command('session')
    .description(
      'keep browser sessions (Playwright/Puppeteer storage state) on this machine, encrypted with AES-256-GCM under a local key file (mode 0600)',
    )
    .addHelpText(
      'after',
      `
Sessions live in <config dir>/sessions/<name>.vault; the key in <config dir>/vault.key (created on first save).

Examples:
  $ rampart runtime session save --name crm --file state.json
  $ node login.js | rampart runtime session save --name crm
  $ rampart runtime session load --name crm --out state.json
  $ rampart runtime session list
  $ rampart runtime session delete --name crm`,
    );

  withLocations(
    session
      .command('save')
      .description(
        'encrypt a storage state JSON (from --file, or standard input) and store it under a name, replacing any previous one',
      )
      .option('--name <name>', 'the session name (A-Z a-z 0-9 . _ -, up to 64 characters)')
      .option('--file <file>', 'the storage state JSON; - or absent reads standard input'),
  ).action(async (opts: Locations & { name?: string; file?: string }) =>
    runCommand(async () => {
      const vault = vaultFrom(opts);
      const { name } = requireName(vault, opts.name);
      const input = await readInput(opts.file);
      try {
        const counts = checkStorageState(input);
        const { path, replaced } = vault.put(SESSION_KIND, name, input);
        process.stderr.write(
          `${replaced ? 'replaced' : 'saved'} session "${name}" (${plural(counts.cookies, 'cookie')}, ${plural(counts.origins, 'origin')}), encrypted at ${path}\n`,
        );
      } finally {
        input.fill(0);
      }
      return undefined;
    }),
  );

  withLocations(
    session
      .command('load')
      .description(
        'decrypt a saved session and print the storage state JSON (or write it to --out, mode 0600)',
      )
      .option('--name <name>', 'the session name')
      .option('--out <file>', 'write it to this file (atomically, mode 0600) instead of standard output')
      .option('--force', 'replace --out if it exists'),
  ).action(async (opts: Locations & { name?: string; out?: string; force?: boolean }) =>
    runCommand(async () => {
      const vault = vaultFrom(opts);
      const { name, path } = requireName(vault, opts.name);
      const force = opts.force === true;
      const out = opts.out === undefined || opts.out === '-' ? undefined : resolve(opts.out);
      if (out !== undefined && !force && existsAny(out)) {
        throw new Error(`${out} already exists; pass --force to replace it`);
      }
      const bytes = notFoundAsSession(name, path, () => vault.get(SESSION_KIND, name));
      try {
        if (out === undefined) {
          await writeStdout(bytes);
          return undefined;
        }
        try {
          writeFileAtomicSync(out, bytes, { mode: 0o600, overwrite: force });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') throw new Error(`${out} already exists; pass --force to replace it`);
          throw new Error(`cannot write ${out}${code ? ` (${code})` : ''}`);
        }
        process.stderr.write(
          `wrote session "${name}" to ${out} (plaintext, mode 0600: delete it when you are done)\n`,
        );
        return undefined;
      } finally {
        bytes.fill(0);
      }
    }),
  );

  withLocations(
    session
      .command('list')
      .description('list saved sessions: name, size and when it was saved (never the contents)')
      .option('--json', 'print a JSON array of { name, bytes, updatedAt, damaged }'),
  ).action(async (opts: Locations & { json?: boolean }) =>
    runCommand(async () => {
      const vault = vaultFrom(opts);
      const entries = vaultCall(() => vault.list(SESSION_KIND));
      if (opts.json) {
        return JSON.stringify(
          entries.map(({ name, bytes, updatedAt, damaged }) => ({ name, bytes, updatedAt, damaged })),
        );
      }
      if (entries.length === 0) return `no saved sessions in ${vault.dir}`;
      const width = Math.max(4, ...entries.map((e) => e.name.length));
      const rows = entries.map(
        (e) =>
          `${e.name.padEnd(width)}  ${String(e.bytes).padStart(9)}  ${e.updatedAt}${e.damaged ? '  (damaged: cannot be read)' : ''}`,
      );
      return [`${'NAME'.padEnd(width)}  ${'BYTES'.padStart(9)}  UPDATED`, ...rows].join('\n');
    }),
  );

  withLocations(
    session
      .command('delete')
      .description('delete a saved session file')
      .option('--name <name>', 'the session name'),
  ).action(async (opts: Locations & { name?: string }) =>
    runCommand(async () => {
      const vault = vaultFrom(opts);
      const { name, path } = requireName(vault, opts.name);
      if (!vault.delete(SESSION_KIND, name)) throw new Error(notFound(name, path));
      process.stderr.write(`deleted session "${name}" (${path})\n`);
      return undefined;
    }),
  );
}

/** Whether anything (a file, a directory, a dangling symlink) is at `path`. */
function existsAny(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
