import type { InvitationLookup } from '@rampart/server/api-types';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { ApiError, api, type Me, session, signInWithCookie } from '../api';
import { CodeField, mismatch, NewPassword, PasswordField, Submit } from '../components/fields';
import type { Role } from '../permissions';
import { Link } from '../router';
import { describe, ErrorNote, useAction } from '../ui';
import { OidcButtons } from './auth';
import { useFragmentToken } from './reset';

type Invitation = InvitationLookup;

/**
 * The invitation token survives a sign-in with a provider (a full-page round trip) in this tab's sessionStorage
 * only, and only for that trip: written when a provider button is pressed, read and removed on the way back. The
 * session token itself is never stored (see api.ts).
 */
const STASH = 'rampart.invitation';
export const takeStashedInvitation = (): string | null => {
  const t = sessionStorage.getItem(STASH);
  sessionStorage.removeItem(STASH);
  return t;
};
export const hasStashedInvitation = (): boolean => sessionStorage.getItem(STASH) !== null;

const UNUSABLE: Record<Exclude<Invitation['status'], 'pending'>, string> = {
  expired: 'This invitation has expired.',
  used: 'This invitation has already been used.',
  revoked: 'This invitation was withdrawn (or replaced by a newer one).',
};

function Unusable({ status }: { status: Exclude<Invitation['status'], 'pending'> | 'invalid' }) {
  return (
    <main className="auth">
      <h1>This invitation link no longer works</h1>
      <p role="alert">
        {status === 'invalid' ? 'This invitation link is not valid.' : UNUSABLE[status]} Invitations work
        once, within 7 days.
      </p>
      <p>Ask the person who invited you to send a new invitation.</p>
      <p>
        <Link to="/login">Go to sign in</Link>
      </p>
    </main>
  );
}

/**
 * `/accept-invite#token=…`: shows the org, the inviter and the role. A new person chooses a password and is signed
 * in; someone with an account signs in as the invited address (password or a linked provider) and accepts. Either
 * way they land in the org.
 */
