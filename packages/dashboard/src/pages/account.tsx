import { type FormEvent, useState } from 'react';
import { api, type Me, session } from '../api';
import { navigate } from '../router';
import { CopyButton, ErrorNote, Field, Page, useAction } from '../ui';

/** Security settings of the signed-in user: two-factor authentication and signing out everywhere. */
export function Account({ me, reload }: { me: Me; reload: () => void }) {
  const [enrol, setEnrol] = useState<{ secret: string; otpauthUrl: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const { busy, error, act } = useAction();

  const start = async () => {
    const r = await act(() => api<{ secret: string; otpauthUrl: string }>('POST', '/api/auth/totp/enroll'));
    if (r) setEnrol(r);
  };
  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() =>
      api<{ recoveryCodes: string[] }>('POST', '/api/auth/totp/confirm', { code: code.replace(/\s/g, '') }),
    );
    if (r) {
      setCodes(r.recoveryCodes);
      setEnrol(null);
      setCode('');
      reload();
    }
  };
  const signOut = async (all: boolean) => {
    await act(() => api('POST', all ? '/api/auth/logout-all' : '/api/auth/logout'));
    session.set(null);
    navigate('/login', true);
  };

  return (
    <Page title="Account and security">
      <p>
        Signed in as <strong>{me.email}</strong>.
      </p>
      <h2>Two-factor authentication</h2>
      {codes ? (
        <div className="reveal" role="dialog" aria-labelledby="codes-title">
          <h3 id="codes-title">Recovery codes</h3>
          <p className="warning">
            <strong>You will not see these again.</strong> Each code signs you in once if you lose your
            authenticator.
          </p>
          <pre className="secret" data-testid="recovery-codes">
            {codes.join('\n')}
          </pre>
          <div className="row">
            <CopyButton text={codes.join('\n')} label="Copy codes" />
            <button type="button" onClick={() => setCodes(null)}>
              I have stored them
            </button>
          </div>
        </div>
      ) : me.totpEnabled ? (
        <p className="ok" role="status">
          Two-factor authentication is on.
        </p>
      ) : enrol ? (
        <form onSubmit={confirm} aria-label="Confirm two-factor authentication">
          <p>
            Add this key to your authenticator app (or open the link on your phone), then enter the code it
            shows.
          </p>
          <p>
            Key: <code data-testid="totp-secret">{enrol.secret}</code>{' '}
            <CopyButton text={enrol.secret} label="Copy key" />
          </p>
          <p>
            <a href={enrol.otpauthUrl}>Open in authenticator app</a>
          </p>
          <Field
            label="Code from the app"
            value={code}
            onChange={setCode}
            inputMode="numeric"
            autoComplete="one-time-code"
            required
          />
          <ErrorNote error={error} />
          <button type="submit" className="primary" disabled={busy}>
            Turn on
          </button>
        </form>
      ) : (
        <>
          <p>Two-factor authentication is off. Turn it on so a stolen password is not enough to sign in.</p>
          <ErrorNote error={error} />
          <button type="button" className="primary" onClick={start} disabled={busy}>
            Set up two-factor authentication
          </button>
        </>
      )}
      <h2>Sessions</h2>
      <div className="row">
        <button type="button" onClick={() => signOut(false)} disabled={busy}>
          Sign out
        </button>
        <button type="button" className="danger" onClick={() => signOut(true)} disabled={busy}>
          Sign out everywhere
        </button>
      </div>
    </Page>
  );
}
