import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  type Finding,
  type PackageFile,
  packagePathProblem,
  pathCollisions,
  scanFile,
} from '@rampart/core/skillpack';

/** Version-control metadata is never part of a skill (and `.git/config` can hold credentials in remote URLs). */
const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn']);
/** One file larger than this is refused: skills are workflow files, not datasets. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** A refusal of one path, before or after reading it. */
export interface Refusal {
  path: string;
  kind: Finding['kind'] | 'symlink' | 'special_file' | 'bad_path' | 'too_large';
  reason: string;
}

export interface Collected {
  files: PackageFile[];
  refusals: Refusal[];
  skipped: string[];
  bytes: number;
}

const toPosix = (p: string) => p.split(sep).join('/');

/**
 * Reads every regular file under `root` and scans it for auth material. Never follows a symlink: a link out of
 * the folder is an escape, and one inside is refused too (a package holds regular files only; copy the file).
 * Files are opened with O_NOFOLLOW and re-checked after opening, so a path swapped for a link or a FIFO between
 * the directory listing and the read is refused instead of followed.
 *
 * @param onFile progress callback (files read so far, bytes so far)
 */
export async function collectFiles(
  rootArg: string,
  onFile: (files: number, bytes: number) => void = () => {},
): Promise<Collected> {
  const root = await realpath(resolve(rootArg));
  const rootStat = await lstat(root);
  if (!rootStat.isDirectory()) throw new Error(`${rootArg} is not a directory`);
  const out: Collected = { files: [], refusals: [], skipped: [], bytes: 0 };

  async function walk(dir: string): Promise<void> {
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      const rel = toPosix(relative(root, abs));
      if (entry.isDirectory()) {
        if (SKIPPED_DIRS.has(entry.name)) out.skipped.push(`${rel}/`);
        else await walk(abs);
        continue;
      }
      if (entry.isSymbolicLink()) {
        const target = await readlink(abs);
        const resolved = isAbsolute(target) ? target : resolve(dir, target);
        const inside = !relative(root, resolved).startsWith('..') && !isAbsolute(relative(root, resolved));
        out.refusals.push({
          path: rel,
          kind: 'symlink',
          reason: inside
            ? 'symbolic link: a package holds regular files only (copy the file instead)'
            : 'symbolic link pointing outside the package folder',
        });
        continue;
      }
      if (!entry.isFile()) {
        out.refusals.push({
          path: rel,
          kind: 'special_file',
          reason: 'not a regular file (FIFO, socket or device)',
        });
        continue;
      }
      const problem = packagePathProblem(rel);
      if (problem) {
        out.refusals.push({ path: rel, kind: 'bad_path', reason: problem });
        continue;
      }
      const bytes = await readRegularFile(abs, rel, out);
      if (!bytes) continue;
      out.bytes += bytes.length;
      for (const f of scanFile(rel, bytes)) out.refusals.push(f);
      out.files.push({ path: rel, bytes });
      onFile(out.files.length, out.bytes);
    }
  }

  await walk(root);
  for (const [a, b] of pathCollisions(out.files.map((f) => f.path)))
    out.refusals.push({
      path: b,
      kind: 'bad_path',
      reason: `collides with "${a}" (letter case, or a file used as a directory)`,
    });
  return out;
}

async function readRegularFile(abs: string, rel: string, out: Collected): Promise<Buffer | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO swapped in after the listing must not hang the open.
    handle = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      out.refusals.push({ path: rel, kind: 'symlink', reason: 'became a symbolic link while packing' });
      return null;
    }
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      out.refusals.push({
        path: rel,
        kind: 'special_file',
        reason: 'not a regular file (FIFO, socket or device)',
      });
      return null;
    }
    if (st.size > MAX_FILE_BYTES) {
      out.refusals.push({ path: rel, kind: 'too_large', reason: `larger than ${MAX_FILE_BYTES} bytes` });
      return null;
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
