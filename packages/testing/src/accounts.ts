/**
 * Accounts, orgs and members through the real HTTP API (no shortcuts into the database), so a fixture that works
 * proves the flow it stands for.
 */
import { randomBytes } from 'node:crypto';
import { type Api, api, type Client } from './http.js';
import { lastResetToken, type MailBox } from './mail.js';

/** A strong password that passes the policy (length, not common, does not contain the email). */
export const PASSWORD = 'correct horse battery 42';

/**
 * A unique, valid email address: `<tag>-<random>@example.test`, unique per call and per run (Redis keys are
 * sha256(email), so a rerun must not reuse one).
 */
export const uniqueEmail = (tag = 'user'): string =>
  `${tag.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(6).toString('hex')}@example.test`;

export interface Account {
  userId: string;
  orgId: string;
  token: string;
  email: string;
  password: string;
}

/**
 * Signs up a new account with its first org (the caller is its owner), through `via`: a base URL, or a client
 * (whose source address the request then carries). @throws when signup is not 201
 */
export async function signup(
  via: string | Api | Client,
  opts: { email?: string; password?: string; orgName?: string } = {},
): Promise<Account> {
  const email = opts.email ?? uniqueEmail('owner');
  const password = opts.password ?? PASSWORD;
  const orgName = opts.orgName ?? `Org ${randomBytes(3).toString('hex')}`;
  const c = typeof via === 'string' ? api(via) : via;
  const r = await c.post<{ userId: string; orgId: string; token: string }>('/api/auth/signup', {
    email,
    password,
    orgName,
  });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
  return { ...r.body, email, password };
}

/** {@link signup} through `c` with an address and org name made from `tag`. */
export const signupAccount = (c: Client, tag: string, password = PASSWORD): Promise<Account> =>
  signup(c, { email: uniqueEmail(tag), password, orgName: `${tag} org` });

/** Signs in; returns the session token. @throws when login is not 200 */
export async function login(
  baseUrl: string,
  email: string,
  password: string = PASSWORD,
  extra: { totp?: string; recoveryCode?: string } = {},
): Promise<string> {
  const r = await api(baseUrl).post<{ token: string }>('/api/auth/login', { email, password, ...extra });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body.token;
}

/**
 * Confirms a signed-up account's address through the link of its verification mail, signed in as that account
 * (confirming needs the account's own session as well as the link): `credential` is its password (default
 * {@link PASSWORD}) or a session token of it.
 */
export async function verifyEmail(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  email: string,
  credential: string | { session: string } = PASSWORD,
): Promise<void> {
  const token = await lastResetToken(srv.mailer, email, 5_000, ['verify-email']);
  const session =
    typeof credential === 'string' ? await login(srv.baseUrl, email, credential) : credential.session;
  const r = await api(srv.baseUrl, session).post('/api/auth/verify-email', { token });
  if (r.status !== 200) throw new Error(`verify-email failed: ${r.status} ${r.text}`);
}

export interface Member {
  userId: string;
  token: string;
  email: string;
  password: string;
}

/** Invites `email` to `orgId` with `role` as `actorToken`; returns the mailed invitation token. */
export async function invite(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  actorToken: string,
  orgId: string,
  email: string,
  role: string,
): Promise<string> {
  // An owner who invites colleagues has confirmed their own address (an unverified account cannot create keys
  // once others are in its org): the fixture does it the way a person would, through the mailed link.
  const me = await api(srv.baseUrl, actorToken).get<{ email: string; emailVerified: boolean }>('/api/me');
  if (me.status === 200 && !me.body.emailVerified)
    await verifyEmail(srv, me.body.email, { session: actorToken });
  const r = await api(srv.baseUrl, actorToken).post(`/api/orgs/${orgId}/members`, { email, role });
  if (r.status !== 201) throw new Error(`invite failed: ${r.status} ${r.text}`);
  return lastResetToken(srv.mailer, email, 5_000, ['accept-invite']);
}

/**
 * Adds a brand-new person to `orgId` with `role` (as `actorToken`, who must be allowed to): the invitation is
 * mailed, and the person accepts it by choosing a password, which signs them in.
 */
export async function addMemberWithRole(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  actorToken: string,
  orgId: string,
  role: string,
  email: string = uniqueEmail(role),
): Promise<Member> {
  const token = await invite(srv, actorToken, orgId, email, role);
  const r = await api(srv.baseUrl).post<{ userId: string; token: string }>('/api/auth/invitations/accept', {
    token,
    password: PASSWORD,
  });
  if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${r.text}`);
  return { userId: r.body.userId, token: r.body.token, email, password: PASSWORD };
}

/**
 * Adds an existing, verified account to another org with `role`: invitation, then accepted with the account's own
 * session (signed-up accounts verify first with {@link verifyEmail}).
 */
export async function addExistingMember(
  srv: { baseUrl: string; mailer: MailBox | MailBox[] },
  actorToken: string,
  orgId: string,
  member: { email: string; token: string },
  role: string,
): Promise<string> {
  const token = await invite(srv, actorToken, orgId, member.email, role);
  const r = await api(srv.baseUrl, member.token).post<{ userId: string }>('/api/auth/invitations/accept', {
    token,
  });
  if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${r.text}`);
  return r.body.userId;
}
