/** Sign-up with a password: the user, their first org and its owner membership, then a session. */
import { hashPassword } from '@rampart/core/passwords';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { insertOrgWithOwner } from '../../tenancy/orgs.js';
import type { IdentityServices } from '../services.js';
import { writeAccountEvent } from './events.js';
import { enforcePasswordPolicy, normalizeEmail } from './policy.js';
import { issueSession } from './session-issue.js';
import { queueVerificationMail } from './verification.js';

export interface SignupInput {
  email: string;
  password: string;
  orgName: string;
}

/** Creates the user, their first org and the owner membership in one transaction, then signs them in. */
export async function signup(s: IdentityServices, actor: AuditActor, input: SignupInput) {
  const email = normalizeEmail(input.email);
  enforcePasswordPolicy(input.password, email);
  const passwordHash = await hashPassword(input.password, { cost: s.bcryptCost });
  const userId = newId();
  const orgId = newId();
  await s.db.tx({ orgId, userId }, async (q) => {
    const inserted = await q.query(
      'INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING',
      [userId, email, passwordHash],
    );
    if (inserted.rowCount === 0)
      throw new AppError(
        'conflict',
        'An account with this email already exists; sign in or reset the password',
      );
    await insertOrgWithOwner(q, orgId, userId, input.orgName);
    const a = { ...actor, userId };
    await appendAudit(q, a, { orgId, action: 'user.signed_up', target: `user:${userId}` });
    await appendAudit(q, a, { orgId, action: 'org.created', target: `org:${orgId}` });
  });
  // The account is unverified until the mailed link (or a reset, or an invitation) proves the address.
  await s.db.platform(async (q) => {
    await writeAccountEvent(q, userId, { ...actor, userId }, 'user.signed_up', `user:${userId}`);
    await queueVerificationMail(s, q, userId, email);
  });
  const { token, familyId } = await issueSession(s, { userId, generation: 0, totp: false });
  return { userId, orgId, token, familyId };
}
