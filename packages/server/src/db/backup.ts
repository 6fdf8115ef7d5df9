import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { openPglite } from './engine-pglite.js';
import { lockDataDir } from './lockfile.js';

/**
 * Backups and restores (issue 23 §5). PostgreSQL: `pg_dump -Fc` / `pg_restore` from PATH, the dump run as a
 * role that bypasses row-level security (tenant tables FORCE RLS, so an ordinary owner dumped them empty).
 * PGlite: a gzipped tarball of the data directory (PGlite's dumpDataDir / loadDataDir), taken with the server
 * stopped (PGlite is one process; the data directory's pid lock says so). The caller verifies the audit chains
 * after a restore.
 */

/** Progress and notices, one line each (the CLI writes them to stderr). */
export type BackupLog = (line: string) => void;

/** The read-only BYPASSRLS role migration 0024 creates. */
export const BACKUP_ROLE = 'rampart_backup';

/** A backup or restore that cannot go ahead; the message says why and what to do. Never holds a password. */
export class BackupError extends Error {
  override name = 'BackupError';
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

/** The URL without its password (for pg_dump's argv and messages), and the password for PGPASSWORD. */
function splitUrl(url: string): {
  safe: string;
  password: string | undefined;
  redact: (s: string) => string;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BackupError('DATABASE_URL is not a valid URL');
  }
  const raw = u.password;
  const password = raw ? decodeURIComponent(raw) : undefined;
  u.password = '';
  const safe = u.toString();
  const secrets = [raw, password].filter((s): s is string => !!s && s.length > 0);
  const redact = (s: string) => secrets.reduce((acc, p) => acc.split(p).join('***'), s);
  return { safe, password, redact };
}

/** Host/port/database for progress lines (never user or password). */
function describeTarget(url: string): string {
  const u = new URL(url);
  return `database "${decodeURIComponent(u.pathname.slice(1)) || '(default)'}" on ${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}`;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a PostgreSQL client tool from PATH. The password travels in PGPASSWORD, never on the command line
 * (argv is visible to every local user). `onLine` sees stderr lines as they come.
 */
function runTool(
  bin: string,
  args: string[],
  password: string | undefined,
  onLine?: (line: string) => void,
): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(bin, args, {
        env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(err);
      return;
    }
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!onLine) return;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(
          new BackupError(
            `${bin} not found on PATH: install the PostgreSQL client tools (postgresql-client), the same major version as the server or newer`,
          ),
        );
      else reject(err);
    });
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** The major version of a client tool (`pg_dump (PostgreSQL) 15.20 ...` → 15). */
async function toolMajor(bin: string): Promise<number> {
  const r = await runTool(bin, ['--version'], undefined);
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new BackupError(`${bin} --version did not answer like a PostgreSQL tool`);
  return Number(m[1]);
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const { redact } = splitUrl(url);
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (err) {
    throw new BackupError(`cannot connect to the database: ${redact((err as Error).message)}`);
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

const serverMajor = async (c: pg.Client): Promise<number> =>
  Math.floor(
    Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v) /
      10_000,
  );

export interface PostgresBackupResult {
  /** The role the dump ran as: the connecting user (superuser or BYPASSRLS) or rampart_backup. */
  role: string;
  bytes: number;
}

/**
 * Dumps the database (custom format, `pg_dump -Fc`) to `out`, as a role that sees every tenant row: the
 * connecting user when it is a superuser or has BYPASSRLS, else rampart_backup when the user is a member.
 * The file is written to a temporary name (mode 0600: it holds sealed secrets and hashes) and renamed when
 * pg_dump succeeded, so a failed dump never leaves a file that looks like a backup.
 * @throws BackupError when pg_dump is missing or older than the server, or no role can read every row
 */
export async function backupPostgres(
  url: string,
  out: string,
  log: BackupLog,
): Promise<PostgresBackupResult> {
  const { safe, password, redact } = splitUrl(url);
  const dumpMajor = await toolMajor('pg_dump');
  const plan = await withClient(url, async (c) => {
    const major = await serverMajor(c);
    const { rows } = await c.query<{
      me: string;
      rolsuper: boolean;
      rolbypassrls: boolean;
      member: boolean | null;
    }>(
      `SELECT current_user AS me, r.rolsuper, r.rolbypassrls,
              CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN pg_has_role(current_user, $1, 'MEMBER') END AS member
         FROM pg_roles r WHERE r.rolname = current_user`,
      [BACKUP_ROLE],
    );
    return { major, ...(rows[0] as NonNullable<(typeof rows)[0]>) };
  });
  if (dumpMajor < plan.major)
    throw new BackupError(
      `pg_dump ${dumpMajor} cannot dump a PostgreSQL ${plan.major} server: install the PostgreSQL ${plan.major} client tools (or newer) and put them first on PATH`,
    );
  let asRole: string | undefined;
  if (!plan.rolsuper && !plan.rolbypassrls) {
    if (plan.member === null)
      throw new BackupError(
        `database user ${plan.me} cannot read tenant rows (no SUPERUSER or BYPASSRLS) and role ${BACKUP_ROLE} does not exist: a superuser must create it (docs/OPERATIONS.md, Backups and restore)`,
      );
    if (!plan.member)
      throw new BackupError(
        `database user ${plan.me} cannot read tenant rows: a superuser must run GRANT ${BACKUP_ROLE} TO ${plan.me} (docs/OPERATIONS.md, Backups and restore)`,
      );
    asRole = BACKUP_ROLE;
  }
  const role = asRole ?? plan.me;
  const target = resolve(out);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  closeSync(openSync(tmp, 'w', 0o600));
  log(`dumping ${describeTarget(url)} as role ${role} with pg_dump ${dumpMajor}`);
  try {
    const r = await runTool(
      'pg_dump',
      [
        '--format=custom',
        '--verbose',
        '--no-password',
        `--file=${tmp}`,
        ...(asRole ? [`--role=${asRole}`] : []),
        `--dbname=${safe}`,
      ],
      password,
      (line) => {
        const m = /dumping contents of table "?([^"]+)"?/.exec(line);
        if (m) log(`  table ${m[1]}`);
      },
    );
    if (r.code !== 0) throw new BackupError(`pg_dump failed:\n${redact(toolErrors(r.stderr))}`);
    if (backupKind(tmp) !== 'postgres')
      throw new BackupError('pg_dump exited 0 but wrote no custom-format archive');
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
  const bytes = statSync(target).size;
  log(`wrote ${target} (${bytes} bytes)`);
  return { role, bytes };
}

