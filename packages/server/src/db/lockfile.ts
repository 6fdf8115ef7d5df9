import { readFileSync, rmSync, writeFileSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file holding the owner's pid: created with O_EXCL, mode 0600; a lock left by a dead process
 * (kill -9, power cut) is taken over. Returns the release function.
 * @param busy the error message when a live process (its pid given) holds the lock
 * @throws Error with `busy(pid)` when another live process holds it
 */
export function acquirePidLock(path: string, busy: (pid: number) => string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder))
        throw new Error(busy(holder));
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock ${path}`);
}

/**
 * PGlite is a single-process database: two processes opening one data directory corrupt it. Take an
 * exclusive pid lock (stale locks of dead processes are taken over) and return its release function.
 * @throws Error when another live process holds the directory
 */
export function lockDataDir(dir: string): () => void {
  return acquirePidLock(
    `${dir}/rampart.lock`,
    (pid) =>
      `the embedded database in ${dir} is in use by process ${pid}; stop it first (PGlite allows one process)`,
  );
}
