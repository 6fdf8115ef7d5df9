import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../../api';
import { SecretField, Submit } from '../../components/fields';
import { DangerCell, ListTable } from '../../components/list-table';
import { can, type Role } from '../../permissions';
import { ErrorNote, Field, RevealOnce, Select, useAction, type useLoad, when } from '../../ui';
import type { Channel, ChannelType } from './model';

/** The alert channels failing jobs report to: signed webhook, Slack, Microsoft Teams or e-mail. */

const CHANNEL_TYPES = [
  ['webhook', 'Webhook'],
  ['slack', 'Slack'],
  ['teams', 'Microsoft Teams'],
  ['email', 'E-mail'],
] as const;

function channelTarget(c: Channel): string {
  if (c.type === 'webhook') return String(c.config.url ?? '');
  if (c.type === 'slack' || c.type === 'teams') return String(c.config.webhookUrl ?? '');
  return Array.isArray(c.config.to) ? c.config.to.join(', ') : '';
}

export function AlertChannels(props: {
  orgId: string;
  role: Role;
  state: ReturnType<typeof useLoad<{ channels: Channel[] }>>;
}) {
  const { orgId, role, state } = props;
  const write = can(role, 'alerts.write');
  const [type, setType] = useState<ChannelType>('webhook');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [slackUrl, setSlackUrl] = useState('');
  const [to, setTo] = useState('');
  const [revealed, setRevealed] = useState<string | null>(null);
  const { busy, error, act } = useAction();

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const config =
      type === 'webhook'
        ? { url: url.trim(), ...(secret ? { secret } : {}) }
        : type === 'slack' || type === 'teams'
          ? { webhookUrl: slackUrl.trim() }
          : {
              to: to
                .split(/[\s,;]+/)
                .map((s) => s.trim())
                .filter(Boolean),
            };
    const r = await act(() =>
      api<Channel & { secret?: string }>('POST', orgPath(orgId, '/alert-channels'), { type, name, config }),
    );
    // Secret fields are typed once: cleared whatever happened.
    setSecret('');
    setSlackUrl('');
    if (r) {
      if (r.secret) setRevealed(r.secret);
      setName('');
      setUrl('');
      setTo('');
      await state.reload();
    }
  };
  const remove = async (c: Channel) => {
    await act(() => api('DELETE', orgPath(orgId, `/alert-channels/${c.id}`)));
    await state.reload();
  };

  return (
    <section aria-labelledby="channels-title">
      <h2 id="channels-title">Alert channels</h2>
      <p className="muted">
        Where failing jobs report: a signed webhook, a Slack or Microsoft Teams incoming webhook, or e-mail.
      </p>
      {revealed ? (
        <RevealOnce title="The webhook signing secret" value={revealed} onDone={() => setRevealed(null)} />
      ) : null}
      {write ? (
        <form onSubmit={create} className="inline" aria-label="Add an alert channel">
          <Select label="Channel type" value={type} onChange={setType} options={CHANNEL_TYPES} />
          <Field label="Channel name" value={name} onChange={setName} required placeholder="on-call" />
          {type === 'webhook' ? (
            <>
              <Field
                label="Webhook URL"
                type="url"
                value={url}
                onChange={setUrl}
                required
                placeholder="https://hooks.example.com/rampart"
              />
              <Field
                label="Signing secret (optional)"
                type="password"
                value={secret}
                onChange={setSecret}
                autoComplete="off"
                placeholder="whsec_…"
                hint="Leave empty and one is generated and shown once."
              />
            </>
          ) : type === 'slack' || type === 'teams' ? (
            <SecretField
              label={type === 'slack' ? 'Slack webhook URL' : 'Teams webhook URL'}
              value={slackUrl}
              onChange={setSlackUrl}
              hint="The URL is the credential: sealed, then shown masked."
            />
          ) : (
            <Field
              label="Recipients"
              value={to}
              onChange={setTo}
              required
              placeholder="ops@example.com, oncall@example.com"
            />
          )}
          <Submit busy={busy}>Add channel</Submit>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.channels}
        empty={<>No alert channels.{write ? ' Add one so failing jobs reach someone.' : ''}</>}
        testId="channels-table"
        caption="Alert channels"
        columns={['Name', 'Type', 'Destination', 'Secret', 'Created', write && 'Actions']}
        row={(c) => (
          <tr key={c.id}>
            <td>{c.name}</td>
            <td>{c.type}</td>
            <td>
              <code className="meta">{channelTarget(c)}</code>
            </td>
            <td>{c.type === 'webhook' ? <code>{String(c.config.secret ?? '—')}</code> : '—'}</td>
            <td>{when(c.createdAt)}</td>
            <DangerCell
              show={write}
              confirm={`Delete the alert channel "${c.name}"? Jobs stop alerting it.`}
              onClick={() => remove(c)}
              label={`Delete channel ${c.name}`}
            >
              Delete
            </DangerCell>
          </tr>
        )}
      />
    </section>
  );
}
