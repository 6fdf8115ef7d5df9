/**
 * Org invitations (issue 20 part 3). Adding a member creates a pending invitation; nobody is attached to an org
 * until the invited person accepts it: with no account, by choosing a password from the mailed link (the mail
 * proves the address); with an account, signed in as that account, verified. Tokens are random, stored as SHA-256
 * only, single use, 7 days; re-inviting an address replaces its open invitation (the old link stops working).
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '@rampart/core/passwords';
import type { Queryable } from '../db/types.js';
import { writeAccountEvent } from '../identity/accounts/events.js';
import { enforcePasswordPolicy, normalizeEmail } from '../identity/accounts/policy.js';
import { issueSession } from '../identity/accounts/session-issue.js';
import { emailUnverified } from '../identity/accounts/verification.js';
import { orgSuspended } from '../identity/authenticate.js';
import type { SessionPrincipal } from '../identity/principal.js';
import type { IdentityServices } from '../identity/services.js';
import { enqueueMail } from '../mail/outbox.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { hashSecret } from '../platform/hash.js';
import { newId } from '../platform/ids.js';
import { isRole, type Role } from '../platform/permissions.js';

export const INVITATION_TTL_DAYS = 7;

export type InvitationStatus = 'pending' | 'expired' | 'used' | 'revoked';

export interface InvitationView {
  invitationId: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  expiresAt: string;
  createdAt: string;
}

interface Row {
  id: string;
  org_id: string;
  email: string;
  role: string;
  invited_by: string | null;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

const COLUMNS = 'id, org_id, email, role, invited_by, expires_at, accepted_at, revoked_at, created_at';

function statusOf(r: Row, now = Date.now()): InvitationStatus {
  if (r.revoked_at) return 'revoked';
  if (r.accepted_at) return 'used';
  if (r.expires_at.getTime() <= now) return 'expired';
  return 'pending';
}

const view = (r: Row): InvitationView => ({
  invitationId: r.id,
  email: r.email,
  role: isRole(r.role) ? r.role : 'viewer',
  status: statusOf(r),
  expiresAt: r.expires_at.toISOString(),
  createdAt: r.created_at.toISOString(),
});

/**
 * Invites `rawEmail` into `orgId` with `role`: revokes any open invitation of that address first, stores the new
 * one, and queues its mail, in one org transaction. Never creates or touches a user row.
 * @throws AppError conflict when the address already belongs to a member | forbidden (an admin replacing an owner
 *   invitation)
 */
export async function createInvitation(
  s: IdentityServices,
  actor: AuditActor,
  inviter: { userId: string; email: string },
  orgId: string,
  rawEmail: string,
  role: Role,
  mayManageOwners: boolean,
): Promise<InvitationView> {
  const email = normalizeEmail(rawEmail);
  const token = randomBytes(32).toString('base64url');
  return s.db.org(orgId, async (q) => {
    const member = await q.query(
      'SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2',
      [orgId, email],
    );
    if (member.rows[0]) throw new AppError('conflict', 'That person is already a member');
    // Re-inviting revokes the open invitation: the same rule as DELETE (only owners revoke an owner invitation).
    const open = await q.query<{ role: string }>(
      `SELECT role FROM org_invitations
        WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL FOR UPDATE`,
      [orgId, email],
    );
    if (!mayManageOwners && open.rows.some((r) => r.role === 'owner'))
      throw new AppError('forbidden', 'Only owners can replace an owner invitation');
    const replaced = await q.query<{ id: string }>(
      `UPDATE org_invitations SET revoked_at = now()
        WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id`,
      [orgId, email],
    );
    const { rows } = await q.query<Row>(
      `INSERT INTO org_invitations (id, org_id, email, role, token_hash, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + interval '${INVITATION_TTL_DAYS} days') RETURNING ${COLUMNS}`,
      [newId(), orgId, email, role, hashSecret('invitation', token), inviter.userId],
    );
    const row = rows[0] as Row;
    const org = await q.query<{ name: string }>('SELECT name FROM orgs WHERE id = $1', [orgId]);
    await appendAudit(q, actor, {
      orgId,
      action: 'member.invited',
      target: `invitation:${row.id}`,
      meta: { role, ...(replaced.rows[0] ? { replaced: replaced.rows.map((r) => r.id) } : {}) },
    });
    await enqueueMail(q, s.ring, {
      to: email,
      orgId,
      template: {
        kind: 'invitation',
        link: `${s.publicUrl}/accept-invite#token=${token}`,
        days: INVITATION_TTL_DAYS,
        orgName: org.rows[0]?.name ?? 'an org',
        inviter: inviter.email,
        role,
      },
    });
    return view(row);
  });
}

/**
 * Mails an open invitation (pending or expired; not accepted, not revoked) again, in the caller's org
 * transaction: a fresh token (the old link stops working, only the new hash is stored), a fresh expiry, the mail
 * queued through the outbox, audited in the org's chain with `meta` (e.g. an operator's reason). The mail names
 * the original inviter. @throws AppError not_found
 */
