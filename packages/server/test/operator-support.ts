import { type Account, api, login, PASSWORD, signup, totpCode, uniqueEmail } from '@rampart/testing';
import type { Database } from '../src/db/database.js';

/**
 * A platform operator signed in with TOTP, as `rampart admin create-operator` then the first sign-in make one:
 * an account, the operator flag, TOTP enrolled and confirmed, then a session whose sign-in used the code.
 */
export async function operatorSession(
  baseUrl: string,
  db: Database,
): Promise<{ account: Account; token: string; totpSecret: string }> {
  const account = await signup(baseUrl, { email: uniqueEmail('operator'), orgName: 'Support Desk' });
  await db.owner((q) => q.query('UPDATE users SET is_operator = true WHERE id = $1', [account.userId]));
  const s = api(baseUrl, account.token);
  const enroll = await s.post<{ secret: string }>('/api/auth/totp/enroll', { password: account.password });
  if (enroll.status !== 200) throw new Error(`totp enroll: ${enroll.status} ${enroll.text}`);
  const confirm = await s.post('/api/auth/totp/confirm', { code: totpCode(enroll.body.secret) });
  if (confirm.status !== 200) throw new Error(`totp confirm: ${confirm.status} ${confirm.text}`);
  // The confirm consumed this step; the next one is inside the ±1 window and not yet used.
  const token = await login(baseUrl, account.email, PASSWORD, { totp: totpCode(enroll.body.secret, 1) });
  return { account, token, totpSecret: enroll.body.secret };
}
