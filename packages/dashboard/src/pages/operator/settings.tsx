import { type FormEvent, useState } from 'react';
import { api } from '../../api';
import { ListTable } from '../../components/list-table';
import { DangerButton, ErrorNote, OkNote, Page, useAction, useLoad, when } from '../../ui';
import { adminPath, type PlatformSetting, type SettingSource } from './model';

const SOURCES: Record<SettingSource, { text: string; className: string }> = {
  env: { text: 'environment', className: 'status status-running' },
  database: { text: 'database', className: 'status status-ok' },
  unset: { text: 'unset', className: 'status' },
};

/**
 * Platform settings: which source is in effect for each (an environment variable wins over the database), the
 * value (secrets only masked, as the server returns them), set and clear. Secrets are typed into password
 * inputs that are emptied as soon as they are sent.
 */
export function OperatorSettings() {
  const state = useLoad(() => api<{ settings: PlatformSetting[] }>('GET', adminPath('settings')), []);
  const [done, setDone] = useState<string | null>(null);
  const { error, act } = useAction();
  const clear = async (s: PlatformSetting) => {
    setDone(null);
    const r = await act(() => api('DELETE', adminPath('settings', s.key)));
    if (r !== undefined) {
      setDone(`${s.label} is cleared from the database.`);
      await state.reload();
    }
  };
  return (
    <Page title="Platform settings">
      <p className="muted">
        A value set here takes effect on every node without a restart. When the environment variable is set it
        wins, and the source says so. Changes are audited on the platform chain (the setting's name, never its
        value).
      </p>
      <OkNote message={done} />
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d: { settings: PlatformSetting[] }) => d.settings}
        empty="No platform settings."
        caption="Platform settings"
        testId="platform-settings"
        columns={['Setting', 'Source', 'Value', 'Updated', 'Change']}
        row={(s) => (
          <tr key={s.key} data-testid={`setting-${s.key}`}>
            <td>
              {s.label}
              <br />
              <code className="small">{s.env}</code>
            </td>
            <td>
              <span className={SOURCES[s.source].className} data-testid={`source-${s.key}`}>
                {SOURCES[s.source].text}
              </span>
            </td>
            <td>
              {s.value === null ? (
                <span className="muted">—</span>
              ) : (
                <code className="meta" data-testid={`value-${s.key}`}>
                  {s.value}
                </code>
              )}
            </td>
            <td>
              {when(s.updatedAt)}
              {s.source === 'env' && s.stored ? (
                <>
                  <br />
                  <span className="muted small">stored, but the environment wins</span>
                </>
              ) : null}
            </td>
            <td>
              <SettingForm
                setting={s}
                onSaved={async () => {
                  setDone(`${s.label} is saved.`);
                  await state.reload();
                }}
              />
              {s.stored ? (
                <DangerButton
                  onClick={() => clear(s)}
                  label={`Clear ${s.label}`}
                  confirm={`Clear ${s.label} from the database?${
                    s.source === 'env' ? ' The environment variable stays in force.' : ''
                  }`}
                >
                  Clear
                </DangerButton>
              ) : null}
            </td>
          </tr>
        )}
      />
    </Page>
  );
}

function SettingForm({ setting: s, onSaved }: { setting: PlatformSetting; onSaved: () => Promise<void> }) {
  const [value, setValue] = useState('');
  const { busy, error, act } = useAction();
  const id = `setting-${s.key}-input`;
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() => api('PUT', adminPath('settings', s.key), { value }));
    if (r !== undefined) {
      setValue('');
      await onSaved();
    }
  };
  return (
    <form onSubmit={save} className="inline" aria-label={`Set ${s.label}`}>
      <div className="field">
        <label htmlFor={id} className="sr-only">
          New value for {s.label}
        </label>
        {/* The billing plan map is JSON: a multi-line field; secrets go in password inputs, never shown. */}
        {s.key === 'billing_plans' ? (
          <textarea
            id={id}
            value={value}
            rows={3}
            required
            spellCheck={false}
            placeholder='{"pro": {"variantId": "…"}}'
            onChange={(e) => setValue(e.target.value)}
          />
        ) : (
          <input
            id={id}
            type={s.secret ? 'password' : 'text'}
            autoComplete={s.secret ? 'new-password' : 'off'}
            value={value}
            required
            placeholder={s.secret ? 'new secret value' : 'new value'}
            onChange={(e) => setValue(e.target.value)}
          />
        )}
      </div>
      <button type="submit" disabled={busy || value === ''} aria-label={`Save ${s.label}`}>
        Save
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
