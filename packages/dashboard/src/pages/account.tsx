import type { AccountEvent, CliCredential as CliSession } from '@rampart/server/api-types';
import { type FormEvent, useEffect, useState } from 'react';
import { api, type Me, session } from '../api';
import { CredentialList } from '../components/credential-list';
import { CodeField, PasswordField, Submit } from '../components/fields';
import { navigate } from '../router';
import { CopyButton, DangerButton, ErrorNote, Page, Table, useAction, when } from '../ui';
import {
  ChangeEmail,
  ChangePassword,
  DeleteAccount,
  RecoveryCodes,
  SignInProviders,
  TwoFactorManage,
} from './account-actions';

/** The user's CLI sessions (`rampart login`), each revocable at once. */
function CliSessions() {
  return (
    <>
      <h2>CLI sessions</h2>
      <p className="muted">
        Each <code>rampart login</code> you approved. A CLI session can only call the CLI&apos;s own routes,
        never the dashboard&apos;s.
      </p>
      <CredentialList
        path="/api/cli-credentials"
        items={(d: { credentials: CliSession[] }) => d.credentials}
        kind="cliSession"
        extraColumns={[['Expires', (c) => when(c.expiresAt)]]}
        empty={<>No CLI sessions. Run rampart login --server {location.origin} to add one.</>}
        revoke={{
          allowed: true,
          label: (c) => `Revoke ${c.name}`,
          confirm: (c) => `Revoke "${c.name}"? That CLI is signed out at once.`,
        }}
      />
    </>
  );
}

const EVENT_NAMES: Record<string, string> = {
  'auth.login': 'Signed in',
  'auth.login_failed': 'Failed sign-in',
  'auth.logout': 'Signed out',
  'auth.logout_everywhere': 'Signed out everywhere',
  'auth.password_changed': 'Password changed',
  'auth.password_reset': 'Password reset',
  'auth.password_reset_requested': 'Password reset requested',
  'auth.totp_enrollment_started': 'Two-factor setup started',
  'auth.totp_enabled': 'Two-factor authentication turned on',
  'auth.recovery_code_used': 'Recovery code used',
  'auth.device_approved': 'CLI sign-in approved',
  'auth.device_denied': 'CLI sign-in denied',
  'auth.cli_credential_revoked': 'CLI session revoked',
  'auth.oidc_linked': 'Sign-in provider linked',
  'auth.oidc_unlinked': 'Sign-in provider unlinked',
  'auth.email_change_requested': 'E-mail change requested',
  'auth.email_changed': 'E-mail address changed',
  'auth.totp_disabled': 'Two-factor authentication turned off',
  'auth.recovery_codes_regenerated': 'New recovery codes issued',
  'auth.reauth_failed': 'Wrong password or code for an account change',
  'user.signed_up': 'Account created',
};

/**
 * The user's own account activity (sign-ins, failures, two-factor, CLI devices), newest first. Only they see it:
 * the orgs they belong to never get these events.
 */
function AccountActivity() {
  const [events, setEvents] = useState<AccountEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const { busy, error, act } = useAction();
  const load = async (cursor: string | null) => {
    const r = await act(() =>
      api<{ events: AccountEvent[]; nextCursor: string | null }>(
        'GET',
        `/api/me/events?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
    );
    if (!r) return;
    setEvents((prev) => (cursor ? [...prev, ...r.events] : r.events));
    setNext(r.nextCursor);
    setLoaded(true);
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: load the first page once, on arrival
  useEffect(() => {
    void load(null);
  }, []);
  return (
    <>
      <h2>Account activity</h2>
      <p className="muted">
        Sign-ins, failed sign-ins, two-factor and CLI events of your account. Only you see these; the
        organisations you belong to do not.
      </p>
      <ErrorNote error={error} />
      {!loaded ? (
        <p className="muted" aria-live="polite">
          Loading…
        </p>
      ) : (
        <Table
          testId="account-events"
          caption="Account activity"
          columns={['When', 'What', 'From', 'Device']}
        >
          {events.map((e) => (
            <tr key={e.seq}>
              <td>{when(e.at)}</td>
              <td>
                {EVENT_NAMES[e.action] ?? e.action} <code className="meta">{e.action}</code>
              </td>
              <td>{e.ip ?? '—'}</td>
              <td className="meta">{e.userAgent ?? '—'}</td>
            </tr>
          ))}
        </Table>
      )}
      {next ? (
        <button type="button" onClick={() => load(next)} disabled={busy}>
          Show older
        </button>
      ) : null}
    </>
  );
}

/**
 * Security settings of the signed-in user: two-factor authentication, password, e-mail address, sign-in providers,
 * CLI sessions, activity, signing out everywhere and deleting the account (forms in account-actions.tsx).
 */
export function Account({ me, reload }: { me: Me; reload: () => void }) {
  const [enrol, setEnrol] = useState<{ secret: string; otpauthUrl: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const { busy, error, act } = useAction();

  const [password, setPassword] = useState('');
  const start = async (e: FormEvent) => {
    e.preventDefault();
    // The current password is required: a stolen session alone cannot put someone else's second factor here.
    const r = await act(() =>
      api<{ secret: string; otpauthUrl: string }>('POST', '/api/auth/totp/enroll', { password }),
    );
    setPassword('');
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
        <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />
      ) : me.totpEnabled ? (
        <>
          <p className="ok" role="status">
            Two-factor authentication is on.
          </p>
          <TwoFactorManage reload={reload} />
        </>
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
          <CodeField label="Code from the app" value={code} onChange={setCode} />
          <ErrorNote error={error} />
          <Submit busy={busy}>Turn on</Submit>
        </form>
      ) : (
        <form onSubmit={start} aria-label="Set up two-factor authentication">
          <p>Two-factor authentication is off. Turn it on so a stolen password is not enough to sign in.</p>
          <PasswordField label="Current password" value={password} onChange={setPassword} />
          <ErrorNote error={error} />
          <Submit busy={busy}>Set up two-factor authentication</Submit>
        </form>
      )}
      <ChangePassword me={me} />
      <ChangeEmail me={me} />
      <SignInProviders me={me} />
      <CliSessions />
      <AccountActivity />
      <h2>Sessions</h2>
      <div className="row">
        <button type="button" onClick={() => signOut(false)} disabled={busy}>
          Sign out
        </button>
        <DangerButton onClick={() => signOut(true)} disabled={busy}>
          Sign out everywhere
        </DangerButton>
      </div>
      <DeleteAccount me={me} />
    </Page>
  );
}
