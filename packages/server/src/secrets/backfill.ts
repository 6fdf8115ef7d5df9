import { ENVELOPE_SHAPE, isEnvelope, type KeyRing, mask, seal } from '@rampart/core/seal';
import type { Database } from '../db/database.js';
import { type SealedProgress, walkSealedColumns } from './sealed-walk.js';

export type BackfillProgress = SealedProgress;

export interface BackfillResult {
  sealed: number;
  columns: Array<{ column: string; sealed: number }>;
}

/**
 * Seals legacy plaintext in place: every registered sealed column (org secrets, LLM provider keys, job
 * headers and auth, alert channel secrets, TOTP secrets) whose value is set but is not an envelope gets
 * sealed under the ring's primary key, with the same AAD (org, table, column, row id) the application uses
 * to open it. Where the table keeps a display mask and the row's is NULL or empty, it is filled with
 * `mask(plaintext)`; a mask already there is kept. jobs.headers_sealed is the JSON text of the headers and
 * is sealed whole, as the application writes it.
 *
 * Batches of 200 rows, one transaction each, org by org under RLS (see {@link walkSealedColumns}). The SQL
 * selects values that do not have an envelope's shape ({@link ENVELOPE_SHAPE}), so a plaintext that happens
 * to start with `v1.` is still found; each is confirmed with {@link isEnvelope} before sealing. Idempotent
 * and resumable: a sealed row is never selected again, so a second run, or one after an interruption,
 * seals only what is left.
 */
export async function backfillSecrets(
  db: Database,
  ring: KeyRing,
  onProgress: (p: BackfillProgress) => void = () => {},
): Promise<BackfillResult> {
  const columns = await walkSealedColumns(
    db,
    {
      verb: 'seal',
      where: (col) => `${col} !~ $1`,
      params: [ENVELOPE_SHAPE],
      next: (value, ctx) =>
        isEnvelope(value) ? null : { value: seal(ring, value, ctx), masked: mask(value) },
    },
    onProgress,
  );
  return {
    sealed: columns.reduce((n, c) => n + c.changed, 0),
    columns: columns.map((c) => ({ column: c.column, sealed: c.changed })),
  };
}
