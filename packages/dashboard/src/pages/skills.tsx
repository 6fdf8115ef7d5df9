import { type ChangeEvent, type FormEvent, useId, useState } from 'react';
import { api, orgPath } from '../api';
import { can, type Role } from '../permissions';
import {
  DangerButton,
  ErrorNote,
  Field,
  Loaded,
  LoadedList,
  Page,
  RevealOnce,
  Table,
  TextArea,
  useAction,
  useLoad,
  when,
} from '../ui';

/**
 * Skill packages: what is published (with signature status), the signing keys the org trusts, runtime tokens
 * for the machines that sync, and the compact telemetry those runtimes report.
 */

type Signature = 'valid' | 'key_revoked';
interface Version {
  version: number;
  sha256: string;
  sizeBytes: number;
  fileCount: number;
  keyId: string;
  signature: Signature;
  createdAt: string;
}
interface Skill {
  name: string;
  versions: number;
  latest: Version;
}
interface SigningKey {
  id: string;
  name: string;
  keyId: string;
  publicKey: string;
  createdAt: string;
  revokedAt: string | null;
}
interface RuntimeToken {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}
type Outcome = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
interface TelemetryEvent {
  id: string;
  receivedAt: string;
  occurredAt: string;
  skill: string;
  version: number;
  stepsTotal: number;
  stepsOk: number;
  stepsFailed: number;
  durationMs: number;
  outcome: Outcome;
  errorCode: string | null;
  runtimeVersion: string;
  runtimeTokenId: string;
}