/** The error lines of a tool's verbose stderr (its progress chatter dropped). */
function toolErrors(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => /error|fatal|could not|failed|detail|hint/i.test(l));
  return (lines.length ? lines : stderr.split('\n').slice(-10)).join('\n').trim();
}

/** Reads the first bytes of a file. */
function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export type BackupKind = 'postgres' | 'pglite';

/** What kind of backup a file is, by its first bytes: `PGDMP` (pg_dump custom format) or gzip (PGlite). */
export function backupKind(file: string): BackupKind | null {
  if (!existsSync(file)) throw new BackupError(`${file}: no such file`);
  const h = head(file, 5);
  if (h.toString('latin1') === 'PGDMP') return 'postgres';
  if (h[0] === 0x1f && h[1] === 0x8b) return 'pglite';
  return null;
}

function expectKind(file: string, want: BackupKind): void {
  const kind = backupKind(file);
  if (kind === want) return;
  if (kind === null)
    throw new BackupError(`${file} is not a Rampart backup (neither a pg_dump archive nor a PGlite tarball)`);
  throw new BackupError(
    want === 'postgres'
      ? `${file} is a PGlite (embedded) backup: restore it without DATABASE_URL (moving between engines is not supported)`
      : `${file} is a PostgreSQL (pg_dump) backup: restore it with DATABASE_URL set (moving between engines is not supported)`,
  );
}

export interface RestoreOptions {
  /** Restore into a database (or data directory) that already holds a schema. */
  force?: boolean;
}

// The roles the schema's grants name, created before pg_restore (they are cluster-wide, so a dump holds no
// CREATE ROLE). The same statements as migrations 0001 and 0024; idempotent.
const ENSURE_APP_ROLE = `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_app') THEN
    BEGIN
      CREATE ROLE rampart_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END $$`;
