import { type FormEvent, useId, useState } from 'react';
import { api, orgPath } from '../../api';
import { SaveOrCancel } from '../../components/fields';
import {
  Check,
  DangerButton,
  type EditorProps,
  ErrorNote,
  Field,
  NumberField,
  Select,
  SuggestField,
  TextArea,
  useAction,
} from '../../ui';
import { MaskedHeaders } from './detail';
import {
  type AuthChoice,
  type Draft,
  draftOf,
  emptyDraft,
  type HeaderRow,
  hasBody,
  newRow,
  payload,
} from './draft';
import { type Channel, describeCron, fromNow, inZone, type Job, METHODS, PRESETS, TIMEZONES } from './model';

/** The numeric behaviour fields: draft key, label, hint. */
const BEHAVIOUR = [
  ['timeoutMs', 'Timeout per attempt (ms)', '100 to 120000.'],
  ['retries', 'Retries', 'Extra attempts on 5xx, timeouts and network errors (0 to 10).'],
  ['retentionDays', 'Keep history (days)', "Empty: the organization's retention setting."],
] as const;

/** The job form (create and edit), with the cron helper and header rows whose values are typed once. */
export function JobForm(props: EditorProps<Job> & { job: Job | null; channels: Channel[] }) {
  const editing = props.job !== null;
  const [d, setD] = useState<Draft>(() => (props.job ? draftOf(props.job) : emptyDraft()));
  const { busy, error, act } = useAction();
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }));
  const cron = describeCron(d.schedule);
  const scheduleId = useId();

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const body = payload(d, editing);
    const r = await act(() =>
      props.job
        ? api<Job>('PATCH', orgPath(props.orgId, `/jobs/${props.job.id}`), body)
        : api<Job>('POST', orgPath(props.orgId, '/jobs'), body),
    );
    // Secret values leave the page's state whether or not the save worked: they are typed once.
    setD((prev) => ({ ...prev, authValue: '', headers: prev.headers.map((h) => ({ ...h, value: '' })) }));
    if (r) props.onSaved(r);
  };

  const stored = props.job;
  // The server's fire times for the saved job, while the draft still has its schedule and zone.
  const unchanged =
    stored !== null &&
    d.schedule.trim().split(/\s+/).join(' ') === stored.schedule &&
    d.timezone.trim() === stored.timezone;
  const savedRuns = unchanged ? (stored.upcoming ?? []).slice(0, 3) : [];
  const authOptions: ReadonlyArray<readonly [AuthChoice, string]> = [
    ...(stored?.auth ? ([['keep', `Keep the stored ${stored.auth.type} value`]] as const) : []),
    ['none', 'None'],
    ['bearer', 'Bearer token'],
    ['basic', 'Basic (user:password)'],
  ];

  return (
    <form
      onSubmit={save}
      className="panel"
      aria-label={editing ? `Edit job ${stored?.name}` : 'Create a job'}
    >
      <h2>{editing ? `Edit “${stored?.name}”` : 'New job'}</h2>
      <fieldset disabled={busy}>
        <legend>What and when</legend>
        <div className="grid2">
          <Field label="Job name" value={d.name} onChange={(v) => set('name', v)} required />
          <Select
            label="Common schedules"
            value={PRESETS.some(([p]) => p === d.schedule) ? d.schedule : ''}
            options={PRESETS}
            onChange={(v) => {
              if (v) set('schedule', v);
            }}
          />
          <div className="field">
            <label htmlFor={scheduleId}>Schedule (cron)</label>
            <input
              id={scheduleId}
              value={d.schedule}
              onChange={(e) => set('schedule', e.target.value)}
              required
              spellCheck={false}
              autoComplete="off"
              aria-describedby={`${scheduleId}-words ${scheduleId}-fields`}
              aria-invalid={!cron.ok}
            />
            <small id={`${scheduleId}-fields`} className="hint">
              minute · hour · day of month · month · day of week
            </small>
            <output
              id={`${scheduleId}-words`}
              className={cron.ok ? 'cron-words' : 'error'}
              data-testid="cron-words"
            >
              {cron.text}
            </output>
            {savedRuns.length ? (
              <small className="hint" data-testid="saved-next-runs">
                Saved schedule, next:{' '}
                {savedRuns.map((t) => `${inZone(t, d.timezone)} (${fromNow(t)})`).join('; ')}
              </small>
            ) : null}
          </div>
          <SuggestField
            label="Time zone"
            value={d.timezone}
            onChange={(v) => set('timezone', v)}
            suggestions={TIMEZONES}
            hint="The schedule is read in this zone (IANA name, e.g. Europe/Berlin or UTC)."
          />
          <Check label="Enabled" checked={d.enabled} onChange={(v) => set('enabled', v)} />
        </div>
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Request</legend>
        <div className="grid2">
          <Field
            label="URL"
            type="url"
            value={d.url}
            onChange={(v) => set('url', v)}
            required
            placeholder="https://api.example.com/hooks/nightly"
          />
          <Select
            label="Method"
            value={d.method}
            options={METHODS.map((m) => [m, m])}
            onChange={(v) => set('method', v)}
          />
        </div>
        <HeaderFields d={d} set={set} stored={stored?.headers ?? null} />
        <div className="grid2">
          <Select
            label="Authentication"
            value={d.auth}
            options={authOptions}
            onChange={(v) => set('auth', v)}
          />
          {d.auth === 'bearer' || d.auth === 'basic' ? (
            <Field
              label={d.auth === 'basic' ? 'Basic credentials (user:password)' : 'Bearer token'}
              type="password"
              value={d.authValue}
              onChange={(v) => set('authValue', v)}
              required
              autoComplete="off"
              hint="Sealed on the server and shown masked from now on; env:NAME uses a server variable."
            />
          ) : null}
        </div>
        <TextArea
          label="Body"
          value={hasBody(d.method) ? d.body : ''}
          onChange={(v) => set('body', v)}
          disabled={!hasBody(d.method)}
          hint={
            hasBody(d.method)
              ? 'Sent as JSON when it parses as JSON, else as text. Up to 64 KiB.'
              : `${d.method} requests have no body.`
          }
        />
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Behaviour</legend>
        <div className="grid2">
          {BEHAVIOUR.map(([key, label, hint]) => (
            <NumberField key={key} label={label} value={d[key]} onChange={(v) => set(key, v)} hint={hint} />
          ))}
          <Check
            label="Store the start of each response"
            checked={d.storeResponse}
            onChange={(v) => set('storeResponse', v)}
            hint="First 2 KB, with secrets and PII redacted."
          />
        </div>
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Alerts</legend>
        {props.channels.length === 0 ? (
          <p className="muted">No alert channels yet: add one below to be told when this job fails.</p>
        ) : (
          <>
            {props.channels.map((c) => (
              <Check
                key={c.id}
                label={`${c.name} (${c.type})`}
                checked={d.alertChannelIds.includes(c.id)}
                onChange={(on) =>
                  set(
                    'alertChannelIds',
                    on ? [...d.alertChannelIds, c.id] : d.alertChannelIds.filter((x) => x !== c.id),
                  )
                }
              />
            ))}
            <NumberField
              label="Alert after this many failures in a row"
              value={d.alertAfter}
              onChange={(v) => set('alertAfter', v)}
            />
          </>
        )}
      </fieldset>

      <ErrorNote error={error} />
      <SaveOrCancel busy={busy} disabled={!cron.ok} onCancel={props.onCancel}>
        {editing ? 'Save changes' : 'Create job'}
      </SaveOrCancel>
    </form>
  );
}

