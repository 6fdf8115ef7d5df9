import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsync a directory, so a rename or a new entry in it survives a power cut, not only a process crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Writes `bytes` to `path` so that a crash leaves the old file or the new one, never a torn mix: a temp file in
 * the same directory (created exclusively with `mode`), fsync, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const h = await open(tmp, 'wx', mode);
  try {
    await h.writeFile(bytes);
    await h.sync();
    await h.close();
    await rename(tmp, path);
  } catch (err) {
    await h.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/** Writes a new file that must not exist yet (exclusive create) with `mode`, and fsyncs it. */
export async function writeNewFile(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const h = await open(path, 'wx', mode);
  try {
    await h.writeFile(bytes);
    await h.sync();
  } finally {
    await h.close();
  }
}
