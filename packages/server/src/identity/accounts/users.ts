/** A user's login-relevant columns, read by id or e-mail, and their address. */
import type { Role } from '../../platform/permissions.js';
import type { IdentityServices } from '../services.js';

export interface UserRow {
  id: string;
  password_hash: string | null;
  totp_secret_sealed: string | null;
  totp_enabled: boolean;
  totp_last_step: string | null;
  token_generation: number;
  is_operator: boolean;
}

export const USER_COLUMNS =
  'id, password_hash, totp_secret_sealed, totp_enabled, totp_last_step::text, token_generation, is_operator';

/** The login-relevant columns of one user, by id or (normalised) email. */
export async function loadUser(
  s: IdentityServices,
  by: 'id' | 'email',
  value: string,
): Promise<UserRow | undefined> {
  const { rows } = await s.db.platform((q) =>
    q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE ${by === 'id' ? 'id' : 'email'} = $1`, [value]),
  );
  return rows[0];
}

/** The account's e-mail address; `undefined` when the user no longer exists. */
export async function accountEmail(s: IdentityServices, userId: string): Promise<string | undefined> {
  const { rows } = await s.db.platform((q) =>
    q.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [userId]),
  );
  return rows[0]?.email;
}

/** The user's orgs and their role in each, by name. */
export async function orgsOf(
  s: IdentityServices,
  userId: string,
): Promise<{ orgId: string; name: string; role: Role }[]> {
  const { rows } = await s.db.tx({ orgId: null, userId }, (q) =>
    q.query<{ org_id: string; name: string; role: Role }>(
      `SELECT m.org_id, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
        WHERE m.user_id = $1 ORDER BY o.name, m.org_id`,
      [userId],
    ),
  );
  return rows.map((r) => ({ orgId: r.org_id, name: r.name, role: r.role }));
}
