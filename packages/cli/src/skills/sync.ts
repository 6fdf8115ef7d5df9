import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { keyIdOf, SKILL_NAME, SkillPackError, verifyPackage } from '@rampart/core/skillpack';
import { acquirePidLock } from '@rampart/server/pid-lock';
import { apiFetch, apiJson } from './http.js';
import { cleanSkillDir, installedVersion, installVersion } from './install.js';
import { loadTrust, STATE_DIR, saveTrust, type TrustState } from './trust.js';

export interface SyncOptions {
  server: URL;
  token: string;
  dir: string;
  /** Only these skills (default: every skill the org offers). */
  only?: readonly string[];
  /** Public keys (raw 32 bytes) to pin explicitly, before anything the server says. */
  trustKeys?: readonly Buffer[];
  /** Pin signing keys the server lists that this runtime does not trust yet. */
  acceptServerKeys?: boolean;
  /** Largest package this runtime downloads. */
  maxBytes?: number;
  log: (line: string) => void;
}

export type SkillResult =
  | { name: string; status: 'installed'; from: number | null; to: number; sha256: string }
  | { name: string; status: 'up_to_date'; version: number }
  | { name: string; status: 'refused'; code: string; reason: string };

interface CatalogEntry {
  name: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  keyId: string;
}

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Refusals a runtime reports per skill (the rest of the sync goes on). */
class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One sync at a time per directory: a pid lock file (taken over when the process that left it is dead). */
async function lock(dir: string): Promise<() => void> {
  await mkdir(join(dir, STATE_DIR), { recursive: true, mode: 0o700 });
  return acquirePidLock(join(dir, STATE_DIR, 'lock'), (pid) => `another sync (pid ${pid}) is using ${dir}`);
}

/** Applies the server's key list to the local trust: revocations always, additions only on first use or consent. */
function updateKeys(
  trust: TrustState,
  serverKeys: Array<{ keyId: string; publicKey: string; revoked: boolean }>,
  opts: SyncOptions,
): void {
  const now = new Date().toISOString();
  // First use means a directory that never trusted anything. Decided before revocations are applied: a server
  // that revokes every pinned key must not thereby turn the next key it lists into a "first use" pin.
  const firstUse =
    Object.keys(trust.keys).length === 0 &&
    trust.revoked.length === 0 &&
    Object.keys(trust.skills).length === 0 &&
    trust.lastSyncAt === null &&
    !opts.trustKeys?.length;
  for (const k of serverKeys) {
    if (!k.revoked) continue;
    if (!trust.revoked.includes(k.keyId)) trust.revoked.push(k.keyId);
    if (trust.keys[k.keyId]) {
      delete trust.keys[k.keyId];
      opts.log(`key ${k.keyId} was revoked by the org: no longer trusted`);
    }
  }
  for (const raw of opts.trustKeys ?? []) {
    const keyId = keyIdOf(raw);
    if (trust.revoked.includes(keyId))
      throw new Error(`key ${keyId} has been revoked; it cannot be trusted again`);
    if (!trust.keys[keyId])
      trust.keys[keyId] = { publicKey: raw.toString('base64url'), pinnedAt: now, source: 'trust-key' };
  }
  const active = serverKeys.filter((k) => !k.revoked && !trust.revoked.includes(k.keyId));
  for (const k of active) {
    if (trust.keys[k.keyId]) continue;
    if (firstUse || opts.acceptServerKeys) {
      trust.keys[k.keyId] = {
        publicKey: k.publicKey,
        pinnedAt: now,
        source: firstUse ? 'first-use' : 'accepted',
      };
      opts.log(
        firstUse
          ? `pinned signing key ${k.keyId} on first use (compare it with the key id your builders registered)`
          : `pinned signing key ${k.keyId} (--accept-server-keys)`,
      );
    } else {
      opts.log(
        `the org lists signing key ${k.keyId}, which this runtime does not trust (use --trust-key <file.pub> or --accept-server-keys)`,
      );
    }
  }
}

async function download(opts: SyncOptions, entry: CatalogEntry): Promise<Buffer> {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (entry.sizeBytes > max)
    throw new Refusal('too_large', `the package is ${entry.sizeBytes} bytes; the limit is ${max}`);
  const res = await apiFetch(
    opts.server,
    `/api/runtime/skills/${encodeURIComponent(entry.name)}/package?version=${entry.version}`,
    opts.token,
    {
      timeoutMs: 600_000,
    },
  );
  const total = Number(res.headers.get('content-length') ?? entry.sizeBytes);
  const chunks: Buffer[] = [];
  let got = 0;
  let lastReport = 0;
  if (!res.body) throw new Error('the server sent no package body');
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    got += chunk.length;
    if (got > max) throw new Refusal('too_large', `the download passed ${max} bytes`);
    chunks.push(Buffer.from(chunk));
    if (Date.now() - lastReport > 250 && total > 1024 * 1024) {
      lastReport = Date.now();
      opts.log(
        `downloading ${entry.name} v${entry.version}: ${(got / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MB`,
      );
    }
  }
  return Buffer.concat(chunks);
}

