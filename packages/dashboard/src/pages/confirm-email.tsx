import { useEffect, useState } from 'react';
import { api, session } from '../api';
import { Link } from '../router';
import { describe } from '../ui';

/** One request per token, even when React runs the effect twice (StrictMode): the token works once. */
const attempts = new Map<string, Promise<{ email: string }>>();

/**
 * Where the e-mail-change link lands (`/confirm-email#token=…`), signed in or not. Confirms the change; every
 * session of the account ends, so the user signs in again with the new address.
 */
export function ConfirmEmail() {
  const [token] = useState(() => new URLSearchParams(window.location.hash.slice(1)).get('token'));
  const [email, setEmail] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    // The token is in the fragment (never sent to a server in a URL); take it out of the address bar at once.
    history.replaceState(null, '', '/confirm-email');
    if (!token) {
      setError('This link is incomplete. Open the link from the e-mail again.');
      return;
    }
    let attempt = attempts.get(token);
    if (!attempt) {
      attempt = api<{ email: string }>('POST', '/api/auth/confirm-email-change', { token });
      attempts.set(token, attempt);
    }
    attempt
      .then((r) => {
        setEmail(r.email);
        session.set(null);
      })
      .catch((err: unknown) => setError(describe(err)));
  }, [token]);

  return (
    <main className="auth">
      <h1>Confirm your new e-mail address</h1>
      {email ? (
        <p className="ok" role="status" data-testid="email-confirmed">
          Your e-mail address is now {email}. Every session was signed out: sign in with the new address.
        </p>
      ) : error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : (
        <p className="muted" aria-live="polite">
          Confirming…
        </p>
      )}
      <p>
        <Link to="/login">Go to sign in</Link>
      </p>
    </main>
  );
}
