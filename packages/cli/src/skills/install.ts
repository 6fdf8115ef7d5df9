import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PackageFile } from '@rampart/core/skillpack';
import { fsyncDir } from './fsutil.js';

/**
 * On-disk layout of one skill:
 *
 *   <root>/<name>/current -> v7-1a2b3c4d   the installed version (a relative symlink, swapped atomically)
 *   <root>/<name>/v7-1a2b3c4d/...         its files, complete and fsynced before `current` points at them
 *
 * A directory cannot be atomically renamed over a non-empty one, so the swap is of the `current` link: a new
 * link is created beside it and renamed over it (rename(2) replaces atomically). Readers that resolve `current`
 * see the old tree or the new one, never a mix; a crash at any point leaves `current` on a complete version.
 */
export const CURRENT = 'current';
const STAGING = '.staging-';
const LINK_TMP = '.current-';
// A random suffix: a re-install of the same version (after a lost trust file) never collides with the live tree.
const newVersionDir = (v: number) => `v${v}-${randomBytes(4).toString('hex')}`;
const VERSION_DIR = /^v(\d+)-[0-9a-f]{8}$/;

/** The version `current` points at, or null when nothing is installed. */
export async function installedVersion(skillDir: string): Promise<number | null> {
  try {
    const m = VERSION_DIR.exec(await readlink(join(skillDir, CURRENT)));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Removes what a crashed run left: staging trees, temp links and versions `current` does not point at. */
export async function cleanSkillDir(skillDir: string): Promise<void> {
  let keep: string | null = null;
  try {
    keep = await readlink(join(skillDir, CURRENT));
  } catch {
    // nothing installed
  }
  let names: string[];
  try {
    names = await readdir(skillDir);
  } catch {
    return;
  }
  for (const n of names) {
    const stale = n.startsWith(STAGING) || n.startsWith(LINK_TMP) || (VERSION_DIR.test(n) && n !== keep);
    if (stale) await rm(join(skillDir, n), { recursive: true, force: true });
  }
}

/**
 * Installs verified files as `version` and points `current` at it.
 * @param onFile progress callback (files written so far)
 */
export async function installVersion(
  skillDir: string,
  version: number,
  files: readonly PackageFile[],
  onFile: (written: number) => void = () => {},
): Promise<void> {
  await mkdir(skillDir, { recursive: true });
  await cleanSkillDir(skillDir);
  // Stage on the same filesystem as the target, so the final renames are atomic.
  const staging = await mkdtemp(join(skillDir, STAGING));
  const dirs = new Set<string>([staging]);
  let written = 0;
  for (const f of files) {
    const target = join(staging, ...f.path.split('/'));
    const parent = dirname(target);
    if (!dirs.has(parent)) {
      await mkdir(parent, { recursive: true });
      for (let d = parent; d.length > staging.length; d = dirname(d)) dirs.add(d);
    }
    const h = await open(target, 'wx', 0o644);
    try {
      await h.writeFile(f.bytes);
      await h.sync();
    } finally {
      await h.close();
    }
    onFile(++written);
  }
  // Directory entries are only durable once their directory is fsynced (deepest first).
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(d);
  const name = newVersionDir(version);
  await rename(staging, join(skillDir, name));
  await fsyncDir(skillDir);
  // The swap: a fresh link renamed over `current`.
  const tmpLink = join(skillDir, `${LINK_TMP}${randomBytes(6).toString('hex')}`);
  await symlink(name, tmpLink);
  await rename(tmpLink, join(skillDir, CURRENT));
  await fsyncDir(skillDir);
  await cleanSkillDir(skillDir);
}