export async function resendInvitationIn(
  s: IdentityServices,
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
  meta: Record<string, unknown> = {},
): Promise<InvitationView> {
  const token = randomBytes(32).toString('base64url');
  const { rows } = await q.query<Row & { org_name: string; inviter: string | null }>(
    `UPDATE org_invitations i SET token_hash = $3, expires_at = now() + interval '${INVITATION_TTL_DAYS} days'
       FROM orgs o
      WHERE i.id = $1 AND i.org_id = $2 AND o.id = i.org_id AND i.accepted_at IS NULL AND i.revoked_at IS NULL
      RETURNING ${COLUMNS.split(', ')
        .map((c) => `i.${c}`)
        .join(', ')}, o.name AS org_name,
                (SELECT u.email FROM users u WHERE u.id = i.invited_by) AS inviter`,
    [id, orgId, hashSecret('invitation', token)],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'Invitation not found');
  await appendAudit(q, actor, { orgId, action: 'invitation.resent', target: `invitation:${id}`, meta });
  await enqueueMail(q, s.ring, {
    to: row.email,
    orgId,
    template: {
      kind: 'invitation',
      link: `${s.publicUrl}/accept-invite#token=${token}`,
      days: INVITATION_TTL_DAYS,
      orgName: row.org_name,
      inviter: row.inviter ?? 'An administrator',
      role: view(row).role,
    },
  });
  return view(row);
}

/** Open invitations (not accepted, not revoked; expired ones included, marked), newest first. */
export async function listInvitations(s: IdentityServices, orgId: string): Promise<InvitationView[]> {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<Row>(
      `SELECT ${COLUMNS} FROM org_invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
        ORDER BY created_at DESC, id`,
      [orgId],
    ),
  );
  return rows.map(view);
}

/**
 * Revokes an open invitation (its link stops working). Only owners revoke an owner invitation.
 * @throws AppError not_found (unknown, another org's, accepted or already revoked) | forbidden
 */
export async function revokeInvitation(
  s: IdentityServices,
  actor: AuditActor,
  mayManageOwners: boolean,
  orgId: string,
  id: string,
): Promise<void> {
  await s.db.org(orgId, async (q) => {
    const { rows } = await q.query<{ role: string }>(
      `SELECT role FROM org_invitations
        WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL FOR UPDATE`,
      [id, orgId],
    );
    const r = rows[0];
    if (!r) throw new AppError('not_found', 'Invitation not found');
    if (r.role === 'owner' && !mayManageOwners)
      throw new AppError('forbidden', 'Only owners can revoke an owner invitation');
    await q.query('UPDATE org_invitations SET revoked_at = now() WHERE id = $1', [id]);
    await appendAudit(q, actor, { orgId, action: 'invitation.revoked', target: `invitation:${id}` });
  });
}

interface Found {
  row: Row;
  orgName: string;
  /** The org is suspended by an operator: it takes no new member until resumed. */
  orgSuspended: boolean;
  inviter: string | null;
  /** The address has an account that can sign in (a password or a linked provider). */
  account: { id: string; verified: boolean } | null;
}

