import type { LinkedIdentity } from '@rampart/server/api-types';
import { type FormEvent, type ReactNode, useState } from 'react';
import { ApiError, api, type Me, session, signInWithCookie } from '../api';
import { PasswordField, Submit } from '../components/fields';
import { ListTable } from '../components/list-table';
import { navigate } from '../router';
import { CopyButton, DangerButton, describe, ErrorNote, Field, useLoad, when } from '../ui';

/**
 * The re-authentication every account action needs (docs/SECURITY-CONTROLS.md "Account actions and erasure"): the current
 * password and, when two-factor authentication is on, the authenticator's code or a recovery code. Each form
 * has its own; the fields are cleared after every attempt.
 */
function useReauth(totpEnabled: boolean) {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const body = () => ({
    password,
    ...(totpEnabled ? (recovery ? { recoveryCode: code.trim() } : { totp: code.replace(/\s/g, '') }) : {}),
  });
  const clear = () => {
    setPassword('');
    setCode('');
  };
  const fields: ReactNode = (
    <>
      <PasswordField label="Current password" value={password} onChange={setPassword} />
      {totpEnabled ? (
        <>
          <Field
            label={recovery ? 'Recovery code' : 'Authenticator code'}
            value={code}
            onChange={setCode}
            inputMode={recovery ? 'text' : 'numeric'}
            autoComplete="one-time-code"
            required
          />
          <button
            type="button"
            className="link"
            onClick={() => {
              setRecovery(!recovery);
              setCode('');
            }}
          >
            {recovery ? 'Use the authenticator code instead' : 'Use a recovery code instead'}
          </button>
        </>
      ) : null}
    </>
  );
  return { body, clear, fields };
}

/** Runs one account action: busy flag, the server's message on failure, fields cleared either way. */
function useSubmit(clear: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async <T,>(fn: () => Promise<T>, onError?: (err: unknown) => string | null) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(onError?.(err) ?? describe(err));
      return undefined;
    } finally {
      clear();
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** A new password; every other session is signed out and this one continues with a fresh token. */
export function ChangePassword({ me }: { me: Me }) {
  const re = useReauth(me.totpEnabled);
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, run } = useSubmit(re.clear);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    const { password, ...factor } = re.body();
    // The change ends every sign-in, this one's refresh cookie included: take the new one it issues.
    const r = await run(() =>
      signInWithCookie<{ token: string }>('/api/auth/change-password', {
        currentPassword: password,
        newPassword: next,
        ...factor,
      }),
    );
    setNext('');
    if (r) setDone(true);
  };
  return (
    <form onSubmit={submit} aria-label="Change password">
      <h2>Password</h2>
      {re.fields}
      <PasswordField
        label="New password"
        value={next}
        onChange={setNext}
        autoComplete="new-password"
        hint="At least 10 characters. Every other session is signed out."
      />
      <ErrorNote error={error} />
      {done ? (
        <p className="ok" role="status">
          Password changed. Every other session was signed out, and a notice was sent to {me.email}.
        </p>
      ) : null}
      <Submit busy={busy}>Change password</Submit>
    </form>
  );
}

/** A new e-mail address, confirmed by a link sent to it; the old address is told once it changes. */
export function ChangeEmail({ me }: { me: Me }) {
  const re = useReauth(me.totpEnabled);
  const [newEmail, setNewEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { busy, error, run } = useSubmit(re.clear);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSentTo(null);
    const r = await run(() => api('POST', '/api/me/email', { ...re.body(), newEmail }).then(() => true));
    if (r) {
      setSentTo(newEmail);
      setNewEmail('');
    }
  };
  return (
    <form onSubmit={submit} aria-label="Change e-mail address">
      <h2>E-mail address</h2>
      <p className="muted">
        Now <strong>{me.email}</strong>. The new address must confirm the change; until then nothing changes.
      </p>
      <Field
        label="New e-mail address"
        type="email"
        value={newEmail}
        onChange={setNewEmail}
        autoComplete="email"
        required
      />
      {re.fields}
      <ErrorNote error={error} />
      {sentTo ? (
        <p className="ok" role="status" data-testid="email-change-sent">
          Check your new inbox: we sent a confirmation link to {sentTo}. It works once, within 24 hours. When
          you open it, every session is signed out and you sign in with the new address.
        </p>
      ) : null}
      <Submit busy={busy}>Send confirmation link</Submit>
    </form>
  );
}

