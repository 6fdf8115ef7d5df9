/** The second factor: TOTP codes (each step once) and single-use recovery codes. */
import { verifyPassword } from '@rampart/core/passwords';
import { openString } from '@rampart/core/seal';
import { normalizeRecoveryCode, verifyTotp } from '@rampart/core/totp';
import type { IdentityServices } from '../services.js';
import type { UserRow } from './users.js';

/** Verifies a TOTP code and records its step atomically, so the same code (or an older one) is accepted once. */
export async function consumeTotp(s: IdentityServices, user: UserRow, code: string): Promise<boolean> {
  if (!user.totp_secret_sealed) return false;
  const secret = openString(s.ring, user.totp_secret_sealed, {
    orgId: null,
    table: 'users',
    column: 'totp_secret_sealed',
    rowId: user.id,
  });
  const lastUsedStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
  const r = verifyTotp(secret, code, { lastUsedStep });
  if (!r.ok) return false;
  const upd = await s.db.platform((q) =>
    q.query(
      'UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)',
      [user.id, r.step],
    ),
  );
  return upd.rowCount === 1;
}

/** Compares against the unused codes; the winning code is marked used with a guarded UPDATE (one use, ever). */
export async function consumeRecoveryCode(
  s: IdentityServices,
  userId: string,
  input: string,
): Promise<boolean> {
  const code = normalizeRecoveryCode(input);
  if (!code) return false;
  const { rows } = await s.db.platform((q) =>
    q.query<{ id: string; code_hash: string }>(
      'SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
      [userId],
    ),
  );
  for (const r of rows) {
    if (await verifyPassword(code, r.code_hash)) {
      const upd = await s.db.platform((q) =>
        q.query('UPDATE recovery_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL', [r.id]),
      );
      return upd.rowCount === 1;
    }
  }
  return false;
}

/** The second factor of a re-authentication: a TOTP code or an unused recovery code. */
export interface SecondFactor {
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}
