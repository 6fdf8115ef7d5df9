import { useId, useState } from 'react';
import { api, orgPath } from '../../api';
import { can, type Role } from '../../permissions';
import { DangerButton, ErrorNote, Loaded, LoadedList, Table, useAction, useLoad, when } from '../../ui';
import { type Channel, describeCron, fromNow, inZone, type Job, ms, type Run, StatusBadge } from './model';

/** One job: its request, next runs and run history (with a duration chart). */

export function MaskedHeaders({ headers }: { headers: Record<string, string> }) {
  return (
    <Table className="compact" caption="Headers (values masked)" columns={['Header', 'Value']}>
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
    </Table>
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
      <LoadedList
        state={runs}
        items={(d) => d.runs}
        empty="No runs yet. The first one happens at the next scheduled time, or use Run now."
      >
        {(list) => (
          <>
            <DurationChart runs={list} />
            <Table
              testId="runs-table"
              caption="Runs, newest first"
              columns={['Scheduled for', 'Trigger', 'Status', 'HTTP', 'Duration', 'Attempts', 'Details']}
            >
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
            </Table>
          </>
        )}
      </LoadedList>
    </section>
  );
}

export function JobDetail(props: {
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
  const remove = async () => {
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
                    <DangerButton
                      confirm={`Delete the job "${job.name}" and its run history?`}
                      onClick={remove}
                      disabled={busy}
                    >
                      Delete job
                    </DangerButton>
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
