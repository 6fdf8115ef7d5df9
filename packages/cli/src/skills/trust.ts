import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';

/**
 * What a runtime trusts, kept on its own disk (as TUF clients keep their last trusted metadata): the pinned
 * signing keys, the keys it has seen revoked (never trusted again), and per skill the highest version ever
 * accepted. The server is asked for news, never believed about the past: a server that offers an older version
 * (rollback) or different bytes under the same version is refused whatever it says.
 */
export interface TrustState {
  v: 1;
  /** The org this directory syncs; a token of another org is refused. */
  orgId: string | null;
  keys: Record<
    string,
    { publicKey: string; pinnedAt: string; source: 'first-use' | 'trust-key' | 'accepted' }
  >;
  revoked: string[];
  skills: Record<string, { version: number; sha256: string; acceptedAt: string }>;
  lastSyncAt: string | null;
}

export const STATE_DIR = '.rampart-runtime';
const STATE_FILE = 'trust.json';

export const emptyTrust = (): TrustState => ({
  v: 1,
  orgId: null,
  keys: {},
  revoked: [],
  skills: {},
  lastSyncAt: null,
});

export async function loadTrust(root: string): Promise<TrustState> {
  let text: string;
  try {
    text = await readFile(join(root, STATE_DIR, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyTrust();
    throw err;
  }
  const state = JSON.parse(text) as TrustState;
  if (state.v !== 1 || typeof state.keys !== 'object' || typeof state.skills !== 'object')
    throw new Error(`${join(root, STATE_DIR, STATE_FILE)} is not a runtime trust file`);
  return state;
}

/** Written atomically (temp file, fsync, rename, fsync dir): a crash keeps the previous state whole. */
export async function saveTrust(root: string, state: TrustState): Promise<void> {
  await mkdir(join(root, STATE_DIR), { recursive: true, mode: 0o700 });
  await writeFileAtomic(
    join(root, STATE_DIR, STATE_FILE),
    Buffer.from(`${JSON.stringify(state, null, 2)}\n`),
    0o600,
  );
}