const size = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1024 / 1024).toFixed(1)} MiB`;
const duration = (ms: number) =>
  ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;

function SignatureBadge({ signature }: { signature: Signature }) {
  return (
    <span className={`status status-${signature}`}>
      {signature === 'valid' ? 'valid signature' : 'signing key revoked'}
    </span>
  );
}

/** Reads a local file as text in the browser (the public key goes to the server as text). */
function readAsText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'));
    reader.readAsText(file);
  });
}

// ---------------------------------------------------------------------------------------------------------

function Versions(props: { orgId: string; name: string; version: number; onClose: () => void }) {
  const { orgId, name, onClose } = props;
  const state = useLoad(
    () =>
      api<{ name: string; versions: Version[] }>(
        'GET',
        orgPath(orgId, `/skills/${encodeURIComponent(name)}`),
      ),
    [orgId, name, props.version],
  );
  return (
    <section className="panel" aria-labelledby="versions-title" data-testid="skill-versions">
      <div className="page-head">
        <h3 id="versions-title">Versions of {name}</h3>
        <button type="button" className="link" onClick={onClose}>
          Close
        </button>
      </div>
      <Loaded state={state}>
        {({ versions }) => (
          <Table
            caption={`Versions of ${name}, newest first`}
            columns={['Version', 'Signature', 'Signing key', 'Files', 'Size', 'SHA-256', 'Published']}
          >
            {versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>
                  <SignatureBadge signature={v.signature} />
                </td>
                <td>
                  <code>{v.keyId.slice(0, 16)}</code>
                </td>
                <td>{v.fileCount}</td>
                <td>{size(v.sizeBytes)}</td>
                <td>
                  <code className="meta" title={v.sha256}>
                    {v.sha256.slice(0, 16)}…
                  </code>
                </td>
                <td>{when(v.createdAt)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Loaded>
    </section>
  );
}

function Packages({ orgId, version }: { orgId: string; version: number }) {
  const state = useLoad(() => api<{ skills: Skill[] }>('GET', orgPath(orgId, '/skills')), [orgId, version]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="skills-title">
      <div className="page-head">
        <h2 id="skills-title">Packages</h2>
        <button type="button" onClick={() => state.reload()}>
          Refresh packages
        </button>
      </div>
      <p className="muted">
        Published with <code>rampart pack</code> and <code>rampart publish</code>; runtimes sync only versions
        signed by a key that is not revoked.
      </p>
      <LoadedList state={state} items={(d) => d.skills} empty="No skill packages published yet.">
        {(skills) => (
          <Table
            testId="skills-table"
            caption="Skill packages"
            columns={['Skill', 'Latest', 'Versions', 'Signature', 'Published']}
          >
            {skills.map((s) => (
              <tr key={s.name}>
                <td>
                  <button
                    type="button"
                    className="link"
                    onClick={() => setOpen(s.name)}
                    aria-label={`Show versions of ${s.name}`}
                  >
                    {s.name}
                  </button>
                </td>
                <td>v{s.latest.version}</td>
                <td>{s.versions}</td>
                <td>
                  <SignatureBadge signature={s.latest.signature} />
                </td>
                <td>{when(s.latest.createdAt)}</td>
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
      {open ? (
        <Versions key={open} orgId={orgId} name={open} version={version} onClose={() => setOpen(null)} />
      ) : null}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------

function SigningKeys({ orgId, role, onChanged }: { orgId: string; role: Role; onChanged: () => void }) {
  const state = useLoad(() => api<{ keys: SigningKey[] }>('GET', orgPath(orgId, '/signing-keys')), [orgId]);
  const manage = can(role, 'signing_keys.manage');
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const fileId = useId();
  const { busy, error, setError, act } = useAction();

  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.target;
    const file = input.files?.[0];
    if (!file) return;
    try {
      const text = await readAsText(file);
      if (/PRIVATE KEY/.test(text)) {
        setError(
          `${file.name} is a private key. Choose the .pub file: the private key never leaves your machine.`,
        );
        return;
      }
      setPublicKey(text.trim());
      if (!name) setName(file.name.replace(/\.pub$/, ''));
      setError(null);
    } catch {
      setError(`${file.name} could not be read.`);
    } finally {
      // The text is in the form now; the picker is emptied so the same file can be chosen again.
      input.value = '';
    }
  };
  const register = async (e: FormEvent) => {
    e.preventDefault();
    setAdded(null);
    if (/PRIVATE KEY/.test(publicKey)) {
      setPublicKey('');
      setError('That is a private key. Paste the public key (the .pub file) instead.');
      return;
    }
    const r = await act(() =>
      api<SigningKey>('POST', orgPath(orgId, '/signing-keys'), {
        name: name.trim() || 'signing key',
        publicKey: publicKey.trim(),
      }),
    );
    if (r) {
      setAdded(`Registered “${r.name}” (key id ${r.keyId.slice(0, 16)}).`);
      setName('');
      setPublicKey('');
      await state.reload();
    }
  };
  const revoke = async (k: SigningKey) => {
    if (
      !window.confirm(
        `Revoke "${k.name}"? Packages it signed are no longer offered to runtimes. This cannot be undone.`,
      )
    )
      return;
    await act(() => api('DELETE', orgPath(orgId, `/signing-keys/${k.id}`)));
    await state.reload();
    onChanged();
  };

  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Signing keys</h2>
      {manage ? (
        <form onSubmit={register} className="panel" aria-label="Register a signing key">
          <p className="muted">
            Create a pair with <code>rampart keys generate --out signing.key</code> and register{' '}
            <code>signing.key.pub</code>. Keep the private key in your CI secret store.
          </p>
          <div className="grid2">
            <Field label="Key name" value={name} onChange={setName} placeholder="ci" />
            <div className="field">
              <label htmlFor={fileId}>Read a .pub file</label>
              <input id={fileId} type="file" accept=".pub,.pem,text/plain" onChange={pick} />
            </div>
          </div>
          <TextArea
            label="Public key"
            value={publicKey}
            onChange={setPublicKey}
            rows={4}
            required
            spellCheck={false}
            placeholder={'-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----'}
            hint="Ed25519, as PEM or the raw 32 bytes in base64."
          />
          <button type="submit" className="primary" disabled={busy}>
            Register key
          </button>
          {added ? (
            <p role="status" className="ok">
              {added}
            </p>
          ) : null}
        </form>
      ) : null}
      <ErrorNote error={error} />
      <LoadedList state={state} items={(d) => d.keys} empty="No signing keys registered.">
        {(keys) => (
          <Table
            testId="signing-keys-table"
            caption="Signing keys"
            columns={['Name', 'Key id', 'Registered', 'Status', manage && 'Actions']}
          >
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code title={k.keyId}>{k.keyId.slice(0, 16)}</code>
                </td>
                <td>{when(k.createdAt)}</td>
                <td>
                  {k.revokedAt ? (
                    <span className="status status-key_revoked">revoked {when(k.revokedAt)}</span>
                  ) : (
                    <span className="status status-valid">trusted</span>
                  )}
                </td>
                {manage ? (
                  <td>
                    {k.revokedAt ? null : (
                      <DangerButton onClick={() => revoke(k)} label={`Revoke signing key ${k.name}`}>
                        Revoke
                      </DangerButton>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------

function RuntimeTokens({ orgId }: { orgId: string }) {
  const state = useLoad(
    () => api<{ tokens: RuntimeToken[] }>('GET', orgPath(orgId, '/runtime-tokens')),
    [orgId],
  );
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() =>
      api<{ id: string; token: string; prefix: string }>('POST', orgPath(orgId, '/runtime-tokens'), {
        name: name.trim(),
      }),
    );
    if (r) {
      setCreated(r.token);
      setName('');
      await state.reload();
    }
  };
  const revoke = async (t: RuntimeToken) => {
    if (!window.confirm(`Revoke "${t.name}"? That runtime can no longer sync or report.`)) return;
    await act(() => api('DELETE', orgPath(orgId, `/runtime-tokens/${t.id}`)));
    await state.reload();
  };
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Runtime tokens</h2>
      <p className="muted">
        One per runtime machine, for <code>rampart runtime sync</code>: it may sync this organization’s skills
        and report telemetry, nothing else.
      </p>
      {created ? (
        <RevealOnce title="Your new runtime token" value={created} onDone={() => setCreated(null)} />
      ) : null}
      <form onSubmit={create} className="inline" aria-label="Create a runtime token">
        <Field label="Token name" value={name} onChange={setName} required placeholder="ops laptop" />
        <button type="submit" className="primary" disabled={busy}>
          Create token
        </button>
      </form>
      <ErrorNote error={error} />
      <LoadedList state={state} items={(d) => d.tokens} empty="No runtime tokens.">
        {(tokens) => (
          <Table
            testId="runtime-tokens-table"
            caption="Runtime tokens"
            columns={['Name', 'Token', 'Created', 'Last used', 'Actions']}
          >
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>rt_live_{t.prefix}…</code>
                </td>
                <td>{when(t.createdAt)}</td>
                <td>{t.lastUsedAt ? when(t.lastUsedAt) : 'never'}</td>
                <td>
                  <DangerButton onClick={() => revoke(t)} label={`Revoke runtime token ${t.name}`}>
                    Revoke
                  </DangerButton>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------

function Telemetry({ orgId }: { orgId: string }) {
  const state = useLoad(
    () => api<{ events: TelemetryEvent[] }>('GET', orgPath(orgId, '/runtime-telemetry?limit=50')),
    [orgId],
  );
  return (
    <section aria-labelledby="telemetry-title">
      <div className="page-head">
        <h2 id="telemetry-title">Recent runtime telemetry</h2>
        <button type="button" onClick={() => state.reload()}>
          Refresh telemetry
        </button>
      </div>
      <p className="muted">Numbers, outcomes and error codes only: runtimes never send page content.</p>
      <LoadedList state={state} items={(d) => d.events} empty="No runs reported yet.">
        {(events) => (
          <Table
            testId="telemetry-table"
            caption="Runtime telemetry, newest first"
            columns={[
              'When',
              'Skill',
              'Outcome',
              'Steps (ok / failed / total)',
              'Duration',
              'Error code',
              'Runtime',
            ]}
          >
            {events.map((e) => (
              <tr key={e.id}>
                <td>{when(e.occurredAt)}</td>
                <td>
                  {e.skill} v{e.version}
                </td>
                <td>
                  <span className={`status status-${e.outcome}`}>{e.outcome.replace('_', ' ')}</span>
                </td>
                <td>
                  {e.stepsOk} / {e.stepsFailed} / {e.stepsTotal}
                </td>
                <td>{duration(e.durationMs)}</td>
                <td>{e.errorCode ? <code>{e.errorCode}</code> : '—'}</td>
                <td>{e.runtimeVersion}</td>
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </section>
  );
}

export function Skills({ orgId, role }: { orgId: string; role: Role }) {
  // Revoking a key changes the packages' signature status: the list reloads.
  const [version, setVersion] = useState(0);
  return (
    <Page title="Skills">
      <Packages orgId={orgId} version={version} />
      <SigningKeys orgId={orgId} role={role} onChanged={() => setVersion((v) => v + 1)} />
      {can(role, 'runtime_tokens.manage') ? <RuntimeTokens orgId={orgId} /> : null}
      <Telemetry orgId={orgId} />
    </Page>
  );
}
