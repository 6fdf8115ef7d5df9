import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, restoreSession, session, signInWithCookie } from '../api';
import { EmailField, mismatch, NewPassword, PasswordField, Submit } from '../components/fields';
import { Link } from '../router';
import { describe, ErrorNote, useAction } from '../ui';
import { Forgot } from './auth';

/**
 * Reads `#token=` from a mailed link once and takes it out of the address bar and history at once, so it is not
 * left in the tab's history, a bookmark or a screenshot. `path` is what the address bar shows afterwards.
 */
export function useFragmentToken(path: string): string {
  const [token] = useState(() => new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '');
  useEffect(() => {
    if (window.location.hash) history.replaceState(null, '', path);
  }, [path]);
  return token;
}

/**
 * `/reset-password#token=…`: choose a new password; signed in afterwards (unless the account uses 2FA: then the
 * code is asked at sign-in). A used or expired link shows a form for a new one. When the reset claimed an account
 * that had not confirmed its address, the page says what was revoked and what to review before going on.
 */
export function ResetPassword(props: { siteKey: string | null; onSignedIn: () => void }) {
  const token = useFragmentToken('/reset-password');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [local, setLocal] = useState<string | null>(null);
  const [expired, setExpired] = useState(!token);
  const [done, setDone] = useState<{ token?: string; claimed: boolean } | null>(null);
  const { busy, error, act } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const wrong = mismatch(password, confirm);
    setLocal(wrong);
    if (wrong) return;
    const r = await act(async () => {
      try {
        // The refresh cookie comes with the answer; the session JWT is adopted once any claim notice is read.
        return await api<{ ok: true; token?: string; claimed: boolean }>(
          'POST',
          '/api/auth/reset-password',
          { token, password, session: 'cookie' },
          { withCookies: true },
        );
      } catch (err) {
        // The server answers invalid_credentials for an unknown, used or expired link.
        if (err instanceof ApiError && err.code === 'invalid_credentials') {
          setExpired(true);
          return undefined;
        }
        throw err;
      }
    });
    if (!r) return;
    setPassword('');
    setConfirm('');
    if (r.token && !r.claimed) {
      session.set(r.token);
      props.onSignedIn();
    } else setDone(r);
  };

  if (expired)
    return (
      <Forgot
        siteKey={props.siteKey}
        title="This reset link no longer works"
        notice="Reset links work once, within 30 minutes. This one was already used or has expired. Request a new one below."
      />
    );
  if (done)
    return (
      <main className="auth">
        <h1>Your password is set</h1>
        {done.claimed ? (
          <div role="alert" className="notice">
            <p>
              This account had not confirmed its e-mail address until now, so someone else may have created it
              with your address. Every API key and runtime token it had created was revoked, and every other
              session was signed out.
            </p>
            <p>
              Settings made before your reset stay as they were: review your organization’s model providers
              (their base URLs), secrets, members, webhooks and scheduled jobs before you rely on them.
            </p>
          </div>
        ) : null}
        {done.token ? (
          <button
            type="button"
            className="primary"
            onClick={() => {
              session.set(done.token ?? null);
              props.onSignedIn();
            }}
          >
            Continue to the dashboard
          </button>
        ) : (
          <p>
            Your account uses two-factor authentication: <Link to="/login">sign in</Link> with the new
            password and your code.
          </p>
        )}
      </main>
    );
  return (
    <main className="auth">
      <h1>Choose a new password</h1>
      <form onSubmit={submit} aria-label="Choose a new password">
        <NewPassword password={password} confirm={confirm} onPassword={setPassword} onConfirm={setConfirm} />
        <ErrorNote error={local ?? error} />
        <Submit busy={busy}>Set password and sign in</Submit>
      </form>
      <p>
        <Link to="/login">Back to sign in</Link>
      </p>
    </main>
  );
}

/**
 * `/verify-email#token=…`: confirms the address. The link proves the mailbox; the server also wants the session of
 * the account it was sent for (whoever signed up first with someone else's address must not be verified by the
 * owner's click), so a visitor who is not signed in signs in here first. A used or expired link offers a new one.
 */
export function VerifyEmail({ onDone }: { onDone: () => void }) {
  const token = useFragmentToken('/verify-email');
  const [state, setState] = useState<'working' | 'sign-in' | 'done' | 'expired' | 'failed'>(
    token ? 'working' : 'expired',
  );
  const [message, setMessage] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error: signInError, act } = useAction();
  const confirm = () =>
    api('POST', '/api/auth/verify-email', { token })
      .then(() => setState('done'))
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 'link_expired') setState('expired');
        else {
          setMessage(describe(err));
          setState('failed');
        }
      });
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, for the token in the fragment
  useEffect(() => {
    if (!token) return;
    // A reload or a new tab resumes the sign-in from the refresh cookie first.
    void (session.token ? Promise.resolve(true) : restoreSession()).then((signedIn) =>
      signedIn ? confirm() : setState('sign-in'),
    );
  }, []);
  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    const r = await act(() => signInWithCookie<{ token: string }>('/api/auth/login', { email, password }));
    setPassword('');
    if (r) await confirm();
  };
  const resend = async () => {
    try {
      await api('POST', '/api/auth/verify-email/resend');
      setSent(true);
    } catch (err) {
      setMessage(describe(err));
    }
  };
  return (
    <main className="auth">
      <h1>Confirm your e-mail address</h1>
      {state === 'working' ? <p aria-live="polite">One moment…</p> : null}
      {state === 'sign-in' ? (
        <form onSubmit={signIn} aria-label="Sign in to confirm">
          <p>Sign in to the account this link was sent for to confirm its address.</p>
          <p className="muted">
            Did you not create a Rampart account? Someone used your address: do not sign in here.{' '}
            <Link to="/forgot">Reset the password</Link> to take the account over instead.
          </p>
          <EmailField value={email} onChange={setEmail} />
          <PasswordField value={password} onChange={setPassword} />
          <ErrorNote error={signInError} />
          <Submit busy={busy}>Sign in and confirm</Submit>
        </form>
      ) : null}
      {state === 'done' ? (
        <>
          <p role="status">Your e-mail address is confirmed.</p>
          <button type="button" className="primary" onClick={onDone}>
            Continue
          </button>
        </>
      ) : null}
      {state === 'expired' ? (
        <>
          <p role="alert">This confirmation link no longer works: it was already used or has expired.</p>
          {session.token ? (
            sent ? (
              <p role="status">A new link is on its way. Check your inbox.</p>
            ) : (
              <button type="button" className="primary" onClick={resend}>
                Send a new link
              </button>
            )
          ) : (
            <p>
              <Link to="/login">Sign in</Link> and use “Send a new link” on the banner to get a new one.
            </p>
          )}
        </>
      ) : null}
      <ErrorNote error={message} />
    </main>
  );
}

/** The banner an unconfirmed account sees on every page, with a button for a new link. */
export function VerifyBanner({ email }: { email: string }) {
  const [sent, setSent] = useState(false);
  const { busy, error, act } = useAction();
  const resend = async () => {
    if (await act(() => api('POST', '/api/auth/verify-email/resend').then(() => true))) setSent(true);
  };
  return (
    <div className="banner" role="status">
      <p>
        Confirm your e-mail address ({email}) with the link we sent you. Until then you cannot join other
        organizations or accept invitations, nor create API keys in an organization with other members.
      </p>
      {sent ? (
        <p>A new link is on its way.</p>
      ) : (
        <button type="button" onClick={resend} disabled={busy}>
          Send a new link
        </button>
      )}
      <ErrorNote error={error} />
    </div>
  );
}
