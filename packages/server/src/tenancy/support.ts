/**
 * Operator support actions (issue 27 part 2): suspend and resume an org, revoke one of its credentials, resend
 * one of its invitations, force a user's password reset. Each carries the operator's typed reason, which is
 * written to the audit meta (the operator's own words, never a secret) on the platform chain and on the org's
 * chain, in the transaction of the change itself. Revocations and suspensions are announced on the node bus
 * (platform/invalidation.ts) once committed, so every node drops what it cached.
 */
import { z } from 'zod';
import { writeAccountEvent } from '../identity/accounts/events.js';
import { forcePasswordResetIn, unusablePasswordHash } from '../identity/accounts/reset.js';
import { revokeApiKeyIn, revokeRuntimeTokenIn } from '../identity/credentials.js';
import { revokeCliCredentialIn } from '../identity/device/cli-credentials.js';
import type { IdentityServices } from '../identity/services.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { resendInvitationIn } from './invitations.js';
import type { CredentialKind } from './operator-views.js';

/**
 * Control characters other than tab and line breaks, and invisible format characters (zero-width spaces, bidi
 * overrides): a reason made of them is not words anyone typed, and a bidi override makes the audit row read
 * differently from what it holds.
 */
const UNREADABLE = /(?![\t\n\r])[\p{Cc}\p{Cf}]/u;

/** The typed reason every support action needs: the operator's own words, 10 to 500 characters. */
export const supportReason = z
  .string()
  .trim()
  .min(10)
  .max(500)
  .refine((s) => !UNREADABLE.test(s), 'must be readable text: no control or invisible format characters');
export const reasonBody = z.strictObject({ reason: supportReason });

const notFound = () => new AppError('not_found', 'Org not found');

/** The org's suspension state, or not_found. */
async function requireOrgRow(s: IdentityServices, orgId: string): Promise<{ suspended: boolean }> {
  const { rows } = await s.db.platform((q) =>
    q.query<{ suspended: boolean }>('SELECT suspended_at IS NOT NULL AS suspended FROM orgs WHERE id = $1', [
      orgId,
    ]),
  );
  const r = rows[0];
  if (!r) throw notFound();
  return r;
}

/**
 * Suspends an org: its API keys, runtime tokens, widgets and agents are refused with org_suspended, its jobs stop
 * being claimed and its members may only read. Every node drops its cached keys and widgets of the org.
 * @throws AppError not_found | conflict (already suspended)
 */
export async function suspendOrg(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  reason: string,
): Promise<{ suspendedAt: string }> {
  const at = await s.db.tx({ orgId, platform: true }, async (q) => {
    const { rows } = await q.query<{ suspended_at: Date }>(
      `UPDATE orgs SET suspended_at = now(), suspended_reason = $2, suspended_by = $3
        WHERE id = $1 AND suspended_at IS NULL RETURNING suspended_at`,
      [orgId, reason, actor.userId ?? null],
    );
    const r = rows[0];
    if (!r) {
      const exists = await q.query('SELECT 1 FROM orgs WHERE id = $1', [orgId]);
      if (exists.rowCount === 0) throw notFound();
      throw new AppError('conflict', 'This org is already suspended');
    }
    const target = `org:${orgId}`;
    await appendAudit(q, actor, { orgId: null, action: 'operator.org_suspended', target, meta: { reason } });
    await appendAudit(q, actor, { orgId, action: 'operator.org_suspended', target, meta: { reason } });
    return r.suspended_at;
  });
  await s.auth.forgetOrg(orgId);
  return { suspendedAt: at.toISOString() };
}

/** Lifts a suspension: everything works again. @throws AppError not_found | conflict (not suspended) */
export async function resumeOrg(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  reason: string,
): Promise<void> {
  await s.db.tx({ orgId, platform: true }, async (q) => {
    const upd = await q.query(
      `UPDATE orgs SET suspended_at = NULL, suspended_reason = NULL, suspended_by = NULL
        WHERE id = $1 AND suspended_at IS NOT NULL`,
      [orgId],
    );
    if (upd.rowCount === 0) {
      const exists = await q.query('SELECT 1 FROM orgs WHERE id = $1', [orgId]);
      if (exists.rowCount === 0) throw notFound();
      throw new AppError('conflict', 'This org is not suspended');
    }
    const target = `org:${orgId}`;
    await appendAudit(q, actor, { orgId: null, action: 'operator.org_resumed', target, meta: { reason } });
    await appendAudit(q, actor, { orgId, action: 'operator.org_resumed', target, meta: { reason } });
  });
  // Cached entries of the org say "suspended": drop them everywhere so the org answers again at once.
  await s.auth.forgetOrg(orgId);
}

