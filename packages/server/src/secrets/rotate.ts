import { type KeyRing, needsRewrap, rewrap, SealError } from '@rampart/core/seal';
import type { Database } from '../db/database.js';
import { type SealedProgress, walkSealedColumns } from './sealed-walk.js';

export type RotateProgress = SealedProgress;

export interface RotateResult {
  rewrapped: number;
  columns: Array<{ column: string; rewrapped: number }>;
}

/**
 * Re-seals every registered column under the key ring's primary key, in batches of 200 rows, each batch its
 * own transaction, org by org under RLS (see {@link walkSealedColumns}). Resumable by construction: a row
 * already under the primary key is never selected again, so an interrupted run simply continues; a row
 * changed concurrently is skipped by the compare-and-set update and picked up by the next batch. A legacy
 * plaintext value stops the run, naming its row: `rampart admin backfill-secrets` seals those first.
 */
export async function rotateKeys(
  db: Database,
  ring: KeyRing,
  onProgress: (p: RotateProgress) => void = () => {},
): Promise<RotateResult> {
  const columns = await walkSealedColumns(
    db,
    {
      verb: 'rewrap',
      where: (col) => `left(${col}, length($1)) <> $1`,
      params: [`v1.${ring.primaryId}.`],
      next(value, ctx) {
        let stale: boolean;
        try {
          stale = needsRewrap(ring, value);
        } catch (err) {
          if (!(err instanceof SealError && err.code === 'malformed_envelope')) throw err;
          throw new Error(`${err.message} (legacy plaintext? run \`rampart admin backfill-secrets\` first)`);
        }
        return stale ? { value: rewrap(ring, value, ctx) } : null;
      },
    },
    onProgress,
  );
  return {
    rewrapped: columns.reduce((n, c) => n + c.changed, 0),
    columns: columns.map((c) => ({ column: c.column, rewrapped: c.changed })),
  };
}