function HeaderFields(props: {
  d: Draft;
  set: <K extends keyof Draft>(k: K, v: Draft[K]) => void;
  stored: Record<string, string> | null;
}) {
  const { d, set, stored } = props;
  const storedNames = stored ? Object.keys(stored) : [];
  if (stored && !d.replaceHeaders)
    return (
      <div className="field">
        <p className="label">Headers</p>
        {storedNames.length === 0 ? <p className="muted">No headers.</p> : <MaskedHeaders headers={stored} />}
        <div className="row">
          <button
            type="button"
            onClick={() => {
              set('replaceHeaders', true);
              set('headers', storedNames.length ? storedNames.map((n) => newRow(n)) : [newRow()]);
            }}
          >
            {storedNames.length ? 'Replace headers' : 'Add headers'}
          </button>
          <small className="hint">
            Stored values cannot be read back: replacing means typing every value again.
          </small>
        </div>
      </div>
    );
  const update = (key: number, patch: Partial<HeaderRow>) =>
    set(
      'headers',
      d.headers.map((h) => (h.key === key ? { ...h, ...patch } : h)),
    );
  return (
    <fieldset className="headers">
      <legend>Headers</legend>
      {d.headers.length === 0 ? <p className="muted">No headers.</p> : null}
      {d.headers.map((h, i) => (
        <div className="row header-row" key={h.key}>
          <Field
            label={`Header ${i + 1} name`}
            value={h.name}
            onChange={(name) => update(h.key, { name })}
            placeholder="X-Api-Key"
            autoComplete="off"
          />
          <Field
            label={`Header ${i + 1} value`}
            type="password"
            value={h.value}
            onChange={(value) => update(h.key, { value })}
            autoComplete="off"
          />
          <DangerButton
            onClick={() =>
              set(
                'headers',
                d.headers.filter((x) => x.key !== h.key),
              )
            }
            label={`Remove header ${i + 1}`}
          >
            Remove
          </DangerButton>
        </div>
      ))}
      <div className="row">
        <button type="button" onClick={() => set('headers', [...d.headers, newRow()])}>
          Add header
        </button>
        <small className="hint">
          Values are sealed on the server and shown masked after saving; env:NAME is allowed.
        </small>
      </div>
    </fieldset>
  );
}
