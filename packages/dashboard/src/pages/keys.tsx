import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../api';
import { can, type Role } from '../permissions';
import {
  DangerButton,
  ErrorNote,
  Field,
  LoadedList,
  Page,
  RevealOnce,
  Select,
  Table,
  useAction,
  useLoad,
  when,
} from '../ui';

interface Key {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  redaction: 'inherit' | 'on' | 'off';
  region: string | null;
}

export function ApiKeys({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(() => api<{ keys: Key[] }>('GET', orgPath(orgId, '/api-keys')), [orgId]);
  const [name, setName] = useState('');
  const [redaction, setRedaction] = useState<'inherit' | 'on' | 'off'>('inherit');
  const [created, setCreated] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const manage = can(role, 'apikeys.manage');

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() => api<{ key: string }>('POST', orgPath(orgId, '/api-keys'), { name, redaction }));
    if (r) {
      setCreated(r.key);
      setName('');
      await state.reload();
    }
  };
  const revoke = async (k: Key) => {
    if (!window.confirm(`Revoke "${k.name}"? Programs using it stop working at once.`)) return;
    await act(() => api('DELETE', orgPath(orgId, `/api-keys/${k.id}`)));
    await state.reload();
  };

  return (
    <Page title="API keys">
      {created ? (
        <RevealOnce title="Your new API key" value={created} onDone={() => setCreated(null)} />
      ) : null}
      {manage ? (
        <form onSubmit={create} className="inline" aria-label="Create API key">
          <Field
            label="Key name"
            value={name}
            onChange={setName}
            required
            placeholder="e.g. production backend"
          />
          <Select
            label="PII redaction"
            value={redaction}
            onChange={setRedaction}
            options={[
              ['inherit', 'Org setting'],
              ['on', 'Always on'],
              ['off', 'Off'],
            ]}
          />
          <button type="submit" className="primary" disabled={busy}>
            Create key
          </button>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <LoadedList
        state={state}
        items={(d) => d.keys}
        empty={
          <>No API keys yet.{manage ? ' Create one to call the gateway or the API from your code.' : ''}</>
        }
      >
        {(keys) => (
          <Table caption="API keys" columns={['Name', 'Key', 'Created', 'Last used', manage && 'Actions']}>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>rk_live_{k.prefix}…</code>
                </td>
                <td>{when(k.createdAt)}</td>
                <td>{k.lastUsedAt ? when(k.lastUsedAt) : 'never'}</td>
                {manage ? (
                  <td>
                    <DangerButton onClick={() => revoke(k)} label={`Revoke ${k.name}`}>
                      Revoke
                    </DangerButton>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </Page>
  );
}
