import { randomBytes } from 'node:crypto';
import { hashPassword } from '@rampart/core/passwords';
import type { Database } from '../db/database.js';
import { appendAudit } from '../platform/audit/append.js';
import { newId } from '../platform/ids.js';

export interface CreatedOperator {
  userId: string;
  created: boolean;
  /** Only for a newly created account: shown once, never stored in plaintext. */
  initialPassword?: string;
}

/**
 * Makes `email` a platform operator (creating the account when needed, with a random initial password returned
 * once). Operators must enrol TOTP and sign in with it before any /api/admin route answers.
 */
export async function createOperator(
  db: Database,
  rawEmail: string,
  bcryptCost = 12,
): Promise<CreatedOperator> {
  const email = rawEmail.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254)
    throw new Error('--email must be an email address');
  const initialPassword = randomBytes(18).toString('base64url');
  const hash = await hashPassword(initialPassword, { cost: bcryptCost });
  return db.platform(async (q) => {
    const existing = await q.query<{ id: string }>(
      'UPDATE users SET is_operator = true WHERE email = $1 RETURNING id',
      [email],
    );
    let userId = existing.rows[0]?.id;
    const created = !userId;
    if (!userId) {
      userId = newId();
      await q.query('INSERT INTO users (id, email, password_hash, is_operator) VALUES ($1, $2, $3, true)', [
        userId,
        email,
        hash,
      ]);
    }
    await appendAudit(
      q,
      { userId: null, requestId: 'cli' },
      { orgId: null, action: 'operator.granted', target: `user:${userId}`, meta: { created } },
    );
    return created ? { userId, created, initialPassword } : { userId, created };
  });
}
