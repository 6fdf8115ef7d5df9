import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../../api';
import { Submit } from '../../components/fields';
import { DangerCell, ListTable } from '../../components/list-table';
import { TextFileInput } from '../../components/text-file';
import { can, type Role } from '../../permissions';
import { ErrorNote, Field, TextArea, useAction, useLoad, when } from '../../ui';
import type { SigningKey } from './model';

/** The Ed25519 public keys the org trusts to sign packages: register (pasted or read from a .pub), revoke. */
export function SigningKeys({
  orgId,
  role,
  onChanged,
}: {
  orgId: string;
  role: Role;
  onChanged: () => void;
}) {
  const state = useLoad(() => api<{ keys: SigningKey[] }>('GET', orgPath(orgId, '/signing-keys')), [orgId]);
  const manage = can(role, 'signing_keys.manage');
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const { busy, error, setError, act } = useAction();

  const read = (text: string, file: File) => {
    if (/PRIVATE KEY/.test(text)) {
      setError(
        `${file.name} is a private key. Choose the .pub file: the private key never leaves your machine.`,
      );
      return;
    }
    setPublicKey(text.trim());
    if (!name) setName(file.name.replace(/\.pub$/, ''));
    setError(null);
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
            <TextFileInput
              label="Read a .pub file"
              accept=".pub,.pem,text/plain"
              onText={read}
              onUnreadable={(file) => setError(`${file.name} could not be read.`)}
            />
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
          <Submit busy={busy} done={added}>
            Register key
          </Submit>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.keys}
        empty="No signing keys registered."
        testId="signing-keys-table"
        caption="Signing keys"
        columns={['Name', 'Key id', 'Registered', 'Status', manage && 'Actions']}
        row={(k) => (
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
            <DangerCell
              show={manage}
              offer={!k.revokedAt}
              onClick={() => revoke(k)}
              label={`Revoke signing key ${k.name}`}
              confirm={`Revoke "${k.name}"? Packages it signed are no longer offered to runtimes. This cannot be undone.`}
            >
              Revoke
            </DangerCell>
          </tr>
        )}
      />
    </section>
  );
}