/** The invitation a token names, with what the accept page shows. @throws AppError not_found */
async function findByToken(s: IdentityServices, token: string, q?: Queryable): Promise<Found> {
  const hash = hashSecret('invitation', token);
  // Inside the caller's transaction when given one: a second transaction would wait on it (one PGlite connection).
  const find = (tq: Queryable) =>
    tq.query<{ id: string; org_id: string }>('SELECT * FROM rampart_find_invitation($1)', [hash]);
  const { rows: hit } = q ? await find(q) : await s.db.tx({ orgId: null }, find);
  const h = hit[0];
  if (!h) throw new AppError('not_found', 'This invitation link is not valid');
  const read = async (oq: Queryable): Promise<Found> => {
    const { rows } = await oq.query<
      Row & { org_name: string; inviter: string | null; org_suspended: boolean }
    >(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `i.${c}`)
        .join(', ')}, o.name AS org_name, u.email AS inviter, o.suspended_at IS NOT NULL AS org_suspended
         FROM org_invitations i JOIN orgs o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.invited_by
        WHERE i.id = $1 AND i.org_id = $2 AND i.token_hash = $3 FOR UPDATE OF i`,
      [h.id, h.org_id, hash],
    );
    const row = rows[0];
    if (!row) throw new AppError('not_found', 'This invitation link is not valid');
    const acc = await oq.query<{ id: string; verified: boolean }>(
      `SELECT u.id, u.email_verified_at IS NOT NULL AS verified FROM users u
        WHERE u.email = $1
          AND (u.password_hash IS NOT NULL OR EXISTS (SELECT 1 FROM oidc_identities i WHERE i.user_id = u.id))`,
      [row.email],
    );
    return {
      row,
      orgName: row.org_name,
      inviter: row.inviter,
      orgSuspended: row.org_suspended,
      account: acc.rows[0] ?? null,
    };
  };
  return q ? read(q) : s.db.org(h.org_id, read);
}

/** What the accept page shows: nothing the invitation's own address does not already know. */
export async function lookupInvitation(s: IdentityServices, token: string) {
  const f = await findByToken(s, token);
  return {
    orgName: f.orgName,
    inviter: f.inviter,
    role: view(f.row).role,
    email: f.row.email,
    accountExists: f.account !== null,
    status: statusOf(f.row),
    expiresAt: f.row.expires_at.toISOString(),
  };
}

const unusable: Record<Exclude<InvitationStatus, 'pending'>, string> = {
  expired: 'This invitation has expired; ask the person who invited you for a new one',
  used: 'This invitation has already been used; ask the person who invited you for a new one if needed',
  revoked: 'This invitation was withdrawn; ask the person who invited you for a new one',
};

/**
 * Accepts an invitation once.
 * - No account can sign in with the address: `password` (policy enforced) creates it, verified (the mail proved
 *   the address), or completes an old invited account that never chose one; a session is returned.
 * - An account exists: the caller must be signed in as it, and it must be verified.
 * @throws AppError not_found | link_expired | unauthorized | forbidden | email_unverified | validation_failed | conflict
 */
export async function acceptInvitation(
  s: IdentityServices,
  actor: AuditActor,
  token: string,
  password: string | undefined,
  session: SessionPrincipal | null,
): Promise<{
  orgId: string;
  role: Role;
  userId: string;
  token?: string;
  expiresAt?: string;
  familyId?: string;
}> {
  // Pre-checks outside the transaction so the password hash (slow) is computed once, before any row lock.
  const pre = await findByToken(s, token);
  const preStatus = statusOf(pre.row);
  if (preStatus !== 'pending')
    throw new AppError('link_expired', unusable[preStatus], { details: { status: preStatus } });
  let passwordHash: string | null = null;
  if (pre.account) {
    if (!session)
      throw new AppError('unauthorized', 'An account exists for this address: sign in with it to accept');
    if (session.userId !== pre.account.id)
      throw new AppError(
        'forbidden',
        'This invitation is for another e-mail address; sign out and sign in with the invited address',
      );
    if (!pre.account.verified)
      throw new AppError('email_unverified', 'Confirm your e-mail address before accepting an invitation');
  } else {
    if (!password)
      throw new AppError('validation_failed', 'Choose a password to create your account', {
        details: { issues: [{ in: 'body', path: '/password', message: 'Choose a password' }] },
      });
    enforcePasswordPolicy(password, pre.row.email);
    passwordHash = await hashPassword(password, { cost: s.bcryptCost });
  }
  const orgId = pre.row.org_id;
  const result = await s.db.org(orgId, async (q) => {
    const f = await findByToken(s, token, q);
    const status = statusOf(f.row);
    if (status !== 'pending') throw new AppError('link_expired', unusable[status], { details: { status } });
    // Joining is a write to the org: a suspended org takes no new member (the invitation stays open).
    if (f.orgSuspended) throw orgSuspended();
    let userId: string;
    let created = false;
    if (passwordHash === null) {
      // Re-checked under the invitation's row lock: the account the session belongs to is the invited one.
      if (!f.account || f.account.id !== session?.userId || !f.account.verified) throw emailUnverified();
      userId = f.account.id;
    } else {
      if (f.account) throw new AppError('conflict', 'An account was just created for this address; sign in');
      // An old invited account without a way to sign in (from before invitations) is completed, not duplicated.
      const { rows } = await q.query<{ id: string; inserted: boolean }>(
        `INSERT INTO users (id, email, password_hash, email_verified_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                email_verified_at = coalesce(users.email_verified_at, now()),
                token_generation = users.token_generation + 1
          WHERE users.password_hash IS NULL
         RETURNING id, (xmax = 0) AS inserted`,
        [newId(), f.row.email, passwordHash],
      );
      const u = rows[0];
      if (!u) throw new AppError('conflict', 'An account was just created for this address; sign in');
      userId = u.id;
      created = u.inserted;
    }
    await q.query('UPDATE org_invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1', [
      f.row.id,
      userId,
    ]);
    const role = view(f.row).role;
    const ins = await q.query(
      'INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [orgId, userId, role],
    );
    if (ins.rowCount === 0) throw new AppError('conflict', 'You are already a member of this org');
    const a = { ...actor, userId };
    await appendAudit(q, a, {
      orgId,
      action: 'member.added',
      target: `user:${userId}`,
      meta: { role, via: 'invitation', invitationId: f.row.id },
    });
    return { userId, role, created, generation: 0 };
  });
  const a = { ...actor, userId: result.userId };
  if (passwordHash !== null) {
    const gen = await s.db.platform(async (q) => {
      await writeAccountEvent(
        q,
        result.userId,
        a,
        result.created ? 'user.signed_up' : 'auth.password_set',
        `user:${result.userId}`,
        { via: 'invitation' },
      );
      const { rows } = await q.query<{ token_generation: number }>(
        'SELECT token_generation FROM users WHERE id = $1',
        [result.userId],
      );
      return rows[0]?.token_generation ?? 0;
    });
    const {
      token: session,
      expiresAt,
      familyId,
    } = await issueSession(s, {
      userId: result.userId,
      generation: gen,
      totp: false,
    });
    return { orgId, role: result.role, userId: result.userId, token: session, expiresAt, familyId };
  }
  return { orgId, role: result.role, userId: result.userId };
}
