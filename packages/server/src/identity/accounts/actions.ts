import type { SecurityEvent } from '../../mail/templates.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { verifyCurrentPassword } from './reauth.js';
import type { SecondFactor } from './second-factor.js';

/** What every account action is given to re-authenticate. */
export interface Reauth extends SecondFactor {
  password: string;
}

/** Re-authentication of an account action; see verifyCurrentPassword. A failure is an account event. */
export async function reauthenticate(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  r: Reauth,
): Promise<{ email: string; totpEnabled: boolean }> {
  try {
    return await verifyCurrentPassword(s, ip, userId, r.password, {
      totp: r.totp,
      recoveryCode: r.recoveryCode,
    });
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_credentials')
      await auditAccountEvent(s, userId, actor, 'auth.reauth_failed');
    throw err;
  }
}

/** The security notice an account action mails (through the outbox, in its own transaction). */
export const notice = (event: SecurityEvent, detail?: string) => ({
  kind: 'security_notice' as const,
  event,
  at: new Date().toISOString(),
  ...(detail ? { detail } : {}),
});