export function AcceptInvite({ onJoined }: { onJoined: (orgId: string, role: Role) => void }) {
  const fragment = useFragmentToken('/accept-invite');
  const [token] = useState(() => fragment || takeStashedInvitation() || '');
  const [inv, setInv] = useState<Invitation | null>(null);
  const [lookupError, setLookupError] = useState<'invalid' | string | null>(token ? null : 'invalid');
  const [me, setMe] = useState<Me | null>(null);
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [code, setCode] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [local, setLocal] = useState<string | null>(null);
  const [unverified, setUnverified] = useState(false);
  const [resent, setResent] = useState(false);
  const { busy, error, act } = useAction();

  const loadMe = useCallback(async () => {
    if (!session.token) return setMe(null);
    try {
      setMe(await api<Me>('GET', '/api/me'));
    } catch {
      setMe(null);
    }
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, for the token of the link
  useEffect(() => {
    if (!token) return;
    api<Invitation>('POST', '/api/auth/invitations/lookup', { token })
      .then(setInv)
      .catch((err: unknown) =>
        setLookupError(err instanceof ApiError && err.code === 'not_found' ? 'invalid' : describe(err)),
      );
    void loadMe();
  }, []);

  const accept = async (withPassword?: string) => {
    const r = await act(async () => {
      try {
        // A new account is signed in by its acceptance, with the refresh cookie like any sign-in.
        return await api<{ orgId: string; role: Role; token?: string }>(
          'POST',
          '/api/auth/invitations/accept',
          { token, ...(withPassword ? { password: withPassword, session: 'cookie' } : {}) },
          withPassword ? { withCookies: true } : {},
        );
      } catch (err) {
        if (err instanceof ApiError && err.code === 'email_unverified') {
          setUnverified(true);
          return undefined;
        }
        if (err instanceof ApiError && err.code === 'link_expired') {
          const status = err.details.status as Invitation['status'] | undefined;
          setInv((i) => (i ? { ...i, status: status ?? 'used' } : i));
          return undefined;
        }
        throw err;
      }
    });
    if (!r) return;
    if (r.token) session.set(r.token);
    onJoined(r.orgId, r.role);
  };

  const createAccount = async (e: FormEvent) => {
    e.preventDefault();
    const wrong = mismatch(password, confirm);
    setLocal(wrong);
    if (!wrong) await accept(password);
  };

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    if (!inv) return;
    const body: Record<string, string> = { email: inv.email, password };
    if (needTotp) body.totp = code.replace(/\s/g, '');
    const r = await act(async () => {
      try {
        return await signInWithCookie<{ token: string }>('/api/auth/login', body);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'totp_required' && !needTotp) {
          setNeedTotp(true);
          return undefined;
        }
        throw err;
      }
    });
    if (!r) return;
    setPassword('');
    await loadMe();
    await accept();
  };

  if (lookupError === 'invalid') return <Unusable status="invalid" />;
  if (lookupError)
    return (
      <main className="auth">
        <h1>Invitation</h1>
        <ErrorNote error={lookupError} />
      </main>
    );
  if (!inv) return <p className="muted">Loading…</p>;
  if (inv.status !== 'pending') return <Unusable status={inv.status} />;

  const signedInAs = me?.email ?? null;
  const rightAccount = signedInAs !== null && signedInAs === inv.email;
  return (
    <main className="auth">
      <h1>Join {inv.orgName}</h1>
      <p>
        {inv.inviter ? <strong>{inv.inviter}</strong> : 'Someone'} invited <strong>{inv.email}</strong> to the
        organization <strong>{inv.orgName}</strong> as <strong>{inv.role}</strong>.
      </p>
      {unverified ? (
        <div role="alert" className="notice">
          <p>
            Confirm your e-mail address first: open the link we sent to {inv.email} when you signed up, then
            come back to this invitation.
          </p>
          {resent ? (
            <p>A new confirmation link is on its way.</p>
          ) : (
            <button
              type="button"
              onClick={() =>
                act(() => api('POST', '/api/auth/verify-email/resend')).then(() => setResent(true))
              }
            >
              Send a new confirmation link
            </button>
          )}
        </div>
      ) : null}
      {signedInAs && !rightAccount ? (
        <div role="alert" className="notice">
          <p>
            You are signed in as {signedInAs}, but this invitation is for {inv.email}. Sign out, then sign in
            with the invited address.
          </p>
          <button
            type="button"
            onClick={() => {
              void api('POST', '/api/auth/logout').catch(() => {});
              session.set(null);
              setMe(null);
            }}
          >
            Sign out
          </button>
        </div>
      ) : rightAccount ? (
        <>
          <ErrorNote error={error} />
          <button type="button" className="primary" disabled={busy} onClick={() => accept()}>
            Accept and join {inv.orgName}
          </button>
        </>
      ) : !inv.accountExists ? (
        <form onSubmit={createAccount} aria-label="Create your account">
          <p>Choose a password for your new Rampart account ({inv.email}).</p>
          <NewPassword
            password={password}
            confirm={confirm}
            onPassword={setPassword}
            onConfirm={setConfirm}
          />
          <ErrorNote error={local ?? error} />
          <Submit busy={busy}>Create account and join</Submit>
        </form>
      ) : (
        <>
          <form onSubmit={signIn} aria-label="Sign in to accept">
            <p>An account already uses {inv.email}: sign in with it to accept.</p>
            {needTotp ? (
              <CodeField value={code} onChange={setCode} />
            ) : (
              <PasswordField value={password} onChange={setPassword} />
            )}
            <ErrorNote error={error} />
            <Submit busy={busy}>Sign in and accept</Submit>
          </form>
          {/* A provider sign-in leaves the page: keep the invitation for the way back (see STASH). */}
          <div onClickCapture={() => sessionStorage.setItem(STASH, token)}>
            <OidcButtons />
          </div>
          <p>
            <Link to="/forgot">Forgot your password?</Link>
          </p>
        </>
      )}
    </main>
  );
}
