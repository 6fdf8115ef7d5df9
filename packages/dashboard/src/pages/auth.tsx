import { type FormEvent, useState } from 'react';
import { ApiError, api, session } from '../api';
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
      const r = await api<{ token: string }>('POST', '/api/auth/login', body);
      session.set(r.token);
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
            <Field
              label="E-mail"
              type="email"
              value={email}
              onChange={setEmail}
              autoComplete="username"
              required
            />
            <Field
              label="Password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete="current-password"
              required
            />
          </>
        ) : step === 'totp' ? (
          <Field
            label="Authentication code"
            value={code}
            onChange={setCode}
            autoComplete="one-time-code"
            inputMode="numeric"
            hint="The 6-digit code from your authenticator app."
            required
          />
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
        <button type="submit" className="primary" disabled={busy}>
          {step === 'password' ? 'Sign in' : 'Verify'}
        </button>
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
      api<{ token: string }>('POST', '/api/auth/signup', {
        email,
        password,
        orgName,
        ...(botToken ? { botToken } : {}),
      }),
    );
    if (r) {
      session.set(r.token);
      onSignedIn();
    }
  };
  return (
    <main className="auth">
      <h1>Create your Rampart account</h1>
      <form onSubmit={submit} aria-label="Sign up">
        <Field
          label="E-mail"
          type="email"
          value={email}
          onChange={setEmail}
          autoComplete="username"
          required
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint="At least 12 characters; a long passphrase is best."
          required
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
        <button type="submit" className="primary" disabled={busy}>
          Create account
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </main>
  );
}

export function Forgot({ siteKey }: { siteKey: string | null }) {
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
      <h1>Reset your password</h1>
      {sent ? (
        <p role="status">If an account uses that address, a reset link is on its way. Check your inbox.</p>
      ) : (
        <form onSubmit={submit} aria-label="Reset password">
          <Field
            label="E-mail"
            type="email"
            value={email}
            onChange={setEmail}
            autoComplete="username"
            required
          />
          <Turnstile siteKey={siteKey} onToken={setBotToken} />
          <ErrorNote error={error} />
          <button type="submit" className="primary" disabled={busy}>
            Send reset link
          </button>
        </form>
      )}
      <p>
        <Link to="/login">Back to sign in</Link>
      </p>
    </main>
  );
}

export const goHome = () => navigate('/', true);
