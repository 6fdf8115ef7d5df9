import cronstrue from 'cronstrue';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { api, orgPath } from '../api';
import { can, type Role } from '../permissions';
import { Empty, ErrorNote, Field, Loaded, Page, RevealOnce, Select, useAction, useLoad, when } from '../ui';

/**
 * Scheduled HTTP jobs: list, create and edit (with a cron helper), run now, run history with a duration chart,
 * delete; and the alert channels jobs report failures to. Header and auth values are typed once and from then on
 * only the server's masked form is shown (the API never returns them).
 */

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
type Method = (typeof METHODS)[number];
type AuthType = 'bearer' | 'basic';

interface Job {
  id: string;
  name: string;
  schedule: string;
  timezone: string;
  url: string;
  method: Method;
  headers: Record<string, string>;
  auth: { type: AuthType; value: string } | null;
  body: string | null;
  timeoutMs: number;
  retries: number;
  storeResponse: boolean;
  retentionDays: number | null;
  alertChannelIds: string[];
  alertAfter: number;
  enabled: boolean;
  nextRunAt: string | null;
  consecutiveFailures: number;
  createdAt: string;
  updatedAt: string;
  upcoming?: string[];
}

type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';
interface Run {
  id: string;
  trigger: 'schedule' | 'manual';
  scheduledFor: string;
  startedAt: string | null;
  durationMs: number | null;
  status: RunStatus;
  httpStatus: number | null;
  attempts: number;
  error: string | null;
  snippet?: string;
}

type ChannelType = 'webhook' | 'slack' | 'teams' | 'email';
interface Channel {
  id: string;
  type: ChannelType;
  name: string;
  config: Record<string, unknown>;
  createdAt: string;
}

// ---------------------------------------------------------------------------------------------------------
// Cron in words

const PRESETS = [
  ['', 'Choose a common schedule…'],
  ['*/5 * * * *', 'Every 5 minutes'],
  ['0 * * * *', 'Every hour, on the hour'],
  ['0 9 * * *', 'Every day at 09:00'],
  ['0 9 * * 1-5', 'Weekdays at 09:00'],
  ['0 9 * * 1', 'Mondays at 09:00'],
  ['0 0 1 * *', 'The first of each month at 00:00'],
] as const;

/**
 * The 5 cron fields described in words, in the browser, for the schedule being typed. The server (croner)
 * remains the judge: saved jobs show the fire times it computes. Day-of-month and day-of-week together mean
 * either one, as in Vixie cron and on the server.
 */
export function describeCron(expression: string): { ok: boolean; text: string } {
  const trimmed = expression.trim();
  if (!trimmed) return { ok: false, text: 'Enter 5 fields: minute, hour, day of month, month, day of week.' };
  if (trimmed.startsWith('@'))
    return {
      ok: false,
      text: 'Nicknames such as @hourly are not accepted: write the 5 fields (0 * * * * is hourly).',
    };
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5)
    return {
      ok: false,
      text: `A schedule has exactly 5 fields (minute hour day-of-month month day-of-week); this has ${fields.length}.`,
    };
  try {
    const words = cronstrue.toString(fields.join(' '), {
      use24HourTimeFormat: true,
      verbose: true,
      throwExceptionOnParseError: true,
    });
    return { ok: true, text: `${words}.` };
  } catch (err) {
    const why = typeof err === 'string' ? err : err instanceof Error ? err.message : 'unreadable';
    return { ok: false, text: `Not a valid schedule: ${why.replace(/^Error:\s*/, '')}` };
  }
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
/** "in 23 minutes", "2 hours ago". */
export function fromNow(iso: string, now = Date.now()): string {
  const s = (new Date(iso).getTime() - now) / 1000;
  const a = Math.abs(s);
  if (a < 60) return rtf.format(Math.round(s), 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86_400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86_400), 'day');
}

/** A fire time as the job's time zone sees it. */
function inZone(iso: string, timeZone: string): string {
  try {
    return new Date(iso).toLocaleString(undefined, {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });
  } catch {
    return when(iso);
  }
}

const TIMEZONES: readonly string[] = (() => {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC'];
  }
})();
const browserZone = (): string => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
};

const ms = (n: number | null): string =>
  n === null ? '—' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;