/** Shown once: the recovery codes just issued. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="reveal" role="dialog" aria-labelledby="codes-title">
      <h3 id="codes-title">Recovery codes</h3>
      <p className="warning">
        <strong>You will not see these again.</strong> Each code signs you in once if you lose your
        authenticator. Any earlier codes no longer work.
      </p>
      <pre className="secret" data-testid="recovery-codes">
        {codes.join('\n')}
      </pre>
      <div className="row">
        <CopyButton text={codes.join('\n')} label="Copy codes" />
        <button type="button" onClick={onDone}>
          I have stored them
        </button>
      </div>
    </div>
  );
}

/** With two-factor authentication on: issue new recovery codes, or turn it off. */
export function TwoFactorManage({ reload }: { reload: () => void }) {
  const codesRe = useReauth(true);
  const offRe = useReauth(true);
  const codesSubmit = useSubmit(codesRe.clear);
  const offSubmit = useSubmit(offRe.clear);
  const [codes, setCodes] = useState<string[] | null>(null);
  const issue = async (e: FormEvent) => {
    e.preventDefault();
    const r = await codesSubmit.run(() =>
      api<{ recoveryCodes: string[] }>('POST', '/api/me/recovery-codes', codesRe.body()),
    );
    if (r) setCodes(r.recoveryCodes);
  };
  const off = async (e: FormEvent) => {
    e.preventDefault();
    const r = await offSubmit.run(() => api('POST', '/api/me/totp/disable', offRe.body()).then(() => true));
    if (r) reload();
  };
  if (codes) return <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />;
  return (
    <>
      <form onSubmit={issue} aria-label="New recovery codes">
        <h3>New recovery codes</h3>
        <p className="muted">Lost or used up your codes? New ones replace every earlier code.</p>
        {codesRe.fields}
        <ErrorNote error={codesSubmit.error} />
        <button type="submit" disabled={codesSubmit.busy}>
          Issue new recovery codes
        </button>
      </form>
      <form onSubmit={off} aria-label="Turn off two-factor authentication">
        <h3>Turn off two-factor authentication</h3>
        <p className="muted">Your password alone will then be enough to sign in.</p>
        {offRe.fields}
        <ErrorNote error={offSubmit.error} />
        <button type="submit" className="danger" disabled={offSubmit.busy}>
          Turn off two-factor authentication
        </button>
      </form>
    </>
  );
}

/** Sign-in providers linked to the account: link another (through the provider) or unlink one. */
export function SignInProviders({ me }: { me: Me }) {
  const state = useLoad(() => api<{ identities: LinkedIdentity[] }>('GET', '/api/auth/oidc/identities'), []);
  const providers = useLoad(
    () => api<{ providers: Array<{ name: string; displayName: string }> }>('GET', '/api/auth/oidc/providers'),
    [],
  );
  const re = useReauth(me.totpEnabled);
  const { busy, error, run } = useSubmit(re.clear);
  const [target, setTarget] = useState('');
  const unlink = async (i: LinkedIdentity) => {
    const ok = await run(() =>
      api('DELETE', `/api/auth/oidc/identities/${encodeURIComponent(i.id)}`, re.body()).then(() => true),
    );
    if (ok) await state.reload();
  };
  const link = async (e: FormEvent) => {
    e.preventDefault();
    const r = await run(() =>
      api<{ authorizationUrl: string }>(
        'POST',
        `/api/auth/oidc/${encodeURIComponent(target)}/start`,
        { link: true, ...re.body() },
        { withCookies: true },
      ),
    );
    if (r) window.location.assign(r.authorizationUrl);
  };
  const available = providers.data?.providers ?? [];
  if (available.length === 0 && (state.data?.identities.length ?? 0) === 0) return null;
  return (
    <form onSubmit={link} aria-label="Sign-in providers">
      <h2>Sign-in providers</h2>
      <p className="muted">
        Linking and unlinking need your password (and code). You return here signed in after linking.
      </p>
      <ListTable
        state={state}
        items={(d) => d.identities}
        empty={<>No sign-in provider is linked.</>}
        caption="Linked sign-in providers"
        columns={['Provider', 'E-mail', 'Linked', 'Last used', '']}
        row={(i) => (
          <tr key={i.id}>
            <td>{i.displayName}</td>
            <td>{i.email ?? '—'}</td>
            <td>{when(i.createdAt)}</td>
            <td>{i.lastLoginAt ? when(i.lastLoginAt) : 'never'}</td>
            <td>
              <DangerButton onClick={() => unlink(i)} disabled={busy} label={`Unlink ${i.displayName}`}>
                Unlink
              </DangerButton>
            </td>
          </tr>
        )}
      />
      {re.fields}
      {available.length > 0 ? (
        <div className="field">
          <label htmlFor="link-provider">Provider to link</label>
          <select id="link-provider" value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">Choose…</option>
            {available.map((p) => (
              <option key={p.name} value={p.name}>
                {p.displayName}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <ErrorNote error={error} />
      {available.length > 0 ? (
        <button type="submit" disabled={busy || !target}>
          Link provider
        </button>
      ) : null}
    </form>
  );
}

/** GDPR erasure: typed confirmation; a sole owner of an org with other members is told what to do first. */
export function DeleteAccount({ me }: { me: Me }) {
  const re = useReauth(me.totpEnabled);
  const [confirm, setConfirm] = useState('');
  const { busy, error, run } = useSubmit(re.clear);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await run(
      () => api('DELETE', '/api/me', { ...re.body(), confirm }).then(() => true),
      (err) => {
        const orgs =
          err instanceof ApiError ? (err.details.orgs as Array<{ name: string }> | undefined) : undefined;
        return orgs?.length
          ? `${err instanceof Error ? err.message : ''} (${orgs.map((o) => o.name).join(', ')})`
          : null;
      },
    );
    if (r) {
      session.set(null);
      navigate('/login', true);
    }
  };
  const matches = confirm.trim().toLowerCase() === me.email.toLowerCase();
  return (
    <form onSubmit={submit} aria-label="Delete account" className="danger-zone">
      <h2>Delete account</h2>
      <p>
        This erases your account: your memberships, credentials, sessions and linked providers. Organisations
        where you are the only member are deleted with all their data. You cannot undo it. If you are the only
        owner of an organisation with other members, make another member owner or delete the organisation
        first.
      </p>
      {re.fields}
      <Field
        label={`Type ${me.email} to confirm`}
        value={confirm}
        onChange={setConfirm}
        autoComplete="off"
        required
      />
      <ErrorNote error={error} />
      <button type="submit" className="danger" disabled={busy || !matches}>
        Delete my account
      </button>
    </form>
  );
}
