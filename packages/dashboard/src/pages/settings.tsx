import type {
  ModelProvider as Provider,
  SecretSummary as Secret,
  OrgSettings as Settings,
} from '@rampart/server/api-types';
import { type FormEvent, useEffect, useState } from 'react';
import { api, orgPath } from '../api';
import { SecretField, Submit } from '../components/fields';
import { ListTable } from '../components/list-table';
import { can, type Role } from '../permissions';
import { ErrorNote, Field, Loaded, Page, Select, useAction, useLoad } from '../ui';

const REDACTION_MODES = [
  ['mask', 'Mask: replace with [EMAIL], [PHONE]...'],
  ['reversible', 'Reversible: numbered placeholders, originals restored in answers'],
] as const;

const REGIONS = [
  ['us', 'United States'],
  ['eu', 'European Union'],
  ['apac', 'Asia-Pacific'],
] as const;

function SettingsForm({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(() => api<Settings>('GET', orgPath(orgId, '/settings')), [orgId]);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [saved, setSaved] = useState(false);
  const { busy, error, act } = useAction();
  useEffect(() => setDraft(state.data), [state.data]);
  const write = can(role, 'settings.write');
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft) return;
    const r = await act(() => api<Settings>('PATCH', orgPath(orgId, '/settings'), draft));
    if (r) {
      setSaved(true);
      setTimeout(() => setSaved(false), 3000);
    }
  };
  return (
    <Loaded state={state}>
      {() =>
        draft ? (
          <form onSubmit={save} aria-label="Organization settings">
            <fieldset disabled={!write || busy}>
              <legend>Organization settings</legend>
              <div className="field checkbox">
                <input
                  id="pii"
                  type="checkbox"
                  checked={draft.piiRedaction}
                  onChange={(e) => setDraft({ ...draft, piiRedaction: e.target.checked })}
                />
                <label htmlFor="pii">
                  Redact PII (e-mails, phone numbers, SSNs, card numbers) before models and logs
                </label>
              </div>
              <Select
                label="Redaction mode"
                value={draft.redactionMode}
                onChange={(redactionMode) => setDraft({ ...draft, redactionMode })}
                options={REDACTION_MODES}
              />
              <div className="field checkbox">
                <input
                  id="redact-completions"
                  type="checkbox"
                  checked={draft.redactCompletions}
                  onChange={(e) => setDraft({ ...draft, redactCompletions: e.target.checked })}
                />
                <label htmlFor="redact-completions">Redact PII in model answers too</label>
              </div>
              <Select
                label="Data region"
                value={draft.region}
                onChange={(region) => setDraft({ ...draft, region })}
                options={REGIONS}
              />
              <Field
                label="Retention (days)"
                type="number"
                value={String(draft.retentionDays)}
                onChange={(v) => setDraft({ ...draft, retentionDays: Number(v) })}
                hint="How long logs and history are kept."
              />
              {write ? (
                <button type="submit" className="primary">
                  Save settings
                </button>
              ) : (
                <p className="muted">Only owners and admins can change settings.</p>
              )}
              {saved ? (
                <span role="status" className="ok">
                  Saved
                </span>
              ) : null}
            </fieldset>
            <ErrorNote error={error} />
          </form>
        ) : null
      }
    </Loaded>
  );
}

function Secrets({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(() => api<{ secrets: Secret[] }>('GET', orgPath(orgId, '/secrets')), [orgId]);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const { busy, error, act } = useAction();
  const write = can(role, 'secrets.write');
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() => api('PUT', orgPath(orgId, `/secrets/${encodeURIComponent(name)}`), { value }));
    // The value leaves the page's state as soon as it is stored: only the masked form comes back.
    setValue('');
    if (r) {
      setName('');
      await state.reload();
    }
  };
  return (
    <section aria-labelledby="secrets-title">
      <h2 id="secrets-title">Secrets</h2>
      <p className="muted">
        Sealed at rest with AES-256-GCM; after saving, only a masked form is ever shown.
      </p>
      {write ? (
        <form onSubmit={save} className="inline" aria-label="Set a secret">
          <Field label="Secret name" value={name} onChange={setName} required placeholder="STRIPE_KEY" />
          <SecretField label="Secret value" value={value} onChange={setValue} />
          <Submit busy={busy}>Save secret</Submit>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.secrets}
        empty="No secrets stored."
        caption="Secrets"
        columns={['Name', 'Value']}
        row={(s) => (
          <tr key={s.name}>
            <td>{s.name}</td>
            <td>
              <code data-testid={`masked-${s.name}`}>{s.masked}</code>
            </td>
          </tr>
        )}
      />
    </section>
  );
}

function Providers({ orgId, role }: { orgId: string; role: Role }) {
  const readable = can(role, 'providers.read');
  const state = useLoad(
    () =>
      readable
        ? api<{ providers: Provider[] }>('GET', orgPath(orgId, '/providers'))
        : Promise.resolve({ providers: [] }),
    [orgId, readable],
  );
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Provider['kind']>('openai');
  const [baseUrl, setBaseUrl] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [models, setModels] = useState('');
  const { busy, error, act } = useAction();
  if (!readable) return null;
  const write = can(role, 'providers.write');
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() =>
      api('PUT', orgPath(orgId, `/providers/${encodeURIComponent(name)}`), {
        kind,
        baseUrl,
        apiKey,
        models: models
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean),
      }),
    );
    setApiKey('');
    if (r) {
      setName('');
      setBaseUrl('');
      setModels('');
      await state.reload();
    }
  };
  return (
    <section aria-labelledby="providers-title">
      <h2 id="providers-title">Model providers (bring your own key)</h2>
      {write ? (
        <form onSubmit={save} className="inline" aria-label="Add a provider">
          <Field label="Provider name" value={name} onChange={setName} required placeholder="openai" />
          <Select
            label="API format"
            value={kind}
            onChange={setKind}
            options={[
              ['openai', 'OpenAI (chat completions, embeddings)'],
              ['anthropic', 'Anthropic (messages)'],
            ]}
          />
          <Field
            label="Base URL"
            value={baseUrl}
            onChange={setBaseUrl}
            required
            placeholder={kind === 'anthropic' ? 'https://api.anthropic.com' : 'https://api.openai.com/v1'}
          />
          <SecretField label="Provider API key" value={apiKey} onChange={setApiKey} />
          <Field
            label="Models (comma-separated)"
            value={models}
            onChange={setModels}
            placeholder="gpt-4o-mini"
          />
          <Submit busy={busy}>Save provider</Submit>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.providers}
        empty="No providers configured."
        caption="Providers"
        columns={['Name', 'Format', 'Base URL', 'Key', 'Models']}
        row={(p) => (
          <tr key={p.name}>
            <td>{p.name}</td>
            <td>{p.kind}</td>
            <td>{p.baseUrl}</td>
            <td>
              <code>{p.apiKeyMasked}</code>
            </td>
            <td>{p.models.join(', ') || 'any'}</td>
          </tr>
        )}
      />
    </section>
  );
}

export function SettingsPage({ orgId, role }: { orgId: string; role: Role }) {
  return (
    <Page title="Settings">
      <SettingsForm orgId={orgId} role={role} />
      {can(role, 'secrets.read') ? <Secrets orgId={orgId} role={role} /> : null}
      <Providers orgId={orgId} role={role} />
    </Page>
  );
}