// ---------------------------------------------------------------------------------------------------------
// Small form controls the shared ui module does not have

function TextArea(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  disabled?: boolean;
  rows?: number;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <textarea
        id={id}
        value={props.value}
        rows={props.rows ?? 4}
        disabled={props.disabled}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint ? (
        <small id={`${id}-hint`} className="hint">
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

function Check(props: { label: string; checked: boolean; onChange: (v: boolean) => void; hint?: string }) {
  const id = useId();
  return (
    <div className="field checkbox">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      <label htmlFor={id}>{props.label}</label>
      {props.hint ? (
        <small id={`${id}-hint`} className="hint">
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

export function StatusBadge({ status, children }: { status: string; children?: ReactNode }) {
  return <span className={`status status-${status}`}>{children ?? status.replace(/_/g, ' ')}</span>;
}

// ---------------------------------------------------------------------------------------------------------
// The job form (create and edit)

interface HeaderRow {
  key: number;
  name: string;
  value: string;
}
type AuthChoice = 'keep' | 'none' | AuthType;
interface Draft {
  name: string;
  schedule: string;
  timezone: string;
  url: string;
  method: Method;
  /** Editing only: false keeps the stored header values (the server replaces headers whole when sent). */
  replaceHeaders: boolean;
  headers: HeaderRow[];
  auth: AuthChoice;
  authValue: string;
  body: string;
  timeoutMs: string;
  retries: string;
  storeResponse: boolean;
  retentionDays: string;
  alertChannelIds: string[];
  alertAfter: string;
  enabled: boolean;
}

let rowKey = 0;
const newRow = (name = ''): HeaderRow => ({ key: ++rowKey, name, value: '' });

const emptyDraft = (): Draft => ({
  name: '',
  schedule: '0 * * * *',
  timezone: browserZone(),
  url: '',
  method: 'GET',
  replaceHeaders: true,
  headers: [],
  auth: 'none',
  authValue: '',
  body: '',
  timeoutMs: '10000',
  retries: '2',
  storeResponse: false,
  retentionDays: '',
  alertChannelIds: [],
  alertAfter: '1',
  enabled: true,
});

const draftOf = (j: Job): Draft => ({
  name: j.name,
  schedule: j.schedule,
  timezone: j.timezone,
  url: j.url,
  method: j.method,
  replaceHeaders: false,
  headers: [],
  auth: j.auth ? 'keep' : 'none',
  authValue: '',
  body: j.body ?? '',
  timeoutMs: String(j.timeoutMs),
  retries: String(j.retries),
  storeResponse: j.storeResponse,
  retentionDays: j.retentionDays === null ? '' : String(j.retentionDays),
  alertChannelIds: j.alertChannelIds,
  alertAfter: String(j.alertAfter),
  enabled: j.enabled,
});

const hasBody = (m: Method) => m !== 'GET' && m !== 'HEAD';

/** The request body for POST (everything) or PATCH (headers and auth only when the user replaces them). */
function payload(d: Draft, editing: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: d.name.trim(),
    schedule: d.schedule.trim().split(/\s+/).join(' '),
    timezone: d.timezone.trim(),
    url: d.url.trim(),
    method: d.method,
    body: hasBody(d.method) && d.body !== '' ? d.body : null,
    timeoutMs: Number(d.timeoutMs),
    retries: Number(d.retries),
    storeResponse: d.storeResponse,
    retentionDays: d.retentionDays.trim() === '' ? null : Number(d.retentionDays),
    alertChannelIds: d.alertChannelIds,
    alertAfter: Number(d.alertAfter),
    enabled: d.enabled,
  };
  if (!editing || d.replaceHeaders)
    out.headers = Object.fromEntries(
      d.headers.filter((h) => h.name.trim() !== '').map((h) => [h.name.trim(), h.value]),
    );
  if (d.auth === 'none') out.auth = null;
  else if (d.auth !== 'keep') out.auth = { type: d.auth, value: d.authValue };
  return out;
}

function JobForm(props: {
  orgId: string;
  job: Job | null;
  channels: Channel[];
  onSaved: (job: Job) => void;
  onCancel: () => void;
}) {
  const editing = props.job !== null;
  const [d, setD] = useState<Draft>(() => (props.job ? draftOf(props.job) : emptyDraft()));
  const { busy, error, act } = useAction();
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }));
  const cron = describeCron(d.schedule);
  const scheduleId = useId();
  const tzList = useId();

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
          <div className="field">
            <label htmlFor={`${tzList}-tz`}>Time zone</label>
            <input
              id={`${tzList}-tz`}
              list={tzList}
              value={d.timezone}
              onChange={(e) => set('timezone', e.target.value)}
              required
              autoComplete="off"
              aria-describedby={`${tzList}-tz-hint`}
            />
            <datalist id={tzList}>
              {TIMEZONES.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            <small id={`${tzList}-tz-hint`} className="hint">
              The schedule is read in this zone (IANA name, e.g. Europe/Berlin or UTC).
            </small>
          </div>
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
          <Field
            label="Timeout per attempt (ms)"
            type="number"
            inputMode="numeric"
            value={d.timeoutMs}
            onChange={(v) => set('timeoutMs', v)}
            hint="100 to 120000."
          />
          <Field
            label="Retries"
            type="number"
            inputMode="numeric"
            value={d.retries}
            onChange={(v) => set('retries', v)}
            hint="Extra attempts on 5xx, timeouts and network errors (0 to 10)."
          />
          <Field
            label="Keep history (days)"
            type="number"
            inputMode="numeric"
            value={d.retentionDays}
            onChange={(v) => set('retentionDays', v)}
            hint="Empty: the organization's retention setting."
          />
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
            <Field
              label="Alert after this many failures in a row"
              type="number"
              inputMode="numeric"
              value={d.alertAfter}
              onChange={(v) => set('alertAfter', v)}
            />
          </>
        )}
      </fieldset>

      <ErrorNote error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy || !cron.ok}>
          {editing ? 'Save changes' : 'Create job'}
        </button>
        <button type="button" onClick={props.onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
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
          <button
            type="button"
            className="danger"
            onClick={() =>
              set(
                'headers',
                d.headers.filter((x) => x.key !== h.key),
              )
            }
            aria-label={`Remove header ${i + 1}`}
          >
            Remove
          </button>
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

function MaskedHeaders({ headers }: { headers: Record<string, string> }) {
  return (
    <table className="compact">
      <caption className="sr-only">Headers (values masked)</caption>
      <thead>
        <tr>
          <th scope="col">Header</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(headers).map(([name, value]) => (
          <tr key={name}>
            <td>
              <code>{name}</code>
            </td>
            <td>
              <code data-testid={`header-${name}`}>{value}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// ---------------------------------------------------------------------------------------------------------
// One job: next runs, request, history

/** Durations of finished runs, oldest left, as SVG bars coloured by outcome (classes, no inline style). */
export function DurationChart({ runs }: { runs: Run[] }) {
  const titleId = useId();
  const done = runs
    .filter((r) => r.durationMs !== null)
    .slice(0, 40)
    .reverse();
  if (done.length === 0)
    return <p className="muted">No finished runs yet: the chart fills in as runs complete.</p>;
  const values = done.map((r) => r.durationMs ?? 0);
  const max = Math.max(...values, 1);
  const W = 640;
  const H = 120;
  const top = 16;
  const gap = 4;
  const bw = Math.min(36, (W - 48 - gap * (done.length - 1)) / done.length);
  const failed = done.filter((r) => r.status === 'failed').length;
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${W} ${H + top + 18}`}
      width={W}
      height={H + top + 18}
      role="img"
      aria-labelledby={titleId}
      data-testid="duration-chart"
    >
      <title id={titleId}>
        {`Durations of the last ${done.length} finished runs: longest ${ms(max)}, shortest ${ms(Math.min(...values))}${failed ? `, ${failed} failed` : ''}.`}
      </title>
      <line className="axis" x1={44} y1={top + H} x2={W} y2={top + H} />
      <line className="grid" x1={44} y1={top} x2={W} y2={top} />
      <text className="tick" x={40} y={top + 4} textAnchor="end">
        {ms(max)}
      </text>
      <text className="tick" x={40} y={top + H} textAnchor="end">
        0
      </text>
      {done.map((r, i) => {
        const h = Math.max(2, ((r.durationMs ?? 0) / max) * H);
        return (
          <rect
            key={r.id}
            className={`bar-${r.status}`}
            x={48 + i * (bw + gap)}
            y={top + H - h}
            width={bw}
            height={h}
            rx={2}
          >
            <title>{`${when(r.startedAt ?? r.scheduledFor)}: ${r.status}, ${ms(r.durationMs)}`}</title>
          </rect>
        );
      })}
      <text className="tick" x={48} y={top + H + 14}>
        older
      </text>
      <text className="tick" x={W - 6} y={top + H + 14} textAnchor="end">
        newer
      </text>
    </svg>
  );
}

function RunHistory({ orgId, jobId, version }: { orgId: string; jobId: string; version: number }) {
  const runs = useLoad(
    () => api<{ runs: Run[] }>('GET', orgPath(orgId, `/jobs/${jobId}/runs?limit=50`)),
    [orgId, jobId, version],
  );
  return (
    <section aria-labelledby={`runs-${jobId}`}>
      <div className="page-head">
        <h3 id={`runs-${jobId}`}>Run history</h3>
        <button type="button" onClick={() => runs.reload()} disabled={runs.loading}>
          Refresh history
        </button>
      </div>
      <Loaded state={runs}>
        {({ runs: list }) =>
          list.length === 0 ? (
            <Empty>No runs yet. The first one happens at the next scheduled time, or use Run now.</Empty>
          ) : (
            <>
              <DurationChart runs={list} />
              <table data-testid="runs-table">
                <caption className="sr-only">Runs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Scheduled for</th>
                    <th scope="col">Trigger</th>
                    <th scope="col">Status</th>
                    <th scope="col">HTTP</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((r) => (
                    <tr key={r.id}>
                      <td>{when(r.scheduledFor)}</td>
                      <td>{r.trigger}</td>
                      <td>
                        <StatusBadge status={r.status} />
                      </td>
                      <td>{r.httpStatus ?? '—'}</td>
                      <td>{ms(r.durationMs)}</td>
                      <td>{r.attempts}</td>
                      <td>
                        {r.error ? <span className="error">{r.error}</span> : null}
                        {r.snippet ? (
                          <details>
                            <summary>Response start</summary>
                            <pre className="snippet">{r.snippet}</pre>
                          </details>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </Loaded>
    </section>
  );
}

function JobDetail(props: {
  orgId: string;
  jobId: string;
  role: Role;
  channels: Channel[];
  version: number;
  onEdit: (job: Job) => void;
  onDeleted: () => void;
  onClose: () => void;
}) {
  const { orgId, jobId, role } = props;
  const state = useLoad(
    () => api<Job>('GET', orgPath(orgId, `/jobs/${jobId}`)),
    [orgId, jobId, props.version],
  );
  const [runsVersion, setRunsVersion] = useState(0);
  const [note, setNote] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const write = can(role, 'jobs.write');

  const runNow = async () => {
    setNote(null);
    const r = await act(() =>
      api<{ id: string; status: 'queued' }>('POST', orgPath(orgId, `/jobs/${jobId}/run`)),
    );
    if (r) {
      setNote('Run queued: a runner picks it up within a few seconds. Refresh the history to see it.');
      setRunsVersion((v) => v + 1);
    }
  };
  const remove = async (job: Job) => {
    if (!window.confirm(`Delete the job "${job.name}" and its run history?`)) return;
    const r = await act(() => api('DELETE', orgPath(orgId, `/jobs/${jobId}`)).then(() => true));
    if (r) props.onDeleted();
  };

  return (
    <section className="panel" aria-labelledby={`job-${jobId}`} data-testid="job-detail">
      <Loaded state={state}>
        {(job) => {
          const cron = describeCron(job.schedule);
          const names = props.channels.filter((c) => job.alertChannelIds.includes(c.id)).map((c) => c.name);
          return (
            <>
              <div className="page-head">
                <h2 id={`job-${jobId}`}>{job.name}</h2>
                <div className="row">
                  {can(role, 'jobs.run') ? (
                    <button type="button" className="primary" onClick={runNow} disabled={busy}>
                      Run now
                    </button>
                  ) : null}
                  {write ? (
                    <button type="button" onClick={() => props.onEdit(job)} disabled={busy}>
                      Edit
                    </button>
                  ) : null}
                  {write ? (
                    <button type="button" className="danger" onClick={() => remove(job)} disabled={busy}>
                      Delete job
                    </button>
                  ) : null}
                  <button type="button" className="link" onClick={props.onClose}>
                    Close
                  </button>
                </div>
              </div>
              {note ? (
                <p role="status" className="ok">
                  {note}
                </p>
              ) : null}
              <ErrorNote error={error} />
              <dl className="facts">
                <dt>Schedule</dt>
                <dd>
                  <code>{job.schedule}</code> ({job.timezone}) — {cron.ok ? cron.text : 'see the next runs'}
                </dd>
                <dt>Request</dt>
                <dd>
                  <code>
                    {job.method} {job.url}
                  </code>
                </dd>
                <dt>Authentication</dt>
                <dd>
                  {job.auth ? (
                    <>
                      {job.auth.type} <code data-testid="auth-masked">{job.auth.value}</code>
                    </>
                  ) : (
                    'none'
                  )}
                </dd>
                <dt>Timeout, retries</dt>
                <dd>
                  {ms(job.timeoutMs)} per attempt, {job.retries} {job.retries === 1 ? 'retry' : 'retries'}
                </dd>
                <dt>Responses</dt>
                <dd>{job.storeResponse ? 'first 2 KB kept (redacted)' : 'not kept'}</dd>
                <dt>Alerts</dt>
                <dd>
                  {names.length
                    ? `${names.join(', ')} after ${job.alertAfter} failure${job.alertAfter === 1 ? '' : 's'} in a row`
                    : 'none'}
                </dd>
                <dt>Health</dt>
                <dd>
                  {!job.enabled ? (
                    <StatusBadge status="paused" />
                  ) : job.consecutiveFailures > 0 ? (
                    <StatusBadge status="failed">{`${job.consecutiveFailures} failure(s) in a row`}</StatusBadge>
                  ) : (
                    <StatusBadge status="succeeded">healthy</StatusBadge>
                  )}
                </dd>
              </dl>
              <h3>Headers</h3>
              {Object.keys(job.headers).length ? (
                <MaskedHeaders headers={job.headers} />
              ) : (
                <p className="muted">No headers.</p>
              )}
              <h3>Next runs</h3>
              {job.upcoming && job.upcoming.length > 0 ? (
                <ol className="upcoming" data-testid="upcoming">
                  {job.upcoming.map((t) => (
                    <li key={t}>
                      <time dateTime={t}>{inZone(t, job.timezone)}</time> ({job.timezone}), {fromNow(t)}
                    </li>
                  ))}
                </ol>
              ) : (
                <p className="muted">
                  {job.enabled ? 'This schedule does not fire again.' : 'Paused: no runs are scheduled.'}
                </p>
              )}
              <RunHistory orgId={orgId} jobId={jobId} version={runsVersion} />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------
// Alert channels

function channelTarget(c: Channel): string {
  if (c.type === 'webhook') return String(c.config.url ?? '');
  if (c.type === 'slack' || c.type === 'teams') return String(c.config.webhookUrl ?? '');
  return Array.isArray(c.config.to) ? c.config.to.join(', ') : '';
}

function AlertChannels(props: {
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
    if (!window.confirm(`Delete the alert channel "${c.name}"? Jobs stop alerting it.`)) return;
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
          <Select
            label="Channel type"
            value={type}
            onChange={setType}
            options={[
              ['webhook', 'Webhook'],
              ['slack', 'Slack'],
              ['teams', 'Microsoft Teams'],
              ['email', 'E-mail'],
            ]}
          />
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
            <Field
              label={type === 'slack' ? 'Slack webhook URL' : 'Teams webhook URL'}
              type="password"
              value={slackUrl}
              onChange={setSlackUrl}
              required
              autoComplete="off"
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
          <button type="submit" className="primary" disabled={busy}>
            Add channel
          </button>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <Loaded state={state}>
        {({ channels }) =>
          channels.length === 0 ? (
            <Empty>No alert channels.{write ? ' Add one so failing jobs reach someone.' : ''}</Empty>
          ) : (
            <table data-testid="channels-table">
              <caption className="sr-only">Alert channels</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Destination</th>
                  <th scope="col">Secret</th>
                  <th scope="col">Created</th>
                  {write ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {channels.map((c) => (
                  <tr key={c.id}>
                    <td>{c.name}</td>
                    <td>{c.type}</td>
                    <td>
                      <code className="meta">{channelTarget(c)}</code>
                    </td>
                    <td>{c.type === 'webhook' ? <code>{String(c.config.secret ?? '—')}</code> : '—'}</td>
                    <td>{when(c.createdAt)}</td>
                    {write ? (
                      <td>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => remove(c)}
                          aria-label={`Delete channel ${c.name}`}
                        >
                          Delete
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------
// The page

type Mode = { kind: 'view' } | { kind: 'create' } | { kind: 'edit'; job: Job };

export function Jobs({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(() => api<{ jobs: Job[] }>('GET', orgPath(orgId, '/jobs')), [orgId]);
  const readChannels = can(role, 'alerts.read');
  const channels = useLoad(
    () =>
      readChannels
        ? api<{ channels: Channel[] }>('GET', orgPath(orgId, '/alert-channels'))
        : Promise.resolve({ channels: [] as Channel[] }),
    [orgId, readChannels],
  );
  const [mode, setMode] = useState<Mode>({ kind: 'view' });
  const [selected, setSelected] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const write = can(role, 'jobs.write');
  const channelList = channels.data?.channels ?? [];

  const saved = async (job: Job) => {
    setMode({ kind: 'view' });
    setSelected(job.id);
    setVersion((v) => v + 1);
    await state.reload();
  };

  return (
    <Page
      title="Scheduled jobs"
      actions={
        write && mode.kind === 'view' ? (
          <button type="button" className="primary" onClick={() => setMode({ kind: 'create' })}>
            New job
          </button>
        ) : null
      }
    >
      <p className="muted">
        Rampart sends one HTTP request on a cron schedule, records what happened and alerts when it fails.
      </p>
      {mode.kind !== 'view' ? (
        <JobForm
          key={mode.kind === 'edit' ? mode.job.id : 'new'}
          orgId={orgId}
          job={mode.kind === 'edit' ? mode.job : null}
          channels={channelList}
          onSaved={saved}
          onCancel={() => setMode({ kind: 'view' })}
        />
      ) : null}
      <Loaded state={state}>
        {({ jobs }) =>
          jobs.length === 0 ? (
            <Empty>No jobs yet.{write ? ' Create one to call a URL on a schedule.' : ''}</Empty>
          ) : (
            <table data-testid="jobs-table">
              <caption className="sr-only">Jobs</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Request</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Health</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => {
                  const cron = describeCron(j.schedule);
                  return (
                    <tr key={j.id} aria-current={selected === j.id ? 'true' : undefined}>
                      <td>
                        <button
                          type="button"
                          className="link"
                          onClick={() => setSelected(j.id)}
                          aria-label={`Open job ${j.name}`}
                        >
                          {j.name}
                        </button>
                      </td>
                      <td>
                        <code>{j.schedule}</code>
                        <br />
                        <small className="muted">
                          {cron.ok ? cron.text : ''} ({j.timezone})
                        </small>
                      </td>
                      <td>
                        <code className="meta">
                          {j.method} {j.url}
                        </code>
                      </td>
                      <td>
                        {j.nextRunAt ? (
                          <>
                            <time dateTime={j.nextRunAt}>{inZone(j.nextRunAt, j.timezone)}</time>
                            <br />
                            <small className="muted">{fromNow(j.nextRunAt)}</small>
                          </>
                        ) : (
                          'paused'
                        )}
                      </td>
                      <td>
                        {!j.enabled ? (
                          <StatusBadge status="paused" />
                        ) : j.consecutiveFailures > 0 ? (
                          <StatusBadge status="failed">{`${j.consecutiveFailures} failing`}</StatusBadge>
                        ) : (
                          <StatusBadge status="succeeded">ok</StatusBadge>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {selected && mode.kind === 'view' ? (
        <JobDetail
          key={selected}
          orgId={orgId}
          jobId={selected}
          role={role}
          channels={channelList}
          version={version}
          onEdit={(job) => setMode({ kind: 'edit', job })}
          onDeleted={async () => {
            setSelected(null);
            await state.reload();
          }}
          onClose={() => setSelected(null)}
        />
      ) : null}
      {readChannels ? <AlertChannels orgId={orgId} role={role} state={channels} /> : null}
    </Page>
  );
}