const ENSURE_BACKUP_ROLE = `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_backup') THEN
    BEGIN
      CREATE ROLE rampart_backup NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT BYPASSRLS;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN NULL;
    END;
  END IF;
END $$`;

/**
 * Restores a `pg_dump -Fc` archive into the database DATABASE_URL names: refuses a database that already has
 * tables unless `force` (then pg_restore --clean replaces what the archive holds); creates rampart_app and
 * rampart_backup if missing and lets the schema owner switch to them; restores in one transaction, stopping
 * at the first error; then ANALYZEs. The caller verifies the audit chains afterwards.
 * @throws BackupError naming what is missing or wrong, before anything was written where possible
 */
export async function restorePostgres(
  url: string,
  file: string,
  opts: RestoreOptions,
  log: BackupLog,
): Promise<void> {
  const { safe, password, redact } = splitUrl(url);
  expectKind(file, 'postgres');
  const restoreMajor = await toolMajor('pg_restore');
  // The archive's schema as SQL (no data: quick), to learn its owner and the roles its grants name.
  const schema = await runTool('pg_restore', ['--schema-only', '--file=-', resolve(file)], undefined);
  if (schema.code !== 0)
    throw new BackupError(`pg_restore ${restoreMajor} cannot read ${file}:\n${toolErrors(schema.stderr)}`);
  // Built-in roles (pg_database_owner owns schema public on PostgreSQL 15) exist everywhere; skip them.
  const owners = new Set(
    [...schema.stdout.matchAll(/ OWNER TO "?([^";\s]+)"?;/g)]
      .map((m) => m[1] as string)
      .filter((r) => !r.startsWith('pg_')),
  );
  const namesBackupRole = schema.stdout.includes(BACKUP_ROLE);

  await withClient(url, async (c) => {
    log(`restoring ${file} into ${describeTarget(url)}`);
    const { rows: present } = await c.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')`,
    );
    const n = Number(present[0]?.n ?? 0);
    if (n > 0 && !opts.force)
      throw new BackupError(
        `the target database is not empty (${n} tables or sequences in schema public): restore into a new empty database, or pass --force to replace the objects the backup holds`,
      );
    const { rows: me } = await c.query<{ me: string; rolsuper: boolean }>(
      'SELECT current_user AS me, rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    const self = me[0] as { me: string; rolsuper: boolean };
    for (const owner of owners) {
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner]);
      if (!rowCount)
        throw new BackupError(
          `the backup's objects belong to role ${owner}, which does not exist on this server: create it first (CREATE ROLE ${owner} LOGIN) and restore as it or as a superuser`,
        );
      if (owner !== self.me && !self.rolsuper)
        throw new BackupError(
          `the backup's objects belong to role ${owner}: restore as that role (the schema owner) or as a superuser, not as ${self.me}`,
        );
    }
    log('creating the roles the schema needs (rampart_app, rampart_backup) if missing');
    await c.query(ENSURE_APP_ROLE);
    await c.query(ENSURE_BACKUP_ROLE);
    const { rowCount: hasBackup } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [BACKUP_ROLE]);
    if (!hasBackup && namesBackupRole)
      throw new BackupError(
        `the backup grants to role ${BACKUP_ROLE}, which ${self.me} may not create (BYPASSRLS needs a superuser): a superuser must run CREATE ROLE ${BACKUP_ROLE} NOLOGIN NOINHERIT BYPASSRLS first`,
      );
    if (!hasBackup) log(`note: role ${BACKUP_ROLE} could not be created; backups will need a superuser`);
    // The owner switches to rampart_app for every request (and to rampart_backup for backups): memberships
    // are cluster-wide, so the archive does not carry them.
    for (const owner of owners) {
      for (const role of ['rampart_app', ...(hasBackup ? [BACKUP_ROLE] : [])]) {
        const { rows } = await c.query<{ m: boolean }>(`SELECT pg_has_role($1, $2, 'MEMBER') AS m`, [
          owner,
          role,
        ]);
        if (rows[0]?.m) continue;
        try {
          await c.query(`GRANT ${role} TO "${owner.replaceAll('"', '""')}"`);
        } catch (err) {
          const why = `cannot GRANT ${role} TO ${owner} (${redact((err as Error).message)})`;
          // Without rampart_app the server cannot serve a request: stop. rampart_backup only serves backups.
          if (role === 'rampart_app')
            throw new BackupError(`${why}: a superuser must run it, then restore again`);
          log(`note: ${why}; backups as ${owner} will need a superuser to run that GRANT`);
        }
      }
    }
  });

  const r = await runTool(
    'pg_restore',
    [
      '--verbose',
      '--no-password',
      '--exit-on-error',
      '--single-transaction',
      ...(opts.force ? ['--clean', '--if-exists'] : []),
      `--dbname=${safe}`,
      resolve(file),
    ],
    password,
    (line) => {
      const m = /processing data for table "?([^"]+)"?/.exec(line);
      if (m) log(`  table ${m[1]}`);
    },
  );
  if (r.code !== 0)
    throw new BackupError(
      `pg_restore failed (nothing was restored: one transaction):\n${redact(toolErrors(r.stderr))}`,
    );
  // pg_restore copies no statistics; the planner should not start blind.
  await withClient(url, (c) => c.query('ANALYZE'));
  log('restored; statistics refreshed (ANALYZE)');
}