/**
 * Revokes one credential of the org: an API key, a runtime token, or a CLI credential of one of its members,
 * through identity's own revocation (its audit row carries the reason), plus the platform-chain row, in one
 * transaction; then every node drops it from its cache.
 * @throws AppError not_found (unknown, another org's, already revoked)
 */
export async function revokeOrgCredential(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  credentialId: string,
  reason: string,
): Promise<{ kind: CredentialKind }> {
  await requireOrgRow(s, orgId);
  const meta = { reason, via: 'operator' };
  const found = await s.db.tx({ orgId, platform: true }, async (q) => {
    const { rows } = await q.query<{ kind: CredentialKind; user_id: string | null }>(
      `SELECT 'api_key' AS kind, NULL::text AS user_id FROM api_keys WHERE id = $1 AND org_id = $2
       UNION ALL SELECT 'runtime_token', NULL FROM runtime_tokens WHERE id = $1 AND org_id = $2
       UNION ALL SELECT 'cli_credential', c.user_id::text FROM cli_credentials c
                  JOIN memberships m ON m.user_id = c.user_id AND m.org_id = $2 WHERE c.id = $1`,
      [credentialId, orgId],
    );
    const hit = rows[0];
    if (!hit) throw new AppError('not_found', 'Credential not found');
    if (hit.kind === 'api_key') await revokeApiKeyIn(q, actor, orgId, credentialId, meta);
    else if (hit.kind === 'runtime_token') await revokeRuntimeTokenIn(q, actor, orgId, credentialId, meta);
    else {
      const userId = hit.user_id ?? '';
      const r = await revokeCliCredentialIn(q, userId, credentialId);
      if (!r) throw new AppError('not_found', 'Credential not found');
      const target = `cli_credential:${credentialId}`;
      // The person's own account events show it (and the platform chain, through writeAccountEvent).
      await writeAccountEvent(q, userId, actor, 'auth.cli_credential_revoked', target, {
        prefix: r.prefix,
        name: r.name,
        ...meta,
      });
      await appendAudit(q, actor, {
        orgId,
        action: 'cli_credential.revoked',
        target,
        meta: { ...meta, userId, prefix: r.prefix },
      });
    }
    await appendAudit(q, actor, {
      orgId: null,
      action: 'operator.credential_revoked',
      target: `${hit.kind}:${credentialId}`,
      meta: { org: orgId, kind: hit.kind, reason },
    });
    return hit.kind;
  });
  if (found === 'api_key') await s.auth.forgetApiKey(credentialId);
  else if (found === 'runtime_token') await s.auth.forgetRuntimeToken(credentialId);
  else await s.auth.forgetCliCredential(credentialId);
  return { kind: found };
}

/**
 * Mails an open invitation of the org again with a fresh link (the old one stops working).
 * @throws AppError not_found (unknown, another org's, accepted or revoked)
 */
export async function resendOrgInvitation(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  invitationId: string,
  reason: string,
): Promise<void> {
  await requireOrgRow(s, orgId);
  await s.db.tx({ orgId, platform: true }, async (q) => {
    await resendInvitationIn(s, q, actor, orgId, invitationId, { reason, via: 'operator' });
    await appendAudit(q, actor, {
      orgId: null,
      action: 'operator.invitation_resent',
      target: `invitation:${invitationId}`,
      meta: { org: orgId, reason },
    });
  });
}

/**
 * Forces a password reset (identity/accounts/reset.ts `forcePasswordResetIn`), recorded in the person's account
 * events and the platform chain in the same transaction, then in the chain of every org they belong to.
 * @throws AppError not_found (unknown user)
 */
export async function forcePasswordReset(
  s: IdentityServices,
  actor: AuditActor,
  userId: string,
  reason: string,
): Promise<void> {
  const hash = await unusablePasswordHash(s);
  const done = await s.db.platform(async (q) => {
    const r = await forcePasswordResetIn(s, q, userId, hash);
    if (!r) return false;
    await writeAccountEvent(q, userId, actor, 'auth.password_reset_forced', `user:${userId}`, {
      reason,
      via: 'operator',
    });
    return true;
  });
  if (!done) throw new AppError('not_found', 'User not found');
  const { rows } = await s.db.tx({ orgId: null, userId }, (q) =>
    q.query<{ org_id: string }>('SELECT org_id::text AS org_id FROM memberships WHERE user_id = $1', [
      userId,
    ]),
  );
  for (const { org_id: orgId } of rows) {
    await s.db.org(orgId, (q) =>
      appendAudit(q, actor, {
        orgId,
        action: 'operator.password_reset_forced',
        target: `user:${userId}`,
        // Not the reason: the orgs the person belongs to may be unrelated to it, and their admins read this.
        meta: { via: 'operator' },
      }),
    );
  }
}