async function syncOne(opts: SyncOptions, trust: TrustState, entry: CatalogEntry): Promise<SkillResult> {
  const { name } = entry;
  const skillDir = join(opts.dir, name);
  const disk = await installedVersion(skillDir);
  const record = trust.skills[name];
  // The floor is the highest version this runtime ever accepted or has on disk: never go below it.
  const floor = Math.max(record?.version ?? 0, disk ?? 0);
  if (entry.version < floor)
    throw new Refusal(
      'rollback',
      `the server offers v${entry.version}, below v${floor} already accepted here (rollback refused)`,
    );
  if (entry.version === floor && disk === floor && (!record || record.sha256 === entry.sha256)) {
    await cleanSkillDir(skillDir);
    return { name, status: 'up_to_date', version: floor };
  }
  const bytes = await download(opts, entry);
  const digest = sha256(bytes);
  const trusted = new Map(
    Object.entries(trust.keys)
      .filter(([id]) => !trust.revoked.includes(id))
      .map(([id, k]) => [id, Buffer.from(k.publicKey, 'base64url')]),
  );
  opts.log(`verifying ${name} v${entry.version} (${bytes.length} bytes)`);
  const pkg = await verifyPackage(bytes, { keyFor: (id) => trusted.get(id) });
  const { manifest } = pkg;
  // Checked on the signed manifest, not on what the server claimed.
  if (manifest.name !== name)
    throw new Refusal(
      'wrong_skill',
      `the server sent a package of "${manifest.name}" when asked for "${name}"`,
    );
  if (manifest.version !== entry.version)
    throw new Refusal(
      'wrong_version',
      `the server sent v${manifest.version} when asked for v${entry.version}`,
    );
  if (manifest.version < floor)
    throw new Refusal(
      'rollback',
      `the package is v${manifest.version}, below v${floor} already accepted here (rollback refused)`,
    );
  if (record && manifest.version === record.version && record.sha256 !== digest)
    throw new Refusal(
      'equivocation',
      `the server offers different bytes for v${manifest.version}, which this runtime already accepted`,
    );
  // Record the acceptance before the swap (TUF order: trusted metadata first), so a crash in between can
  // only leave the new version to be installed again, never an opening to roll back.
  trust.skills[name] = { version: manifest.version, sha256: digest, acceptedAt: new Date().toISOString() };
  await saveTrust(opts.dir, trust);
  let lastReport = 0;
  await installVersion(skillDir, manifest.version, pkg.files, (n) => {
    if (Date.now() - lastReport > 250 && pkg.files.length > 100) {
      lastReport = Date.now();
      opts.log(`installing ${name} v${manifest.version}: ${n}/${pkg.files.length} files`);
    }
  });
  return { name, status: 'installed', from: disk, to: manifest.version, sha256: digest };
}

/**
 * Syncs the org's skills into `dir`: each package verified (trusted signature, every hash and size, no extra
 * file, the auth-file scan), rollback and same-version substitution refused, then installed atomically.
 * A refusal stops that skill only; the installed version stays in place.
 * @throws Error when the server cannot be reached, the directory is locked, or it belongs to another org.
 */
export async function syncSkills(opts: SyncOptions): Promise<{ orgId: string; results: SkillResult[] }> {
  await mkdir(opts.dir, { recursive: true });
  const unlock = await lock(opts.dir);
  try {
    const me = await apiJson<{ orgId: string }>(opts.server, '/api/runtime/whoami', opts.token);
    const trust = await loadTrust(opts.dir);
    if (trust.orgId && trust.orgId !== me.orgId)
      throw new Error(`${opts.dir} holds skills of another org (${trust.orgId}); use a separate directory`);
    trust.orgId = me.orgId;
    const { keys } = await apiJson<{ keys: Array<{ keyId: string; publicKey: string; revoked: boolean }> }>(
      opts.server,
      '/api/runtime/signing-keys',
      opts.token,
    );
    updateKeys(trust, keys, opts);
    await saveTrust(opts.dir, trust);
    const { skills } = await apiJson<{ skills: CatalogEntry[] }>(
      opts.server,
      '/api/runtime/skills',
      opts.token,
    );
    // A name becomes a directory: a server-sent name that is not a valid skill name is refused before any path use.
    const named = skills.filter((s) => {
      if (SKILL_NAME.test(s.name)) return true;
      opts.log(`ignored a catalog entry whose name is not a valid skill name`);
      return false;
    });
    const wanted = opts.only?.length ? named.filter((s) => opts.only?.includes(s.name)) : named;
    const results: SkillResult[] = [];
    for (const name of opts.only ?? [])
      if (!skills.some((s) => s.name === name))
        results.push({ name, status: 'refused', code: 'not_found', reason: 'the org offers no such skill' });
    for (const entry of wanted) {
      try {
        results.push(await syncOne(opts, trust, entry));
      } catch (err) {
        if (err instanceof SkillPackError || err instanceof Refusal)
          results.push({ name: entry.name, status: 'refused', code: err.code, reason: err.message });
        else throw err;
      }
    }
    trust.lastSyncAt = new Date().toISOString();
    await saveTrust(opts.dir, trust);
    return { orgId: me.orgId, results };
  } finally {
    unlock();
  }
}