// ---------------------------------------------------------------------------------------------------------
// PGlite

/** `<RAMPART_DATA_DIR>/data`, where the embedded database lives (as openDatabase lays it out). */
export const pgliteDir = (dataDir: string): string => resolve(join(dataDir, 'data'));

const hasDatabase = (dir: string): boolean => existsSync(join(dir, 'PG_VERSION'));

/**
 * Writes a gzipped tarball of the embedded database to `out` (mode 0600). Needs the data directory to itself:
 * PGlite is one process, so a running server holds its lock and this refuses (stop the server first).
 * @throws BackupError when there is no database there; Error (from the lock) when a server holds it
 */
export async function backupPglite(dataDir: string, out: string, log: BackupLog): Promise<{ bytes: number }> {
  const dir = pgliteDir(dataDir);
  if (!hasDatabase(dir)) throw new BackupError(`no embedded database in ${dir} (is RAMPART_DATA_DIR right?)`);
  log(`dumping the embedded database in ${dir}`);
  const engine = await openPglite({ dataDir: dir });
  let tarball: Blob;
  try {
    tarball = await engine.dump('gzip');
  } finally {
    await engine.close();
  }
  const target = resolve(out);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  try {
    await writeFile(tmp, Buffer.from(await tarball.arrayBuffer()), { mode: 0o600 });
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
  const bytes = statSync(target).size;
  log(`wrote ${target} (${bytes} bytes)`);
  return { bytes };
}

/**
 * Unpacks a PGlite backup into `<dataDir>/data`, which must be absent or empty unless `force`: then the
 * existing directory is kept, renamed to `data.before-restore-<time>`, never deleted. Refuses while a server
 * holds the directory. The caller opens the database (migrating an older backup) and verifies the chains.
 * @returns where the replaced directory went, if any
 */
export async function restorePglite(
  dataDir: string,
  file: string,
  opts: RestoreOptions,
  log: BackupLog,
): Promise<{ movedAside?: string }> {
  expectKind(file, 'pglite');
  const dir = pgliteDir(dataDir);
  let movedAside: string | undefined;
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    // A running server holds the lock: refuse before touching anything (the lock throws with its pid).
    lockDataDir(dir)();
    if (!opts.force)
      throw new BackupError(
        `${dir} is not empty: restore into an empty RAMPART_DATA_DIR, or pass --force to move the current data aside (kept, not deleted)`,
      );
    movedAside = `${dir}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(dir, movedAside);
    log(`moved the current data directory aside to ${movedAside}`);
  }
  const gz = await readFile(file);
  let tar: Buffer;
  try {
    tar = gunzipSync(gz);
  } catch {
    throw new BackupError(`${file} is not a readable PGlite backup (gzip data is damaged)`);
  }
  log(`loading ${file} into ${dir}`);
  const engine = await openPglite({ dataDir: dir, loadDataDir: new Blob([tar]) });
  await engine.close();
  if (!hasDatabase(dir)) throw new BackupError(`${file} did not hold a PGlite data directory`);
  return movedAside ? { movedAside } : {};
}
