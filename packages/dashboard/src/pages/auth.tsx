import type { OidcProvider } from '@rampart/server/api-types';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, signInWithCookie } from '../api';
import { CodeField, EmailField, PASSWORD_HINT, PasswordField, Submit } from '../components/fields';
import { Link, navigate } from '../router';
import { Turnstile } from '../turnstile';
import { describe, ErrorNote, Field, useAction } from '../ui';

interface AuthProps {
  siteKey: string | null;
  onSignedIn: () => void;
}

export function Login({ siteKey, onSignedIn }: AuthProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [step, setStep] = useState<'password' | 'totp' | 'recovery'>('password');
  const [code, setCode] = useState('');
  const [botToken, setBotToken] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, string> = { email, password };
    if (step === 'totp') body.totp = code.replace(/\s/g, '');
    if (step === 'recovery') body.recoveryCode = code.trim();
    if (botToken) body.botToken = botToken;
    setBusy(true);
    setError(null);
    try {
      await signInWithCookie<{ token: string }>('/api/auth/login', body);
      onSignedIn();
    } catch (err) {
      // The password was right and the account has 2FA: ask for the second factor.
      if (err instanceof ApiError && err.code === 'totp_required' && step === 'password') setStep('totp');
      else setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth">
      <h1>Sign in to Rampart</h1>
      <form onSubmit={submit} aria-label="Sign in">
        {step === 'password' ? (
          <>
            <EmailField value={email} onChange={setEmail} />
            <PasswordField value={password} onChange={setPassword} />
          </>
        ) : step === 'totp' ? (
          <CodeField value={code} onChange={setCode} hint="The 6-digit code from your authenticator app." />
        ) : (
          <Field
            label="Recovery code"
            value={code}
            onChange={setCode}
            autoComplete="off"
            hint="One of the recovery codes you saved when you turned on two-factor authentication. Each works once."
            required
          />
        )}
        <Turnstile siteKey={siteKey} onToken={setBotToken} />
        <ErrorNote error={error} />
        <Submit busy={busy}>{step === 'password' ? 'Sign in' : 'Verify'}</Submit>
        {step === 'totp' ? (
          <button
            type="button"
            className="link"
            onClick={() => {
              setStep('recovery');
              setCode('');
            }}
          >
            Use a recovery code instead
          </button>
        ) : null}
      </form>
      {step === 'password' ? <OidcButtons /> : null}
      <p>
        No account? <Link to="/signup">Create one</Link> · <Link to="/forgot">Forgot your password?</Link>
      </p>
    </main>
  );
}

export function Signup({ siteKey, onSignedIn }: AuthProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [orgName, setOrgName] = useState('');
  const [botToken, setBotToken] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() =>
      signInWithCookie<{ token: string }>('/api/auth/signup', {
        email,
        password,
        orgName,
        ...(botToken ? { botToken } : {}),
      }),
    );
    if (r) onSignedIn();
  };
  return (
    <main className="auth">
      <h1>Create your Rampart account</h1>
      <form onSubmit={submit} aria-label="Sign up">
        <EmailField value={email} onChange={setEmail} />
        <PasswordField
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint={PASSWORD_HINT}
        />
        <Field
          label="Organization name"
          value={orgName}
          onChange={setOrgName}
          autoComplete="organization"
          required
        />
        <Turnstile siteKey={siteKey} onToken={setBotToken} />
        <ErrorNote error={error} />
        <Submit busy={busy}>Create account</Submit>
      </form>
      <p>
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </main>
  );
}

export function Forgot({
  siteKey,
  title = 'Reset your password',
  notice,
}: {
  siteKey: string | null;
  title?: string;
  /** Why the visitor is here (a used or expired reset link). */
  notice?: string;
}) {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const [botToken, setBotToken] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() =>
      api('POST', '/api/auth/forgot-password', { email, ...(botToken ? { botToken } : {}) }).then(() => true),
    );
    if (r) setSent(true);
  };
  return (
    <main className="auth">
      <h1>{title}</h1>
      {notice ? <p role="alert">{notice}</p> : null}
      {sent ? (
        <p role="status">If an account uses that address, a reset link is on its way. Check your inbox.</p>
      ) : (
        <form onSubmit={submit} aria-label="Reset password">
          <EmailField value={email} onChange={setEmail} />
          <Turnstile siteKey={siteKey} onToken={setBotToken} />
          <ErrorNote error={error} />
          <Submit busy={busy}>Send reset link</Submit>
        </form>
      )}
      <p>
        <Link to="/login">Back to sign in</Link>
      </p>
    </main>
  );
}

export const goHome = () => navigate('/', true);

