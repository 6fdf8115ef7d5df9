import { type FormEvent, useState } from 'react';
import { api, type Me, session } from '../api';
import { navigate } from '../router';
import {
  CopyButton,
  DangerButton,
  ErrorNote,
  Field,
  LoadedList,
  Page,
  Table,
  useAction,
  useLoad,
  when,
} from '../ui';

/** A CLI credential from `rampart login`, as GET /api/cli-credentials lists it (never the token). */
interface CliSession {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string;
}

/** The user's CLI sessions (`rampart login`), each revocable at once. */
function CliSessions() {
  const state = useLoad(() => api<{ credentials: CliSession[] }>('GET', '/api/cli-credentials'), []);
  const { error, act } = useAction();
  const revoke = async (c: CliSession) => {
    if (!window.confirm(`Revoke "${c.name}"? That CLI is signed out at once.`)) return;
    await act(() => api('DELETE', `/api/cli-credentials/${encodeURIComponent(c.id)}`));
    await state.reload();
  };
  return (
    <>
      <h2>CLI sessions</h2>
      <p className="muted">
        Each <code>rampart login</code> you approved. A CLI session can only call the CLI&apos;s own routes,
        never the dashboard&apos;s.
      </p>
      <ErrorNote error={error} />
      <LoadedList
        state={state}
        items={(d) => d.credentials}
        empty={<>No CLI sessions. Run rampart login --server {location.origin} to add one.</>}
      >
        {(credentials) => (
          <Table
            testId="cli-sessions"
            caption="CLI sessions"
            columns={['Name', 'Credential', 'Created', 'Last used', 'Expires', 'Actions']}
          >
            {credentials.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>
                  <code>cli_live_{c.prefix}…</code>
                </td>
                <td>{when(c.createdAt)}</td>
                <td>{c.lastUsedAt ? when(c.lastUsedAt) : 'never'}</td>
                <td>{when(c.expiresAt)}</td>
                <td>
                  <DangerButton onClick={() => revoke(c)} label={`Revoke ${c.name}`}>
                    Revoke
                  </DangerButton>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </>
  );
}

/** Security settings of the signed-in user: two-factor authentication, CLI sessions, signing out everywhere. */
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
      <CliSessions />
      <h2>Sessions</h2>
      <div className="row">
        <button type="button" onClick={() => signOut(false)} disabled={busy}>
          Sign out
        </button>
        <DangerButton onClick={() => signOut(true)} disabled={busy}>
          Sign out everywhere
        </DangerButton>
      </div>
    </Page>
  );
}