/** "Sign in with …" buttons for the providers the operator configured (none: nothing shown). */
export function OidcButtons({ link = false }: { link?: boolean }) {
  const [providers, setProviders] = useState<OidcProvider[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ providers: OidcProvider[] }>('GET', '/api/auth/oidc/providers')
      .then((r) => setProviders(r.providers))
      .catch(() => setProviders([]));
  }, []);
  if (providers.length === 0) return null;
  const go = async (name: string) => {
    try {
      const r = await api<{ authorizationUrl: string }>(
        'POST',
        `/api/auth/oidc/${encodeURIComponent(name)}/start`,
        { link },
        { withCookies: true },
      );
      window.location.assign(r.authorizationUrl);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <div className="oidc">
      {providers.map((p) => (
        <button key={p.name} type="button" onClick={() => go(p.name)}>
          {link ? `Link ${p.displayName}` : `Sign in with ${p.displayName}`}
        </button>
      ))}
      <ErrorNote error={error} />
    </div>
  );
}

const OIDC_ERRORS: Record<string, string> = {
  state_invalid: 'This sign-in expired or was already used. Start again.',
  browser_mismatch: 'This sign-in was started in another browser or tab. Start again here.',
  provider_error: 'The sign-in provider cancelled or refused the sign-in.',
  token_invalid: 'The sign-in provider’s answer could not be verified. Start again.',
  email_missing: 'The sign-in provider did not share an e-mail address.',
  email_not_verified:
    'The sign-in provider has not verified this e-mail address, so it cannot be used to sign in or to link an account.',
  already_linked: 'This identity is already linked to another account.',
  unknown_provider: 'This sign-in provider is no longer configured.',
};

/**
 * Where the provider's redirect lands (`/login/oidc#code=…`): trades the one-time code for a session, asking for
 * the TOTP code when the account has one, or for the account's password when an existing account must be linked.
 */
export function OidcReturn({ onSignedIn }: { onSignedIn: () => void }) {
  const [params] = useState(() => new URLSearchParams(window.location.hash.slice(1)));
  const [step, setStep] = useState<'working' | 'totp' | 'link' | 'failed'>('working');
  const [email, setEmail] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const oneTime = params.get('code') ?? '';

  const exchange = async (totp?: string) => {
    try {
      const r = await signInWithCookie<{ token?: string; linkRequired?: boolean; email?: string | null }>(
        '/api/auth/oidc/exchange',
        { code: oneTime, ...(totp ? { totp } : {}) },
      );
      if (r.linkRequired) {
        setEmail(r.email ?? null);
        setStep('link');
      } else if (r.token) onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required') setStep('totp');
      else {
        setError(describe(err));
        if (step === 'working') setStep('failed');
      }
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, for the code in the fragment
  useEffect(() => {
    // The code is in the fragment; take it out of the address bar and history at once.
    history.replaceState(null, '', '/login/oidc');
    const failure = params.get('error');
    if (failure) {
      setError(OIDC_ERRORS[failure] ?? 'The sign-in failed. Start again.');
      setStep('failed');
    } else if (!oneTime) {
      setError('This page is reached from a sign-in provider. Start again.');
      setStep('failed');
    } else void exchange();
  }, []);

  const link = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await signInWithCookie<{ token: string }>('/api/auth/oidc/link', {
        code: oneTime,
        password,
        ...(code ? { totp: code.replace(/\s/g, '') } : {}),
      });
      onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required')
        setError('Enter your authentication code too.');
      else setError(describe(err));
    } finally {
      setPassword('');
    }
  };

  return (
    <main className="auth">
      <h1>Signing you in</h1>
      {step === 'working' ? <p aria-live="polite">One moment…</p> : null}
      {step === 'totp' ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void exchange(code.replace(/\s/g, ''));
          }}
          aria-label="Two-factor authentication"
        >
          <CodeField value={code} onChange={setCode} />
          <ErrorNote error={error} />
          <Submit>Verify</Submit>
        </form>
      ) : null}
      {step === 'link' ? (
        <form onSubmit={link} aria-label="Link your account">
          <p>
            An account already uses <strong>{email}</strong>. Enter its password to link this sign-in to it.
          </p>
          <PasswordField value={password} onChange={setPassword} />
          <CodeField
            label="Authentication code (if you use two-factor authentication)"
            value={code}
            onChange={setCode}
            required={false}
          />
          <ErrorNote error={error} />
          <Submit>Link and sign in</Submit>
        </form>
      ) : null}
      {step === 'failed' ? (
        <>
          <ErrorNote error={error} />
          <p>
            <Link to="/login">Back to sign in</Link>
          </p>
        </>
      ) : null}
    </main>
  );
}
